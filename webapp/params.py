"""Whole numbers from a request's query string, within what the database can hold.

A page number or id far beyond any row (``?page=99999999999999999999``) is the client's mistake,
not a server error: pages are clamped, ids out of range read as "none"."""

from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter

MAX_PAGE = 100_000
MAX_ID = 2_147_483_647          # a 32-bit key; larger numbers overflow SQLite and PostgreSQL integers


def page_arg(name: str = "page") -> int:
    """A page number from 1 to MAX_PAGE (1 when absent or not a number)."""
    n = request.args.get(name, 1, type=int) or 1
    return min(max(n, 1), MAX_PAGE)


def id_arg(name: str, source=None) -> int | None:
    """A positive id, or None (absent, not a number, or beyond any row)."""
    n = (source if source is not None else request.args).get(name, type=int)
    return n if n is not None and 0 < n <= MAX_ID else None


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route (create_app installs it as the ``int`` converter): a whole number
    from 0 to MAX_ID unless the rule says otherwise. A larger id matches no route, so it is a 404 (JSON
    under /api/v1/) instead of an integer overflow in the database."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
