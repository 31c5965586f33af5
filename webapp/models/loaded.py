"""An ORM instance made from a row's values without the ORM's loading machinery (issue 15: the
session user's agency, a registration's rows written as Core INSERTs): the values set as if loaded
from the row, the instance detached with its identity key and no history; the caller adds it to the
session (persistent, as if just read). Columns left out stay unloaded (read on first access)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy.orm import make_transient_to_detached

T = TypeVar("T")


def as_loaded(cls: type[T], values: Iterable[tuple[str, Any]] | dict[str, Any]) -> T:
    obj = cls.__mapper__.class_manager.new_instance()   # type: ignore[attr-defined]
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    return obj
