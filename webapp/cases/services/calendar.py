"""The one working-day calendar of the service: the library's years plus the notices an
administrator entered (CalendarYear rows). Cached per process, keyed by the rows' fingerprint."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import func, select

from webapp.domain.calendar import NoticeSource, WorkCalendar, YearNotice
from webapp.extensions import db
from webapp.models import CalendarYear

_lock = threading.Lock()
_cache: dict[Any, WorkCalendar] = {}


def _row_notice(row: CalendarYear) -> YearNotice:
    days_off = {date.fromisoformat(d): (name or "节假日") for d, name in row.days_off}
    makeup = frozenset(date.fromisoformat(d) for d in row.makeup_days)
    return YearNotice(year=row.year, days_off=days_off, makeup_days=makeup, title=row.title,
                      issued_on=row.issued_on, source=NoticeSource.ADMIN)


FINGERPRINT = "calendar_fingerprint"


def fingerprint_columns() -> tuple[Any, Any]:
    """The calendar's fingerprint as two scalar subqueries, for a statement that reads it along with
    something else (the session user: auth/login.load_user), then ``request_memo.remember(FINGERPRINT,
    (count, max))``."""
    return (select(func.count(CalendarYear.year)).scalar_subquery(),
            select(func.max(CalendarYear.entered_at)).scalar_subquery())


def _fingerprint() -> tuple[Any, Any]:
    return tuple(db.session.execute(select(func.count(CalendarYear.year), func.max(CalendarYear.entered_at))).one())


def current_calendar() -> WorkCalendar:
    from webapp.request_memo import per_request

    return _of(per_request(FINGERPRINT, _fingerprint))


def calendar_as_read() -> WorkCalendar:
    """``current_calendar()`` for a change that never alters the calendar (a registration): in a POST,
    the calendar of the fingerprint read with the session user at the request's start (auth/login),
    not read again; the same as ``current_calendar()`` elsewhere."""
    from webapp.request_memo import as_read

    return _of(as_read(FINGERPRINT, _fingerprint))


def _of(key: Any) -> WorkCalendar:
    """The calendar of the fingerprint ``key``: kept per process, loaded when it changed."""
    cal = _cache.get(key)
    return cal if cal is not None else _load(key)


def _load(key: Any) -> WorkCalendar:
    rows = db.session.scalars(select(CalendarYear)).all()
    cal = WorkCalendar.default(extra=[_row_notice(r) for r in rows])
    with _lock:
        _cache.clear()
        _cache[key] = cal
    return cal
