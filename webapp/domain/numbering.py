"""The case tracking number (rules.md: ``<agency code>-<year>-<serial>``, the serial counted per agency
and year from 1, at least four digits). A serial past 9999 simply grows (``-10000``): the largest
serial is the largest number, never the largest text (``-9999`` sorts after ``-10000`` as text)."""

from __future__ import annotations

from collections.abc import Iterable


def number_prefix(agency_code: str, year: int) -> str:
    return f"{agency_code}-{year}-"


def case_number(prefix: str, serial: int) -> str:
    return f"{prefix}{serial:04d}"


def serial_of(number: str, prefix: str) -> int | None:
    """The serial of a number under ``prefix``, or None for a number of another form (an imported one)."""
    if not number.startswith(prefix):
        return None
    tail = number[len(prefix):]
    return int(tail) if tail.isascii() and tail.isdigit() else None


def last_serial(numbers: Iterable[str], prefix: str) -> int:
    """The largest serial among ``numbers`` (0 when there is none)."""
    return max((s for s in (serial_of(n, prefix) for n in numbers) if s is not None), default=0)
