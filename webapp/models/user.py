from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.domain.kinds import NotifyVia, Role
from webapp.extensions import db

from ._types import utcnow


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a government-level account that sees every agency (rules: admin of the government)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(default=Role.CLERK)
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # set by an administrator's reset (admin/services/users.py): the next request goes to the password change
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Sessions carry it (get_id): logging out, a new password or an administrator's reset raises it,
    # so every session signed before stops working - a signed cookie copied earlier included.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How reminders reach this user (their profile); SMS to ``mobile``.
    notify_via: Mapped[NotifyVia] = mapped_column(default=NotifyVia.EMAIL, server_default=NotifyVia.EMAIL.value)
    mobile: Mapped[str] = mapped_column(String(20), default="", server_default="")

    agency = relationship("Agency")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def get_id(self) -> str:  # Flask-Login: what the session holds
        return f"{self.id}.{self.session_epoch or 0}" if self.session_epoch else str(self.id)

    def end_sessions(self) -> None:
        """Every session of this user signed so far stops working."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def set_password(self, password: str) -> None:
        from webapp.trust.passwords import hash_password

        self.password_hash = hash_password(password)
        self.password_changed_at = utcnow()
        self.must_change_password = False
        if self.id is not None:
            self.end_sessions()

    def check_password(self, password: str) -> bool:
        from webapp.trust.passwords import verify_password

        return verify_password(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
