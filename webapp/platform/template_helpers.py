"""What every template may use: ``can``, ``current_user``, the counts of the header
and dashboard (unread notifications, the online queue), the audit log's and outbox's words in
Chinese, and the Chinese display filters (date_zh, local_time, status_zh, role_zh)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Flask
from flask_login import current_user

from webapp.cases.services import overdue_row
from webapp.domain.calendar import NoticeSource
from webapp.domain.clock import Status
from webapp.domain.kinds import (
    AgencyKind,
    AttachmentKind,
    DeliveryMethod,
    HandoverKind,
    MailChannel,
    NotifyVia,
    ReviewKind,
    Role,
    SubmissionSource,
)
from webapp.domain.labels import outcome_text
from webapp.domain.states import DeliveryStatus, DraftStatus, MailStatus
from webapp.public.services import queue_summary
from webapp.security import actable_agency_ids, can
from webapp.timeutil import SHANGHAI

from .header import unread_notification_count


def submission_queue_summary():
    """For the dashboard partial: pending count and oldest age of the user's own queue."""
    if not getattr(current_user, "is_authenticated", False) or not can("queue.view"):
        return None
    return queue_summary(actable_agency_ids())


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


# the wordings by stored value (a dictionary look-up: the case list's assignee select calls role_zh
# for each of an agency's clerks)
_STATUS_ZH = {s.value: s.label_zh for s in Status}
ROLE_ZH = {r.value: r.label_zh for r in Role}


def status_zh(code: str | None) -> str:
    if not code:
        return "—"
    return _STATUS_ZH.get(code, code)


def role_zh(code: str | None) -> str:
    return ROLE_ZH.get(code, code or "")


def _staff_helpers() -> dict[str, Any]:
    # ``current_user`` is Flask-Login's own context value: the loaded user object, read once per
    # render (the proxy would look the user up again on each of a page's ~50 uses)
    return {"can": can,
            "unread_notification_count": unread_notification_count,
            "submission_queue_summary": submission_queue_summary}


def _words_zh() -> dict:
    """The audit log and the outbox in Chinese (trust/audit_labels.py, notify/mail_status.py)."""
    from webapp.notify import mail_status
    from webapp.trust import audit_labels

    return {"audit_zh": audit_labels, "mail_error_zh": mail_status.explain_error,
            "mail_state_zh": mail_status.STATE_ZH}


def install(app: Flask) -> None:
    app.context_processor(_staff_helpers)
    app.context_processor(_words_zh)
    app.add_template_filter(date_zh, "date_zh")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(status_zh, "status_zh")
    app.add_template_filter(role_zh, "role_zh")
    app.add_template_global(outcome_text, "outcome_text")   # the one wording (domain/labels.py)
    # states compared by name in templates (case.status == CaseStatus.CLOSED), and the one overdue rule
    app.add_template_global(Status, "CaseStatus")
    app.add_template_global(Role, "Role")
    app.add_template_global(AgencyKind, "AgencyKind")
    app.add_template_global(DraftStatus, "DraftStatus")
    app.add_template_global(DeliveryStatus, "DeliveryStatus")
    app.add_template_global(MailStatus, "MailStatus")
    app.add_template_global(NoticeSource, "NoticeSource")   # a calendar year's (not a column)
    for kind in (ReviewKind, HandoverKind, DeliveryMethod, MailChannel, SubmissionSource, AttachmentKind,
                 NotifyVia):
        app.add_template_global(kind, kind.__name__)
    app.add_template_global(overdue_row, "case_overdue")
