"""Reading a case's clock: its workflow events replayed through the domain, and the dates derived onto the case
row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from operator import attrgetter
from typing import Any

from sqlalchemy import and_, func, or_

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, CaseClock, Status
from webapp.domain.workflow import Event, EventType, Refusal, replay
from webapp.errors import ServiceError
from webapp.models import Case

from .calendar import current_calendar

WORKFLOW_TYPES = frozenset(t.value for t in EventType)


def refusal_error(r: Refusal, case: Case | None = None) -> ServiceError:
    where = f"case {case.ref}: " if case is not None else ""
    return ServiceError(where + r.message, r.message_zh + (f"（依据：{r.article}）" if r.article else ""),
                        rule=r.rule, article=r.article, event_index=r.event_index)


# --- reading a case's clock ------------------------------------------------------------------------

def workflow_events(case: Case, events: Iterable[Any] | None = None) -> list[Event]:
    """The case's workflow events for the domain, in order; ``events``: the case's events if read
    already (CaseEvent objects or rows with the same attributes: the case page's, cases/page_reads.case_events),
    else ``case.events``."""
    return [Event.from_dict({"type": e.type, "on": e.on.isoformat(), **(e.payload or {})})
            for e in sorted(case.events if events is None else events, key=_SEQ) if e.type in WORKFLOW_TYPES]


_SEQ = attrgetter("seq")


def case_clock(case: Case, cal: WorkCalendar | None = None, as_of: date | None = None,
               events: Iterable[Any] | None = None) -> CaseClock:
    cal = cal or current_calendar()
    return replay(workflow_events(case, events), cal, case.agency.policy(), as_of=as_of, recorded=True)


def _derive(case: Case, clock: CaseClock, cal: WorkCalendar) -> None:
    """Write the domain's reading of the events onto the case's query columns."""
    policies = case.agency.policy()
    case.status = clock.status.value if clock.status else None
    case.received_on = clock.received_on
    case.clock_start = clock.start
    due = clock.due_on(cal)
    case.due_on = due
    case.due_provisional = bool(due and cal.touches_provisional(clock.start, due))
    case.paused_since = clock.pause_start
    case.paused_due_on = clock.due_fixed_in_pause(cal)
    case.extended = clock.extended_on is not None
    notice_window = (clock.status == Status.REGISTERED and clock.correction_requested_on is None
                     and clock.extended_on is None and not clock.restarts)
    case.correction_notice_due_on = clock.correction_notice_due(cal) if notice_window else None
    case.correction_reply_by = clock.correction_reply_by if clock.status == Status.AWAITING_CORRECTION else None
    letters = clock.consultation_reply_due(cal) if clock.status == Status.CONSULTING else []
    case.consultation_due_on = max((d for _, _, d in letters), default=None)
    case.fee_due_on = clock.fee_due_on(cal, policies) if clock.status == Status.AWAITING_FEE else None
    case.fee_amount = clock.fee_amount
    case.fee_paid_on = clock.fee_paid_on
    case.closed_on = clock.closed_on
    case.outcome = clock.outcome.value if clock.outcome else None
    case.late = clock.late
    if clock.status == Status.CLOSED and clock.start is not None:
        case.days_to_answer = clock.counted(cal, clock.closed_on)
        case.paused_days = sum(cal.workdays_between(p.start, p.end) for p in clock.pauses)
    else:
        case.days_to_answer = None
        case.paused_days = sum(cal.workdays_between(p.start, p.end) for p in clock.pauses)
    case.calendar_version = cal.version


def overdue_branches(today: date) -> tuple[tuple[tuple, Any], ...]:
    """The ways a case is overdue (rules.md §4), each as (its conditions, the column it is ordered
    by: ``standing_due_on()`` within it): the clock runs and its due date has passed, one branch per
    status the clock runs in; it is paused after the period had run out. Each branch is one range of
    an index of its own (ix_case_overdue_cover's (status, due_on); ix_case_paused_due), so a list
    reads them as one statement each joined (cases/queries.Search, cases/dashboard) and finds each
    one's most overdue cases first without reading all of them. No case is in two: ``due_on`` is set
    only while the clock runs unpaused, ``paused_due_on`` only while it is paused (``_derive``)."""
    running = tuple(((Case.status == Status(s), Case.due_on < today), Case.due_on) for s in CLOCK_RUNS_IN)
    return (*running, ((Case.paused_due_on < today,), Case.paused_due_on))


def standing_due_on():
    """The answer's due date that stands, on the query columns: the running clock's (due_on), or,
    paused after the period had run out, the one fixed then (paused_due_on); null otherwise. The
    overdue lists are ordered by it and the review reminders date by it."""
    return func.coalesce(Case.due_on, Case.paused_due_on)


def overdue_clause(today: date):
    """``CaseClock.is_overdue(cal, today)`` on the query columns: any of ``overdue_branches``. The
    dashboard, the case search, the supervision figures and the register export all use it."""
    return or_(*(and_(*conditions) for conditions, _due in overdue_branches(today)))


def overdue_row(case: Case, today: date) -> bool:
    """``overdue_clause`` for a row already read."""
    return bool((case.status in CLOCK_RUNS_IN and case.due_on is not None and case.due_on < today)
                or (case.paused_due_on is not None and case.paused_due_on < today))
