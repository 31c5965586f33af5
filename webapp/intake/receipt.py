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
