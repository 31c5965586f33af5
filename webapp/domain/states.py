"""The states of the records around a case, as enums: a review draft's, a handover's (签收),
a delivery's (送达), an outbox mail's, an online submission's. The values are what the database
holds (plain VARCHAR columns, see models/_types.ENUM_COLUMNS) and what exports show."""

from __future__ import annotations

from enum import StrEnum


class DraftStatus(StrEnum):
    """A review draft (拟办稿, models/review.ReviewDraft) on its way through its chain."""

    PENDING = "pending"        # with the reviewer of its current step, or the signer
    RETURNED = "returned"      # sent back to the drafter, who may redraft or withdraw it
    SIGNED = "signed"          # signed off: the act is recorded
    WITHDRAWN = "withdrawn"    # withdrawn by the drafter


#: drafts still open: one per case at most
DRAFT_OPEN = (DraftStatus.PENDING, DraftStatus.RETURNED)


class HandoverStatus(StrEnum):
    """A routing to another office (models/handover.Handover) waiting for it to sign."""

    PENDING = "pending"        # 待签收
    SIGNED = "signed"          # 已签收
    RETURNED = "returned"      # 已退回, with a reason

    @property
    def label_zh(self) -> str:
        return {"pending": "待签收", "signed": "已签收", "returned": "已退回"}[self]


class DeliveryStatus(StrEnum):
    """A letter's delivery (models/delivery.Delivery)."""

    DELIVERED = "delivered"      # 已送达
    RETURNED = "returned"        # 退件: the post came back
    UNDELIVERED = "undelivered"  # 未送达, for another reason


#: deliveries flagged on the case and the dashboard until the letter is delivered again
DELIVERY_FLAGGED = (DeliveryStatus.RETURNED, DeliveryStatus.UNDELIVERED)


class MailStatus(StrEnum):
    """An outbox row (models/notify.OutboxMail: a mail or an SMS) on its way out (webapp/notify/outbox/)."""

    PENDING = "pending"    # 待发送
    SENDING = "sending"    # leased by a delivery run
    SENT = "sent"          # 已发送
    FAILED = "failed"      # 发送失败，将重试


class SubmissionStatus(StrEnum):
    """An online submission (models/submission.Submission) before it is a case."""

    SUBMITTED = "submitted"   # waiting in the office's queue; the clock has not started
    ROUTED = "routed"         # passed by a government's desk to a department, waiting there
    CONFIRMED = "confirmed"   # the office confirmed it: a case exists (case_id)
    REJECTED = "rejected"     # not an application (spam, empty); reject_reason is shown to the applicant

    @property
    def label_zh(self) -> str:
        return {"submitted": "待确认", "routed": "已分办，待确认", "confirmed": "已确认受理",
                "rejected": "不予受理（非有效申请）"}[self]
