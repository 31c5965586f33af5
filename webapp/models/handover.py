"""签收: an application routed (分办/转办) by an office to another waits for the receiving office to
sign for it, or to send it back with a reason (退回). One row per routing; see
docs/applicant-side.md "Signing for routed applications".

``kind`` is ``submission`` (an online submission, not yet a case: the clock has not started) or
``case`` (a registered case whose clock runs: routing and signing change no receipt or due date).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.domain.kinds import HandoverKind
from webapp.domain.states import HandoverStatus
from webapp.extensions import db

from ._types import utcnow


class Handover(db.Model):
    __tablename__ = "handover"
    __table_args__ = (
        Index("ix_handover_to_status", "to_agency_id", "status"),
        Index("ix_handover_from_status", "from_agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[HandoverKind]
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    from_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    to_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[HandoverStatus] = mapped_column(default=HandoverStatus.PENDING)
    routed_at: Mapped[datetime] = mapped_column(default=utcnow)        # naive UTC
    routed_on: Mapped[date] = mapped_column(Date)                      # Asia/Shanghai date
    routed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    returned_at: Mapped[datetime | None]
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    return_reason: Mapped[str] = mapped_column(Text, default="")

    submission = relationship("Submission")
    case = relationship("Case")
    from_agency = relationship("Agency", foreign_keys=[from_agency_id])
    to_agency = relationship("Agency", foreign_keys=[to_agency_id])
    routed_by = relationship("User", foreign_keys=[routed_by_id])
    signed_by = relationship("User", foreign_keys=[signed_by_id])
    returned_by = relationship("User", foreign_keys=[returned_by_id])

    @property
    def status_zh(self) -> str:
        return HandoverStatus(self.status).label_zh

    @property
    def number(self) -> str:
        if self.case is not None:
            return self.case.number
        return self.submission.number if self.submission is not None else ""

    def __repr__(self) -> str:
        return f"<Handover {self.id} {self.kind} {self.status}>"
