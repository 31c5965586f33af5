"""Delivery (送达) of the letters sent to an applicant: how, when, with what proof, and whether the
post came back (退件).

One row per attempt. A returned or undelivered attempt is *flagged* until a later attempt for the
same letter is recorded (``resolved_by_id``); the flags are what the case page and the dashboard
count. The case history holds the same facts as ``delivered`` / ``delivery_returned`` events
(webapp/delivery/services.py writes both in one transaction).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.domain.kinds import DeliveryMethod, LetterKind
from webapp.domain.states import DeliveryStatus
from webapp.extensions import db

from ._types import utcnow


class Delivery(db.Model):
    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_agency_status", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))       # the case's (dashboard counts)
    letter_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))   # the letter sent
    # the letter delivered; "" (no member) for an imported delivery that names no letter
    letter_kind: Mapped[LetterKind] = mapped_column(default="")
    method: Mapped[DeliveryMethod]
    delivered_on: Mapped[date] = mapped_column(Date)
    tracking_no: Mapped[str] = mapped_column(String(40), default="")     # 邮件号 (post)
    # e-mail: the OutboxMail row that carried the letter (no foreign key: the outbox is transient)
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    proof_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))   # scan
    proof: Mapped[str] = mapped_column(String(200), default="")          # the proof in words (interchange)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[DeliveryStatus] = mapped_column(default=DeliveryStatus.DELIVERED)
    returned_on: Mapped[date | None] = mapped_column(Date)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("Case")
    letter_event = relationship("CaseEvent")
    proof_attachment = relationship("Attachment")

    @property
    def flagged(self) -> bool:
        return self.status != DeliveryStatus.DELIVERED and self.resolved_by_id is None
