"""Statements built once per process. A statement every request sends (the session user, the
header's counts) has the same shape each time and differs only in its values, which it takes as
bound parameters (``bindparam``). Building a select (its columns and clauses, the ORM's
annotations) and computing its cache key cost more Python than executing it does: a statement
object is immutable, keeps its cache key once computed, and any thread may execute it.

The key names the shape (everything the builder branches on); never put a value that varies per
user or per request into the statement itself, only into the parameters of its execution.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

_built: dict[Hashable, object] = {}


def prebuilt(key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, once per process and ``key`` (two threads may both build it the first time: the
    same statement, one of them kept)."""
    stmt = _built.get(key)
    if stmt is None:
        stmt = _built.setdefault(key, build())
    return stmt  # type: ignore[return-value]
