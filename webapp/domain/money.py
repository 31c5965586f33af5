"""Sums of money (rules.md §6, report.md table 二): kept exactly as entered, to the fen.

A figure in 元 has at most 2 decimals, one in 万元 at most 6 (both: to the fen, 分). A figure with
more decimals is refused with a message, never rounded: published reports carry the figure the
office entered, digit for digit.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

YUAN_PLACES = 2                 # 元: to the fen
TEN_THOUSAND_YUAN_PLACES = 6    # 万元: to the fen
UNITS_ZH = {YUAN_PLACES: "元", TEN_THOUSAND_YUAN_PLACES: "万元"}
#: a fee in 元 is stored with 12 digits, 2 of them decimals (case.fee_amount): less than 10^10 元
YUAN_MAX = Decimal("10000000000")


class MoneyError(ValueError):
    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


def decimal_places(value: Decimal) -> int:
    """How many decimals the figure needs: 0.012345 -> 6, 1.50 -> 1, 100 -> 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_amount(raw: Any, places: int, what_zh: str, *, maximum: Decimal | None = None) -> Decimal:
    """A non-negative amount with at most ``places`` decimals, exactly as given (a number or its
    text; ``""``/None are not amounts), or MoneyError naming ``what_zh`` and the unit."""
    unit = UNITS_ZH.get(places, "")
    bad = MoneyError(f"{what_zh}: not a non-negative amount: {raw!r}",
                     f"{what_zh}须为非负数（单位：{unit}）")
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
        raise bad
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise bad from None
    if not value.is_finite() or value < 0:
        raise bad
    if maximum is None and places == YUAN_PLACES:
        maximum = YUAN_MAX
    if maximum is not None and value >= maximum:
        raise MoneyError(f"{what_zh}: {raw!r} is too large (under {maximum} {unit})",
                         f"{what_zh}过大：须小于{maximum:,f}{unit}，请核对后重新填写")
    if decimal_places(value) > places:
        raise MoneyError(f"{what_zh}: {raw!r} has more than {places} decimals",
                         f"{what_zh}最多{places}位小数（单位：{unit}，精确到分）；"
                         f"“{str(raw).strip()}”不作四舍五入，请核对后重新填写")
    return value + 0 if value == 0 else value      # "-0" -> "0"
