"""Remind administrators to enter next year's State Council holiday notice (rules.md §1).

From 1 November, while next year is still provisional in the calendar (no notice from the library or
an administrator), every active administrator gets a Notification and a mail once a week, counted
from 1 November. A year that begins still provisional keeps the reminder going (counted from
1 January) until its notice is entered. Entering it (admin/services/calendar_admin.py) recomputes the
open cases' deadlines; the next run finds nothing missing and stays quiet.

Safe to run daily (beat does): the key holds the target year and the week.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from webapp.admin.services.agency_admin import may_change_installation
from webapp.cases.services.calendar import current_calendar
from webapp.domain.kinds import Role
from webapp.extensions import db
from webapp.models import User

from .outbox import base_url
from .reminders import Note, notify_and_mail

CALENDAR_LINK = "/admin/calendar"
WATCH_FROM_MONTH = 11   # rules.md §1: from 1 November


def missing_year(today: date) -> tuple[int, date] | None:
    """(the year whose notice is missing, the day the weekly count starts), or None."""
    cal = current_calendar()
    if today.month >= WATCH_FROM_MONTH and cal.is_provisional(date(today.year + 1, 1, 1)):
        return today.year + 1, date(today.year, WATCH_FROM_MONTH, 1)
    if cal.is_provisional(date(today.year, 1, 1)):
        return today.year, date(today.year, 1, 1)
    return None


def holiday_watch(today: date, now: datetime | None = None) -> int:
    """Notify the administrators who may enter the notice (weekly) while it is missing; the
    notifications created."""
    missing = missing_year(today)
    if missing is None:
        return 0
    year, since = missing
    week = (today - since).days // 7
    base = base_url()
    notes: list[Note] = []
    context: dict[str, dict[str, Any]] = {}
    for user in db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))
                                   .order_by(User.id)):
        if not may_change_installation(user):
            continue     # only those who can enter the notice (agency_admin.may_change_installation)
        key = f"holiday_notice_missing:{year}:{since.isoformat()}:w{week}:{user.id}"
        notes.append(Note(key, "holiday_notice_missing", user.id, f"请录入{year}年节假日安排",
                          f"尚未录入《国务院办公厅关于{year}年部分节假日安排的通知》，延伸至{year}年的期限"
                          f"均为暂定。录入后系统将重新计算办理中申请的期限。", CALENDAR_LINK, user.agency_id,
                          None, date(year, 1, 1)))
        context[key] = {"year": year, "url": base + CALENDAR_LINK, "base_url": base}
    return notify_and_mail(notes, "holiday_notice_missing", context, now)
