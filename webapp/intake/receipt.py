"""The receipt date (收到申请之日, Art. 31; rules.md §2) the intake form proposes per channel.

The clock starts at the legal receipt date, which is not always the day the application arrived:
the form proposes it from the channel and shows the rule; the clerk confirms it.
"""

from __future__ import annotations

from datetime import date

from webapp.domain.workflow import Channel

CHANNEL_CHOICES = {c.value: c.label_zh for c in Channel}
POST_KIND_CHOICES = {"signed": "需签收（挂号信、快递等）", "ordinary": "平常信函（无需签收）"}

#: (channel, post kind or "") -> the rule, as the form shows it next to the receipt date
RECEIPT_RULES = {
    ("in_person", ""): "当面提交：以申请人提交政府信息公开申请之日为收到申请之日。",
    ("post", "signed"): "邮寄（需签收）：以本机关签收之日为收到申请之日。",
    ("post", "ordinary"): "平常信函：以本机关与申请人确认之日为收到申请之日（应于收到当日与申请人确认）。",
    ("online", ""): "互联网渠道：以双方确认之日为收到申请之日。",
    ("fax", ""): "传真：以双方确认之日为收到申请之日。",
    ("other", ""): "其他方式（如口头提出、由本机关代为填写）：以记录之日为收到申请之日。",
}


def receipt_rule(channel: str, post_kind: str = "") -> str:
    key = (channel, post_kind if channel == "post" else "")
    return RECEIPT_RULES.get(key) or RECEIPT_RULES.get((channel, "signed"), "")


def propose_receipt_date(channel: str, arrived_on: date | None, post_kind: str = "",
                         confirmed_on: date | None = None) -> date | None:
    """In person and signed post: the arrival (hand-in, signing) day. Ordinary post, online, fax and
    other channels: the day of confirmation (or taking down), which is the arrival day unless the
    clerk gives another."""
    if channel in ("in_person",) or (channel == "post" and post_kind != "ordinary"):
        return arrived_on
    return confirmed_on or arrived_on


#: channels whose receipt date is the arrival itself (Art. 31 (1) and (2), first sentence)
_ON_ARRIVAL = {("in_person", ""): "当面提交的申请，以提交之日为收到申请之日（第三十一条第（一）项）",
               ("post", "signed"): "需签收的邮件，以本机关签收之日为收到申请之日（第三十一条第（二）项）"}


def receipt_error(channel: str, post_kind: str, arrived_on: date | None, received_on: date | None) -> str | None:
    """The intake's check of the receipt date against the channel (Chinese message naming the
    article), or None. Handing in and signing for an application are its receipt: the two dates are
    one day. For ordinary post, online, fax and other channels the receipt is the day of confirmation
    (or of taking it down), on or after the arrival (the service layer refuses one before it)."""
    rule = _ON_ARRIVAL.get((channel, post_kind if channel == "post" else ""))
    if rule and arrived_on is not None and received_on is not None and received_on != arrived_on:
        return f"{rule}：收到申请之日应与送达之日（{arrived_on.isoformat()}）相同。"
    return None
