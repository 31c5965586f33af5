"""Staff login (登录), the session rules, and the helpers every staff page's template uses.

``register_template_helpers(app)`` is called once by the auth blueprint when it is registered: it
exposes ``can``, ``current_user``, the unread-notification count and a few Chinese
display filters to Jinja, so that base.html and the blueprints of other areas can use them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Flask
from flask_login import current_user

from webapp.timeutil import SHANGHAI


def unread_notification_count() -> int:
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import Notification

    if not getattr(current_user, "is_authenticated", False):
        return 0
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.recipient_id == current_user.id, Notification.read_at.is_(None))) or 0


def date_zh(value: date | datetime | None) -> str:
    """2024-06-10 -> 2024年6月10日 (letters and headings)."""
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC timestamp (naive UTC, see models/_types.utcnow) as Shanghai wall-clock time."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).strftime(fmt)


def status_zh(code: str | None) -> str:
    from webapp.domain.clock import Status

    if not code:
        return "—"
    try:
        return Status(code).label_zh
    except ValueError:
        return code


def role_zh(code: str | None) -> str:
    from webapp.models import Role

    try:
        return Role(code).label_zh
    except ValueError:
        return code or ""


def register_template_helpers(app: Flask) -> None:
    from webapp.security import can

    @app.context_processor
    def staff_helpers() -> dict[str, Any]:
        return {"can": can, "current_user": current_user,
                "unread_notification_count": unread_notification_count}

    app.add_template_filter(date_zh, "date_zh")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(status_zh, "status_zh")
    app.add_template_filter(role_zh, "role_zh")
