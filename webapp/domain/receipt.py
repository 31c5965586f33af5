"""The receipt date (收到申请之日, Art. 31; rules.md §2): which day counts as received, per channel.

The clock starts at the legal receipt date, which is not always the day the application arrived.
In person and signed post: the hand-in or signing day is the receipt, the two dates are one day.
Ordinary post, online, fax and other channels: the day of confirmation (or of taking it down), on
or after the arrival, never before. ``receipt_refusal`` is the one check; ``register_case`` applies
it on every path (desk form, online queue, import, demo), the desk form shows it beside its fields.
"""

from __future__ import annotations

from datetime import date

from .workflow.events import Channel, Refusal

POST_KIND_CHOICES = {"signed": "需签收（挂号信、快递等）", "ordinary": "平常信函（无需签收）"}

#: (channel, post kind or "") -> the rule, as the intake form shows it next to the receipt date
RECEIPT_RULES = {
    ("in_person", ""): "当面提交：以申请人提交政府信息公开申请之日为收到申请之日。",
    ("post", "signed"): "邮寄（需签收）：以本机关签收之日为收到申请之日。",
    ("post", "ordinary"): "平常信函：以本机关与申请人确认之日为收到申请之日（应于收到当日与申请人确认）。",
    ("online", ""): "互联网渠道：以双方确认之日为收到申请之日。",
    ("fax", ""): "传真：以双方确认之日为收到申请之日。",
    ("other", ""): "其他方式（如口头提出、由本机关代为填写）：以记录之日为收到申请之日。",
}

#: channels whose receipt date is the arrival itself (Art. 31 (1) and (2), first sentence)
ON_ARRIVAL = {("in_person", ""): "当面提交的申请，以提交之日为收到申请之日（第三十一条第（一）项）",
              ("post", "signed"): "需签收的邮件，以本机关签收之日为收到申请之日（第三十一条第（二）项）"}


def _key(channel: str, post_kind: str) -> tuple[str, str]:
    """Post without a kind is signed post (the common case, and the form's default)."""
    return (channel, (post_kind or "signed") if channel == "post" else "")


def receipt_rule(channel: str, post_kind: str = "") -> str:
    return RECEIPT_RULES.get(_key(channel, post_kind), "")


def propose_receipt_date(channel: str, arrived_on: date | None, post_kind: str = "",
                         confirmed_on: date | None = None) -> date | None:
    """In person and signed post: the arrival (hand-in, signing) day. Ordinary post, online, fax and
    other channels: the day of confirmation (or taking down), which is the arrival day unless the
    clerk gives another."""
    if _key(channel, post_kind) in ON_ARRIVAL:
        return arrived_on
    return confirmed_on or arrived_on


def receipt_refusal(channel: str, arrived_on: date | None, received_on: date | None,
                    post_kind: str = "") -> Refusal | None:
    """The receipt date checked against the channel and the arrival, or None when it fits.

    ``received.channel``: an unknown channel; ``received.not_arrival``: in person or signed post,
    a receipt on another day than the arrival; ``received.before_arrival``: the other channels, a
    receipt before the arrival. No arrival given means the arrival is the receipt."""
    try:
        Channel(channel)
    except ValueError:
        return Refusal("received.channel", f"unknown channel {channel!r}", "收件渠道无效", "Art. 31")
    if arrived_on is None or received_on is None:
        return None
    rule = ON_ARRIVAL.get(_key(channel, post_kind))
    if rule and received_on != arrived_on:
        return Refusal("received.not_arrival",
                       f"{channel}: the receipt date is the arrival ({arrived_on.isoformat()})",
                       f"{rule}：收到申请之日应与送达之日（{arrived_on.isoformat()}）相同。", "Art. 31")
    if arrived_on > received_on:
        return Refusal("received.before_arrival", "the receipt date cannot be before the physical arrival",
                       "收到申请之日不能早于申请送达之日", "Art. 31")
    return None
