"""What every template may use: ``can`` (and ``may``, the actions it allows), ``current_user``, the
counts of the header and dashboard (unread notifications, the online queue), the fixed URLs of the
header and menu (``url_of``, ``static_url``; where the page is: ``nav_endpoint``, ``nav_area``), the
audit log's and outbox's words in Chinese, and the Chinese display filters (date_zh, local_time,
status_zh, role_zh)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for
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
from webapp.domain.labels import ROLE_ZH, outcome_text
from webapp.domain.states import DeliveryStatus, DraftStatus, MailStatus
from webapp.public.services import queue_summary
from webapp.security import actable_agency_ids, actions_of, can, can_within
from webapp.timeutil import SHANGHAI

from .chrome import Header, page_header
from .header import header_counts, unread_notification_count


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


def status_zh(code: str | None) -> str:
    if not code:
        return "—"
    return _STATUS_ZH.get(code, code)


def role_zh(code: str | None) -> str:
    return ROLE_ZH.get(code, code or "")


class _Urls(dict):
    """The URL of an endpoint that takes no values (or of a static file), built by url_for the first time
    and kept for the process: it depends only on the app's routes and the prefix the app is served
    under (SCRIPT_NAME), which is the key of its table (``_fixed_urls``). A route's URL defaults
    (url_defaults) would change it: the app has none. ``headers``: the page headers made with these URLs
    (chrome.page_header's memo)."""

    def __init__(self, static: bool) -> None:
        super().__init__()
        self._static = static
        self.headers: dict = {}

    def __missing__(self, key: str) -> str:
        url = url_for("static", filename=key) if self._static else url_for(key)
        self[key] = url
        return url


#: how many SCRIPT_NAMEs keep their tables (an installation has one; more are built per request)
MAX_PREFIXES = 8


def _fixed_urls() -> tuple[_Urls, _Urls]:
    """This request's tables of fixed URLs (endpoints, static files): the app's, one per SCRIPT_NAME.
    With subdomain or host matching a URL depends on the host too: tables of the request's own."""
    app = current_app._get_current_object()
    if app.subdomain_matching or app.url_map.host_matching:
        return _Urls(False), _Urls(True)
    by_prefix = app.extensions.setdefault("fixed_urls", {})
    prefix = request.environ.get("SCRIPT_NAME", "")
    tables = by_prefix.get(prefix)
    if tables is None:
        tables = (_Urls(False), _Urls(True))
        if len(by_prefix) < MAX_PREFIXES:    # a client able to set SCRIPT_NAME (a proxy's header) gets
            tables = by_prefix.setdefault(prefix, tables)    # tables of its own, not kept
    return tables


def _staff_helpers() -> dict[str, Any]:
    # ``current_user`` is Flask-Login's own context value: the loaded user object, read once per
    # render (the proxy would look the user up again on each of a page's ~50 uses); ``can`` is the
    # user's, its role's actions resolved once per render (security.actions_of), and ``may`` those
    # actions ('queue.view' in may: can('queue.view') without a call, for the menu)
    user = current_user._get_current_object()
    may = actions_of(user)
    helpers: dict[str, Any] = {"can": can_within(may), "may": may,
                               "header_counts": header_counts,
                               "unread_notification_count": unread_notification_count,
                               "submission_queue_summary": submission_queue_summary}
    if has_request_context():   # a page
        endpoint = request.endpoint or ""
        helpers["url_of"], helpers["static_url"] = _fixed_urls()
    else:                       # a template rendered outside a request: url_for's own answers
        endpoint = ""
        helpers["url_of"], helpers["static_url"] = _Urls(False), _Urls(True)
    helpers["nav_endpoint"] = endpoint
    # the part before the first dot, if there is one: nav_area == "queue" <=> endpoint.startswith("queue.")
    helpers["nav_area"] = area = endpoint.partition(".")[0] if "." in endpoint else None
    url_of = helpers["url_of"]

    def header() -> Header:
        """base.html's header (chrome.py), asked once per page."""
        return page_header(user, may, endpoint, area, url_of)

    helpers["page_header"] = header
    return helpers


_WORDS: dict = {}


def _words_zh() -> dict:
    """The audit log and the outbox in Chinese (trust/audit_labels.py, notify/mail_status.py)."""
    if not _WORDS:
        from webapp.notify import mail_status
        from webapp.trust import audit_labels

        _WORDS.update({"audit_zh": audit_labels, "mail_error_zh": mail_status.explain_error,
                       "mail_state_zh": mail_status.STATE_ZH})
    return _WORDS


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
