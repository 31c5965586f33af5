"""The deadlines of open cases, and their recomputation when the calendar or a policy changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CaseClock, Status
from webapp.extensions import db
from webapp.models import Case, User
from webapp.timeutil import today_shanghai

from .calendar import current_calendar
from .clock import _derive, case_clock
from .events import add_note

_MOVABLE = ("due_on", "correction_notice_due_on", "correction_reply_by", "fee_due_on", "consultation_due_on",
            "due_provisional")


def _paused_due(clock: CaseClock, cal: WorkCalendar, today: date) -> date | None:
    """For a case whose clock is paused: the due date if the pause ended today (what the case page
    shows); None otherwise."""
    if clock.pause_start is None:
        return None
    return clock.due_in_force(cal, max(today, clock.pause_start))


def _open_cases(agency_id: int | None):
    q = select(Case).where(Case.status != Status.CLOSED.value)
    return q if agency_id is None else q.where(Case.agency_id == agency_id)


def open_deadlines(today: date | None = None, agency_id: int | None = None) -> dict[int, dict[str, Any]]:
    """Every open case's deadlines as they stand (before a calendar or policy change): case id ->
    the derived columns and, for a paused case, its due date if the pause ended today. With
    ``agency_id``, that agency's open cases only (a policy change touches no other agency's)."""
    today = today or today_shanghai()
    cal = current_calendar()
    out = {}
    for case in db.session.scalars(_open_cases(agency_id)):
        reading = {name: getattr(case, name) for name in _MOVABLE}
        if case.paused_since is not None:
            reading["due_if_resumed"] = _paused_due(case_clock(case, cal), cal, today)
        out[case.id] = reading
    return out


def recompute_open_cases(reason: str, actor: User | None = None, today: date | None = None,
                         before: dict[int, dict[str, Any]] | None = None, agency_id: int | None = None,
                         ) -> list[tuple[Case, date | None, date | None]]:
    """After a calendar or policy change: recompute the derived deadlines of every open case and log
    each moved deadline on its case as an event (old date, new date, why). rules.md §1. ``before``
    (``open_deadlines()`` taken before the change) also lets a paused case's due date - if the pause
    ended today - be compared and logged. With ``agency_id`` (a policy change), that agency's open
    cases only: the calendar is everyone's, a policy is one agency's."""
    today = today or today_shanghai()
    cal = current_calendar()
    moved = []
    for case in db.session.scalars(_open_cases(agency_id)):
        was = (before or {}).get(case.id) or {name: getattr(case, name) for name in _MOVABLE}
        clock = case_clock(case, cal)
        _derive(case, clock, cal)
        now = {name: getattr(case, name) for name in _MOVABLE}
        if "due_if_resumed" in was:
            now["due_if_resumed"] = _paused_due(clock, cal, today)
        old = tuple(was.get(name) for name in now)
        new = tuple(now.values())
        if old != new:
            changes = {}
            names = tuple(now)
            for name, a, b in zip(names, old, new, strict=True):
                if a != b:
                    changes[name] = [a.isoformat() if isinstance(a, date) else a,
                                     b.isoformat() if isinstance(b, date) else b]
            add_note(case, "deadline_moved", today, {"reason": reason, "changes": changes,
                                                     "calendar_version": cal.version}, actor)
            moved.append((case, old[0], new[0]))
    db.session.flush()
    return moved
