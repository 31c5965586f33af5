"""Staff login (登录), the session rules, and the helpers every staff page's template uses.

``register_template_helpers(app)`` is called once by the auth blueprint when it is registered: it
exposes ``can``, ``current_user``, ``url_for_if``, the unread-notification count and a few Chinese
display filters to Jinja, so that base.html and the blueprints of other areas can use them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from flask import Flask, current_app, url_for
from flask_login import current_user

from webapp.timeutil import SHANGHAI


def url_for_if(endpoint: str, **values: Any) -> str | None:
    """The URL of ``endpoint``, or None while no blueprint has registered it yet (the nav links to
    areas that other people build: admin.index, reports.index, public.apply, notifications.index)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


class HeaderCounts(NamedTuple):
    unread: int      # the bell: the user's unread notifications
    to_sign: int     # 待签收: routed to the user's agency, not yet signed for (0 without handover.view)
    drafts: int      # the agency's drafts waiting for any review step (待我审批 reads them only if some)


def header_counts() -> HeaderCounts:
    """The page header's counters in one statement, read once per page view (base.html's bell,
    the 待签收 link, the dashboard's 待签收 panel, whether 待我审批 needs to read any draft)."""
    from sqlalchemy import func, literal, select

    from webapp.extensions import db
    from webapp.models import Notification, ReviewDraft
    from webapp.request_memo import per_request
    from webapp.security import can
    from webapp.services.handovers import count_to_sign_clause

    if not getattr(current_user, "is_authenticated", False):
        return HeaderCounts(0, 0, 0)
    user_id, agency_id = current_user.id, current_user.agency_id

    def read() -> HeaderCounts:
        unread = (select(func.count(Notification.id))
                  .where(Notification.recipient_id == user_id, Notification.read_at.is_(None)).scalar_subquery())
        to_sign = count_to_sign_clause([agency_id]) if agency_id is not None and can("handover.view") \
            else literal(0)
        drafts = (select(func.count(ReviewDraft.id))
                  .where(ReviewDraft.status == "pending", ReviewDraft.agency_id == agency_id).scalar_subquery()) \
            if agency_id is not None else literal(0)
        row = db.session.execute(select(unread, to_sign, drafts)).one()
        return HeaderCounts(row[0] or 0, row[1] or 0, row[2] or 0)

    return per_request(("header_counts", user_id), read)


def unread_notification_count() -> int:
    return header_counts().unread


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
        return {"can": can, "current_user": current_user, "url_for_if": url_for_if,
                "unread_notification_count": unread_notification_count}

    app.add_template_filter(date_zh, "date_zh")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(status_zh, "status_zh")
    app.add_template_filter(role_zh, "role_zh")
