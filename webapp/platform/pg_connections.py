"""PostgreSQL (psycopg 3) connections: the same guarantees as SQLAlchemy's defaults, for less CPU.

- **The checkout test.** A pooled connection is tested each time the pool hands it out, so that a
  connection the server dropped (PostgreSQL restarted, the backend terminated) never fails a request:
  the pool replaces it, and every other connection pooled before, with new ones (SQLAlchemy's
  ``pool_pre_ping``, the same retry). SQLAlchemy's ping for psycopg switches the connection to
  autocommit, runs ``SELECT 1`` through a cursor and switches back (~60 Python calls, and the
  server runs a statement in its own transaction). Here the test is an empty query sent through libpq
  (``PQexec("")``: one round trip, as before, answered with EmptyQueryResponse without parsing or
  planning anything, and no transaction begun): a live connection answers EMPTY_QUERY, a dead one an
  error (or libpq reports the broken socket). Only when ``pool_pre_ping`` is configured (config.py).
- **The cursor's description made when read.** psycopg builds ``cursor.description`` (a Column per
  column, ~5 Python calls each) every time it is read; SQLAlchemy reads it after every statement but,
  for a statement it has run before (its cached result metadata), only asks whether it is None. The
  cursor here gives the same columns, made when someone looks at them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_EMPTY_QUERY = pq.ExecStatus.EMPTY_QUERY
_ROWS = frozenset({pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK})


def is_psycopg(url: str) -> bool:
    return url.startswith("postgresql+psycopg://")


def engine_options(options: dict) -> tuple[dict, bool]:
    """The engine options for a psycopg URL: the cursor below (unless connect_args name one), and
    ``pool_pre_ping`` taken out (the checkout test replaces it). Returns them and whether to install
    the checkout test."""
    options = dict(options or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("cursor_factory", Cursor)
    options["connect_args"] = connect_args
    ping = bool(options.pop("pool_pre_ping", False))
    return options, ping


def install_checkout_test(engine: Engine) -> None:
    event.listen(engine, "checkout", _test_on_checkout)


def _test_on_checkout(dbapi_connection, connection_record, connection_proxy) -> None:
    """Pool checkout: an empty query; a connection that does not answer it is replaced, with every
    connection pooled before it (``InvalidatePoolError``: SQLAlchemy's pre-ping does the same on a
    disconnect, then checks out a new connection and tests it too)."""
    pgconn = dbapi_connection.pgconn
    try:
        status = pgconn.exec_(b"").status
    except psycopg.Error:           # libpq could not send the query or read an answer
        status = None
    if status != _EMPTY_QUERY:
        raise exc.InvalidatePoolError("the connection did not answer the checkout test")


class _Description(Sequence):
    """A result's ``cursor.description``: its Column objects made on first use."""

    __slots__ = ("_columns", "_cursor", "_n", "_result")

    def __init__(self, cursor: Cursor, result: Any, n: int) -> None:
        self._cursor = cursor
        self._result = result
        self._n = n
        self._columns: list[psycopg.Column] | None = None

    def _made(self) -> list[psycopg.Column]:
        columns = self._columns
        if columns is None:
            cursor = self._cursor
            source = cursor if cursor.pgresult is self._result else _ResultOf(cursor, self._result)
            columns = self._columns = [psycopg.Column(source, i) for i in range(self._n)]
            self._cursor = self._result = None
        return columns

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):
        return self._made()[index]

    def __iter__(self) -> Iterator[psycopg.Column]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        return self._made() == (other._made() if isinstance(other, _Description) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._made())


class _ResultOf:
    """What psycopg's Column reads from a cursor, for a result the cursor has moved past."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: Cursor, result: Any) -> None:
        self.pgresult = result
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class Cursor(psycopg.Cursor):
    """psycopg's cursor, its ``description`` made when read (the same Columns; None when the result
    has no rows to describe, as psycopg's)."""

    __slots__ = ()

    @property
    def description(self):  # type: ignore[override]
        res = self.pgresult
        if res:
            n = res.nfields
            if n or res.status in _ROWS:
                return _Description(self, res, n)
        return None
