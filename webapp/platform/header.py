"""The page header's counters (the bell, 待签收, whether any draft waits for review), read in one
statement once per page view."""

from __future__ import annotations

from typing import NamedTuple

from flask_login import current_user
from sqlalchemy import func, literal, select

from webapp.domain.states import DraftStatus
from webapp.extensions import db
from webapp.handovers.services import count_to_sign_clause
from webapp.models import Notification, ReviewDraft
from webapp.request_memo import per_request
from webapp.security import can


class HeaderCounts(NamedTuple):
    unread: int      # the bell: the user's unread notifications
    to_sign: int     # 待签收: routed to the user's agency, not yet signed for (0 without handover.view)
    drafts: int      # the agency's drafts waiting for any review step (待我审批 reads them only if some)


def header_counts() -> HeaderCounts:
    """base.html's bell, the 待签收 link, the dashboard's 待签收 panel, and whether 待我审批 needs to
    read any draft."""
    if not getattr(current_user, "is_authenticated", False):
        return HeaderCounts(0, 0, 0)
    user_id, agency_id = current_user.id, current_user.agency_id

    def read() -> HeaderCounts:
        unread = (select(func.count(Notification.id))
                  .where(Notification.recipient_id == user_id, Notification.read_at.is_(None)).scalar_subquery())
        to_sign = count_to_sign_clause([agency_id]) if agency_id is not None and can("handover.view") \
            else literal(0)
        drafts = (select(func.count(ReviewDraft.id))
                  .where(ReviewDraft.status == DraftStatus.PENDING, ReviewDraft.agency_id == agency_id)
                  .scalar_subquery()) \
            if agency_id is not None else literal(0)
        row = db.session.execute(select(unread, to_sign, drafts)).one()
        return HeaderCounts(row[0] or 0, row[1] or 0, row[2] or 0)

    return per_request(("header_counts", user_id), read)


def unread_notification_count() -> int:
    return header_counts().unread
