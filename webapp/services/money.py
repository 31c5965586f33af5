from __future__ import annotations

from decimal import Decimal


def decimal_str(value: Decimal | int | float | str | None) -> str:
    """Money as report JSON wants it: a decimal string without trailing zeros ("1700", "0.17")."""
    if value is None:
        return "0"
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")
