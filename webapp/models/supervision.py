"""督办: a supervision notice from a government (or the installation's government-level office) to
one of its departments, about one case or about the department's work as a whole, with the date a
reply is expected by and the department's reply.

A notice about a case is also written into the case's history (non-statutory events
``supervision_notice`` / ``supervision_reply``, services in webapp/supervision/services.py); a
department-level notice lives only here. Both are in the audit log."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db

from ._types import utcnow


class SupervisionNotice(db.Model):
    __tablename__ = "supervision_notice"
    __table_args__ = (Index("ix_supervision_notice_agency_replied", "agency_id", "replied_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the government that sent it; None: the installation's government-level office
    government_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))          # the department addressed
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)   # None: department-level
    message: Mapped[str] = mapped_column(Text)
    sent_on: Mapped[date] = mapped_column(Date)
    reply_by: Mapped[date] = mapped_column(Date)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    sent_by_name: Mapped[str] = mapped_column(String(100), default="")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_on: Mapped[date | None] = mapped_column(Date)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    replied_by_name: Mapped[str] = mapped_column(String(100), default="")
    replied_at: Mapped[datetime | None]

    agency = relationship("Agency", foreign_keys=[agency_id])
    government = relationship("Agency", foreign_keys=[government_id])
    case = relationship("Case")

    @property
    def replied(self) -> bool:
        return self.replied_at is not None
