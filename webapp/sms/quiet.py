"""Quiet hours per agency: when staff reminders and SMS wait (e.g. 20:00-08:00, and days off per the
working-day calendar), and whether the agency's mail to applicants waits too.

Stored in ``Agency.quiet_hours`` (JSON: ``{"start": "20:00", "end": "08:00", "days_off": true,
"applicant_mail": false}``; ``{}`` or start == end: no quiet hours). A message decided in quiet
hours gets a not-before time on its outbox row - the next opening of the window, Asia/Shanghai wall
clock - and the delivery skips it until then. A reminder whose deadline would have passed by then
goes at once (``not_before`` returns None).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from webapp.timeutil import SHANGHAI


def _hhmm(value: Any) -> time:
    try:
        h, m = str(value).strip().split(":")
        return time(int(h), int(m))
    except (ValueError, TypeError) as e:
        raise ValueError(f"时间格式应为 时:分（如 20:00）：{value!r}") from e


@dataclass(frozen=True)
class QuietHours:
    start: time = time(0, 0)
    end: time = time(0, 0)
    days_off: bool = False          # also quiet all day on days off (working-day calendar)
    applicant_mail: bool = False    # the agency's mail to applicants waits too

    @property
    def enabled(self) -> bool:
        return self.start != self.end or self.days_off

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> QuietHours:
        data = dict(data or {})
        if not data:
            return cls()
        return cls(_hhmm(data.get("start", "00:00")), _hhmm(data.get("end", "00:00")),
                   bool(data.get("days_off", False)), bool(data.get("applicant_mail", False)))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"], d["end"] = self.start.strftime("%H:%M"), self.end.strftime("%H:%M")
        return d

    def quiet_at(self, t: time) -> bool:
        if self.start == self.end:
            return False
        if self.start > self.end:                 # overnight, e.g. 20:00-08:00
            return t >= self.start or t < self.end
        return self.start <= t < self.end

    def next_open(self, local: datetime, is_workday: Callable[[date], bool]) -> datetime:
        """The first instant at or after ``local`` (aware, Asia/Shanghai) outside quiet hours."""
        cur = local
        for _ in range(400):
            day_ok = not self.days_off or is_workday(cur.date())
            if day_ok and not self.quiet_at(cur.time().replace(tzinfo=None)):
                return cur
            opening = self.end if self.start != self.end else time(0, 0)
            if day_ok and cur.time().replace(tzinfo=None) < opening:
                cur = datetime.combine(cur.date(), opening, SHANGHAI)
            else:
                cur = datetime.combine(cur.date() + timedelta(days=1), opening, SHANGHAI)
        return cur

    def not_before(self, now: datetime, is_workday: Callable[[date], bool],
                   deadline: date | None = None) -> datetime | None:
        """Naive UTC instant to wait for (as the outbox stores it), or None: send now - outside quiet
        hours, or when the opening would come after the end of ``deadline`` (a reminder that would
        arrive too late goes at once)."""
        if not self.enabled:
            return None
        local = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(SHANGHAI)
        opening = self.next_open(local, is_workday)
        if opening == local:
            return None
        if deadline is not None and opening >= datetime.combine(deadline + timedelta(days=1), time(0), SHANGHAI):
            return None
        return opening.astimezone(UTC).replace(tzinfo=None)


def agency_quiet_hours(agency_id: int | None) -> QuietHours:
    from webapp.extensions import db
    from webapp.models import Agency

    agency = db.session.get(Agency, agency_id) if agency_id else None
    try:
        return QuietHours.from_mapping(agency.quiet_hours if agency is not None else None)
    except ValueError:
        return QuietHours()


def quiet_hours_of(agency_ids) -> dict[int, QuietHours]:
    """Each agency's quiet hours, read in one statement (the sweep: every reader's agency at once)."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Agency

    ids = sorted({a for a in agency_ids if a})
    if not ids:
        return {}
    return quiet_hours_from(db.session.execute(select(Agency.id, Agency.quiet_hours).where(Agency.id.in_(ids))))


def quiet_hours_from(stored) -> dict[int, QuietHours]:
    """(agency id, stored ``Agency.quiet_hours``, or its JSON text) pairs -> each agency's quiet hours
    (none where the stored value is invalid)."""
    out: dict[int, QuietHours] = {}
    for aid, raw in stored:
        try:
            out[aid] = QuietHours.from_mapping(json.loads(raw) if isinstance(raw, str) else raw)
        except ValueError:
            out[aid] = QuietHours()
    return out


def not_before_for(agency_id: int | None, now: datetime | None = None, deadline: date | None = None, *,
                   applicant_mail: bool = False) -> datetime | None:
    """The not-before time for a message of ``agency_id`` decided ``now`` (None: send now). With
    ``applicant_mail``: only if the agency asked that its applicant mail honour quiet hours."""
    from webapp.cases.services.calendar import current_calendar
    from webapp.timeutil import now_utc

    quiet = agency_quiet_hours(agency_id)
    if applicant_mail and not quiet.applicant_mail:
        return None
    cal = current_calendar()
    return quiet.not_before(now or now_utc(), cal.is_workday, deadline)
