"""Online submissions (网上申请): what an applicant sent, before it is a case.

A submission waits in an office's queue as ``submitted`` (or ``routed`` when a government's desk
passed it to one of its departments, 分办). The office confirms it -- the receipt date is the
confirmation date (rules.md §2: the day both sides confirm) and a Case is registered -- or rejects
it as not an application, with a reason the applicant sees. See docs/applicant-side.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.domain.kinds import FormWanted, NotifyVia, RouteWanted, SubmissionSource
from webapp.domain.states import SubmissionStatus
from webapp.extensions import db

from ._types import JsonType, utcnow

PENDING_STATUSES = (SubmissionStatus.SUBMITTED, SubmissionStatus.ROUTED)


class Submission(db.Model):
    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_agency_status", "agency_id", "status"),
        Index("ix_submission_identity_at", "identity_key", "submitted_at"),
        Index("ix_submission_dedupe_at", "dedupe_hash", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)   # WS-<agency code>-<yyyymmdd>-<6 digits>
    # the office that holds it now (changes when routed); origin: where the applicant sent it
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    origin_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    source: Mapped[SubmissionSource] = mapped_column(default=SubmissionSource.WEB)
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    query_code_hash: Mapped[str] = mapped_column(String(200))               # argon2id, salted
    applicant: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)   # clean_applicant() output
    items: Mapped[list[str]] = mapped_column(JsonType, default=list)
    form_wanted: Mapped[FormWanted] = mapped_column(default=FormWanted.NOT_STATED)
    route_wanted: Mapped[RouteWanted] = mapped_column(default=RouteWanted.NOT_STATED)
    notify_via: Mapped[NotifyVia] = mapped_column(default=NotifyVia.EMAIL, server_default=NotifyVia.EMAIL.value)
    # sha256 of the identity (ID / USCC, else name+phone) and of identity + item texts:
    # per-identity rate limit and duplicate recognition without searching JSON
    identity_key: Mapped[str] = mapped_column(String(64))
    dedupe_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[SubmissionStatus] = mapped_column(default=SubmissionStatus.SUBMITTED)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_on: Mapped[date] = mapped_column(Date)                         # Asia/Shanghai date
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    routed_to_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    route_note: Mapped[str] = mapped_column(Text, default="")
    # [{"on", "at", "from_agency_id", "from_code", "from_name", "to_agency_id", "to_code", "to_name",
    #   "note", "by_id", "by_name"}], copied to the case history as 'routed' events at confirmation
    routing_log: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # two clerks confirming the same submission at once: the second gets a conflict, not a 2nd case
    __mapper_args__ = {"version_id_col": version}

    agency = relationship("Agency", foreign_keys=[agency_id])
    origin_agency = relationship("Agency", foreign_keys=[origin_agency_id])
    routed_to = relationship("Agency", foreign_keys=[routed_to_id])
    reviewed_by = relationship("User")
    case = relationship("Case")
    files: Mapped[list[SubmissionFile]] = relationship(back_populates="submission",
                                                       order_by="SubmissionFile.id")

    @property
    def status_enum(self) -> SubmissionStatus:
        return SubmissionStatus(self.status)

    @property
    def pending(self) -> bool:
        return self.status in PENDING_STATUSES

    def __repr__(self) -> str:
        return f"<Submission {self.number} {self.status}>"


class SubmissionFile(db.Model):
    """An attachment sent with a submission (PDF/JPEG/PNG, checked by content), stored under
    UPLOAD_FOLDER by content hash; copied to an Attachment(kind='scan') row at confirmation."""

    __tablename__ = "submission_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(400))   # relative to UPLOAD_FOLDER
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission = relationship("Submission", back_populates="files")


class LookupFailure(db.Model):
    """A failed status look-up (unknown number or wrong query code, alike), for throttling:
    5 per number per hour, and per address (docs/applicant-side.md)."""

    __tablename__ = "lookup_failure"
    __table_args__ = (
        Index("ix_lookup_failure_number_at", "number", "at"),
        Index("ix_lookup_failure_addr_at", "remote_addr", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(80))
    remote_addr: Mapped[str] = mapped_column(String(80), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class UploadUsage(db.Model):
    """Bytes of attachments the public form stored for one address on one day (Shanghai), for the
    daily quota (public/services/uploads.py)."""

    __tablename__ = "upload_usage"
    __table_args__ = (UniqueConstraint("remote_addr", "day", name="uq_upload_usage_addr_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    remote_addr: Mapped[str] = mapped_column(String(80))
    day: Mapped[date] = mapped_column(Date)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
