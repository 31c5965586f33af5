"""The receipt date (收到申请之日, Art. 31; rules.md §2) as the intake form shows it: the rule per
channel, the proposed date, and the check beside the field. The rule itself is
``webapp/domain/receipt.py``; ``register_case`` enforces it on every path."""

from __future__ import annotations

from datetime import date

from webapp.domain.receipt import POST_KIND_CHOICES, RECEIPT_RULES, propose_receipt_date, receipt_refusal, receipt_rule
from webapp.domain.workflow import Channel

CHANNEL_CHOICES = {c.value: c.label_zh for c in Channel}

__all__ = ["CHANNEL_CHOICES", "POST_KIND_CHOICES", "RECEIPT_RULES", "propose_receipt_date", "receipt_error",
           "receipt_rule"]


def receipt_error(channel: str, post_kind: str, arrived_on: date | None, received_on: date | None) -> str | None:
    """The form's check of the receipt date against the channel, shown with the other field errors
    (in person and signed post: the receipt is the arrival). A receipt before the arrival is
    refused by ``register_case`` (rule ``received.before_arrival``) and shown there."""
    r = receipt_refusal(channel, arrived_on, received_on, post_kind)
    return r.message_zh if r is not None and r.rule == "received.not_arrival" else None
