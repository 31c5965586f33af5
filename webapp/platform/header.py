"""The page header's counters (the bell, 待签收, whether any draft waits for review), read once per page
view: on a GET page with the session user's statement (auth/login.load_user reads ``counts_columns``
of the user's row and keeps them with ``remember_counts``), else in one statement of their own."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask_login import current_user
from sqlalchemy import bindparam, func, select

from webapp.domain.states import DraftStatus
from webapp.extensions import db
from webapp.handovers.services import count_to_sign_clause
from webapp.models import Notification, ReviewDraft
from webapp.prebuilt import prebuilt
from webapp.request_memo import per_request
from webapp.security import can


class HeaderCounts(NamedTuple):
    unread: int      # the bell: the user's unread notifications
    to_sign: int     # 待签收: routed to the user's agency, not yet signed for (0 without handover.view)
    drafts: int      # the agency's drafts waiting for any review step (待我审批 reads them only if some)


def counts_columns(user_id: Any, agency_id: Any) -> tuple[Any, Any, Any]:
    """The three counts as scalar subqueries of the user's and the agency's id (bound parameters, or
    the columns of the session user's row). No agency (a government-level account): the agency's
    counts are 0 (no row has a NULL agency)."""
    unread = (select(func.count(Notification.id))
              .where(Notification.recipient_id == user_id, Notification.read_at.is_(None)).scalar_subquery())
    drafts = (select(func.count(ReviewDraft.id))
              .where(ReviewDraft.status == DraftStatus.PENDING, ReviewDraft.agency_id == agency_id)
              .scalar_subquery())
    return unread, count_to_sign_clause([agency_id]), drafts


def _counts(user, unread, to_sign, drafts) -> HeaderCounts:
    return HeaderCounts(unread or 0, (to_sign or 0) if can("handover.view", user) else 0, drafts or 0)


def remember_counts(memo: dict, user, unread, to_sign, drafts) -> None:
    """Keep the counts read with the session user (``counts_columns``) in the GET request's ``memo``
    (request_memo.page_memo) for the rest of it."""
    memo[("header_counts", user.id)] = _counts(user, unread, to_sign, drafts)


def header_counts(user=None) -> HeaderCounts:
    """base.html's bell, the 待签收 link, the dashboard's 待签收 panel, and whether 待我审批 needs to
    read any draft; of ``user``, the session user (given by a caller that holds it already)."""
    if user is None:
        user = current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return HeaderCounts(0, 0, 0)

    def read() -> HeaderCounts:
        stmt = prebuilt("header_counts", lambda: select(*counts_columns(bindparam("user_id"), bindparam("agency_id"))))
        row = db.session.execute(stmt, {"user_id": user.id, "agency_id": user.agency_id}).one()
        return _counts(user, *row)

    return per_request(("header_counts", user.id), read)


def unread_notification_count() -> int:
    return header_counts().unread
