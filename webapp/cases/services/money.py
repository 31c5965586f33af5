"""Money in and out: amounts checked by the domain rule (webapp/domain/money.py: exact to the fen,
never rounded) and written as report JSON wants them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from webapp.domain.money import TEN_THOUSAND_YUAN_PLACES, MoneyError, parse_amount
from webapp.errors import ServiceError

FEES_10K_YUAN_ZH = "行政事业性收费金额"
#: proactive_year.fees_10k_yuan is Numeric(15, 6): nine digits before the point (15 significant
#: digits also survive SQLite's floating-point storage exactly)
FEES_10K_YUAN_MAX = Decimal("1e9")


def check_fees_10k_yuan(raw: Any, rule: str = "proactive.fees") -> Decimal:
    """Table 二's fee total in 万元, exactly as entered (at most 6 decimals), or ServiceError.
    Empty means 0."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raw = "0"
    try:
        return parse_amount(raw, TEN_THOUSAND_YUAN_PLACES, FEES_10K_YUAN_ZH, maximum=FEES_10K_YUAN_MAX)
    except MoneyError as e:
        raise ServiceError(e.message, e.message_zh, rule=rule) from None


def decimal_str(value: Decimal | int | float | str | None) -> str:
    """Money as report JSON wants it: a decimal string without trailing zeros ("1700", "0.17",
    "0.012345"), every figure kept."""
    if value is None:
        return "0"
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")
