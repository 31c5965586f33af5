"""The case file (归档): an agency's archive settings and each archived case's record.

``CaseArchive`` holds the archive number (归档号) given under the agency's pattern with a sequence
per agency and year that has no gaps (webapp/archive/services.py allocates it under the agency's
row lock), the retention period, and the dossier PDF stored as an attachment.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db

from ._types import utcnow

DEFAULT_ARCHIVE_PATTERN = "{agency_code}-{year}-{seq:04d}"
DEFAULT_RETENTION = "30"
#: retention code -> label (保管期限)
RETENTIONS = {"10": "10年", "30": "30年", "permanent": "永久"}


class ArchiveSetting(db.Model):
    """An agency administrator's archive number pattern and retention period (one row per agency;
    no row: the defaults above)."""

    __tablename__ = "archive_setting"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True, autoincrement=False)
    pattern: Mapped[str] = mapped_column(String(100), default=DEFAULT_ARCHIVE_PATTERN)
    retention: Mapped[str] = mapped_column(String(20), default=DEFAULT_RETENTION)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class CaseArchive(db.Model):
    __tablename__ = "case_archive"
    __table_args__ = (UniqueConstraint("agency_id", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int] = mapped_column(Integer)            # the year the case was closed (归档年度)
    seq: Mapped[int] = mapped_column(Integer)             # 1, 2, 3 ... per agency and year, no gaps
    archive_no: Mapped[str] = mapped_column(String(100), unique=True)
    retention: Mapped[str] = mapped_column(String(20))
    archived_on: Mapped[date] = mapped_column(Date)
    archived_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    dossier_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("Case")
    dossier = relationship("Attachment")

    @property
    def retention_zh(self) -> str:
        return RETENTIONS.get(self.retention, self.retention)
