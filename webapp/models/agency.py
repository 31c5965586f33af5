from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.domain.kinds import AgencyKind
from webapp.extensions import db

from ._types import JsonType, utcnow


class Agency(db.Model):
    """A disclosing agency: a department, or a government whose departments it oversees."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(default=AgencyKind.DEPARTMENT)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    policies: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # Quiet hours for reminders and SMS (webapp/sms/quiet.py: QuietHours.from_mapping); {}: none.
    quiet_hours: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Agency | None] = relationship(remote_side=[id], back_populates="departments")
    departments: Mapped[list[Agency]] = relationship(back_populates="parent")

    def policy(self):
        return self.policy_of(self.policies)

    @staticmethod
    def policy_of(stored: dict[str, Any] | None):
        """The Policies of a stored ``policies`` value (``policy()`` of a row read as columns)."""
        from webapp.domain.policies import Policies

        return Policies.from_mapping(stored or {})

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


class CalendarYear(db.Model):
    """A year's State Council holiday notice entered by an administrator (rules.md §1).

    Years the library knows need no row; a row overrides or extends the library.
    """

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(300), default="")
    issued_on: Mapped[date | None] = mapped_column(Date)
    days_off: Mapped[list] = mapped_column(JsonType, default=list)      # [["2027-01-01", "元旦"], ...]
    makeup_days: Mapped[list] = mapped_column(JsonType, default=list)   # ["2027-02-20", ...]
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(db.Model):
    """A per-agency token for a government portal's own application form (JSON API)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
