"""Database objects that the tables' own DDL does not make (functions, triggers), created by
create_all() right after the tables from a generator of statements per dialect
(reporting/services/stamps.py, cases/status_counts.py: their migrations run copies of the same
generators, and tests check the copies are equal)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import DDL, event

from webapp.extensions import db

DIALECTS = ("postgresql", "sqlite")

_installed: set[str] = set()


def create_after_tables(name: str, statements: Callable[[str], Iterable[str]]) -> None:
    """create_all() runs ``statements(dialect)`` after the tables, on that dialect only (idempotent:
    once per process and ``name``)."""
    if name in _installed:
        return
    for dialect in DIALECTS:
        for stmt in statements(dialect):
            event.listen(db.metadata, "after_create", DDL(stmt).execute_if(dialect=dialect))
    _installed.add(name)
