"""Information-processing fees (信息处理费; 国办函〔2020〕109号, rules.md §6)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class FeeMethod(StrEnum):
    PER_ITEM = "per_item"   # 按件
    PER_PAGE = "per_page"   # 按量


def per_item_rate(k: int) -> int:
    """The price in yuan of the k-th item an applicant asks for in one calendar month."""
    if k <= 10:
        return 0
    if k <= 30:
        return 100
    return 100 * ((k - 31) // 10 + 2)   # 31-40: 200, 41-50: 300, ...


def per_page_rate(p: int) -> int:
    if p <= 30:
        return 0
    if p <= 100:
        return 10
    if p <= 200:
        return 20
    return 40


def fee_per_item(items: int, items_earlier_this_month: int = 0) -> Decimal:
    """Fee for ``items`` items when the applicant already asked for ``items_earlier_this_month``
    items in the same calendar month (same ID number or USCC)."""
    if items < 0 or items_earlier_this_month < 0:
        raise ValueError("counts must not be negative")
    first = items_earlier_this_month + 1
    return Decimal(sum(per_item_rate(k) for k in range(first, first + items)))


def fee_per_page(pages: int) -> Decimal:
    if pages < 0:
        raise ValueError("pages must not be negative")
    return Decimal(sum(per_page_rate(p) for p in range(1, pages + 1)))


def compute_fee(method: FeeMethod | str, quantity: int, earlier_items_this_month: int = 0) -> Decimal:
    method = FeeMethod(method)
    if method is FeeMethod.PER_ITEM:
        return fee_per_item(quantity, earlier_items_this_month)
    return fee_per_page(quantity)


def fee_basis_zh(method: FeeMethod | str, quantity: int, earlier_items_this_month: int = 0) -> str:
    """The basis and rate as the fee notice (收费通知书) states them."""
    method = FeeMethod(method)
    amount = compute_fee(method, quantity, earlier_items_this_month)
    if method is FeeMethod.PER_ITEM:
        return (f"按件计收：本月此前已申请{earlier_items_this_month}件，本次{quantity}件；"
                f"每月1—10件免费，11—30件每件100元，31件起每10件为一档、每档每件增加100元；"
                f"应缴{amount}元。")
    return (f"按量计收：共{quantity}页；30页以下免费，31—100页每页10元，101—200页每页20元，"
            f"201页以上每页40元；应缴{amount}元。")
