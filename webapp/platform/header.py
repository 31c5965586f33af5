"""The page header's counters (the bell, 待签收, whether any draft waits for review), read in one
statement once per page view."""

from __future__ import annotations

from typing import NamedTuple

from flask_login import current_user
from sqlalchemy import bindparam, func, literal, select

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


def _statement(has_agency: bool, to_sign: bool):
    """The header's statement for a user with or without an agency and handover.view (its values are
    the parameters ``user_id`` and ``agency_id``), built once per process (webapp/prebuilt.py)."""
    user_id, agency_id = bindparam("user_id"), bindparam("agency_id")
    unread = (select(func.count(Notification.id))
              .where(Notification.recipient_id == user_id, Notification.read_at.is_(None)).scalar_subquery())
    signing = count_to_sign_clause([agency_id]) if has_agency and to_sign else literal(0)
    drafts = (select(func.count(ReviewDraft.id))
              .where(ReviewDraft.status == DraftStatus.PENDING, ReviewDraft.agency_id == agency_id)
              .scalar_subquery()) if has_agency else literal(0)
    return select(unread, signing, drafts)


def header_counts() -> HeaderCounts:
    """base.html's bell, the 待签收 link, the dashboard's 待签收 panel, and whether 待我审批 needs to
    read any draft."""
    if not getattr(current_user, "is_authenticated", False):
        return HeaderCounts(0, 0, 0)
    user_id, agency_id = current_user.id, current_user.agency_id

    def read() -> HeaderCounts:
        shape = (agency_id is not None, agency_id is not None and can("handover.view"))
        stmt = prebuilt(("header_counts", *shape), lambda: _statement(*shape))
        row = db.session.execute(stmt, {"user_id": user_id, "agency_id": agency_id}).one()
        return HeaderCounts(row[0] or 0, row[1] or 0, row[2] or 0)

    return per_request(("header_counts", user_id), read)


def unread_notification_count() -> int:
    return header_counts().unread
