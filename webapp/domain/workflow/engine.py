"""Checking and applying one event to a case's clock, and replaying a case's events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date

from ..calendar import WorkCalendar
from ..clock import CaseClock, Pause
from ..outcomes import Outcome
from ..policies import CORRECTION_NOTICE_DAYS, EXTENSION_MAX_DAYS, Policies
from .events import Event, Refusal
from .table import _E, _EVENT_REASON, _S, _STATE_REASON, GUARDS, JUDGED_WHEN_RECORDED, TABLE, Transition, _Ctx


def check(clock: CaseClock, event: Event, cal: WorkCalendar, policies: Policies,
          today: date | None = None, recorded: bool = False) -> Transition:
    """The table row that allows ``event`` now, or a Refusal. Changes nothing. ``recorded``: the
    event is part of a recorded history being replayed (JUDGED_WHEN_RECORDED guards are skipped)."""
    ctx = _Ctx(clock, event, cal, policies)
    if today is not None and event.on > today:
        raise ctx.refuse("date.future", f"the date is after today ({today.isoformat()})",
                         f"日期晚于今天（{today.isoformat()}）", "")
    if clock.last_on is not None and event.on < clock.last_on:
        raise ctx.refuse("date.order", f"dated before the previous event ({clock.last_on.isoformat()})",
                         f"日期早于上一事件（{clock.last_on.isoformat()}）", "")
    row = TABLE.get((clock.status, event.type))
    if row is None:
        if clock.status == _S.REGISTERED and event.type in _EVENT_REASON:
            en, zh = _EVENT_REASON[event.type]
        elif event.type is _E.RECEIVED and clock.status is not None:
            en, zh = _EVENT_REASON[_E.RECEIVED]
        else:
            en, zh = _STATE_REASON[clock.status]
        state = clock.status.value if clock.status else "new"
        raise ctx.refuse(f"{event.type.value}.{state}", en, zh, "")
    try:
        cal.add_workdays(event.on, 1)
    except ValueError:
        raise ctx.refuse("date.range", "the date is outside the calendar", "日期超出日历范围") from None
    for name in row.guards:
        if recorded and name in JUDGED_WHEN_RECORDED:
            continue
        GUARDS[name](ctx)
    return row


def apply(clock: CaseClock, event: Event, cal: WorkCalendar, policies: Policies,
          today: date | None = None, recorded: bool = False) -> CaseClock:
    """The clock after ``event``, or a Refusal. ``clock`` itself is never changed: the table row
    gives the new state, the event type's entry in ``EFFECTS`` what else the event changes."""
    row = check(clock, event, cal, policies, today, recorded)
    moved = replace(clock, status=row.target, last_on=event.on, n_events=clock.n_events + 1)
    return EFFECTS[event.type](clock, moved, event, cal, policies)


# --- the effect of each event type on the clock ----------------------------------------------------
# Each takes the clock before the event, the clock already moved to the row's state (``new``), the
# event, the calendar and the policies, and returns the clock after the event.

Effect = Callable[[CaseClock, CaseClock, Event, WorkCalendar, Policies], CaseClock]


def _received(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar, policies: Policies) -> CaseClock:
    return replace(new, received_on=ev.on, start=ev.on, channel=ev.channel.value if ev.channel else None)


def _correction_requested(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar,
                          policies: Policies) -> CaseClock:
    reply_by = ev.reply_by or cal.add_workdays(ev.on, policies.correction_period_days)
    late = ev.on > cal.add_workdays(clock.received_on, CORRECTION_NOTICE_DAYS)
    return replace(new, correction_requested_on=ev.on, correction_reply_by=reply_by,
                   correction_notice_late=late, counted_before_correction=clock.counted(cal, ev.on))


def _correction_received(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar,
                         policies: Policies) -> CaseClock:
    # Art. 30: the response period starts again from zero on the day the correction arrives.
    return replace(new, correction_received_on=ev.on, start=ev.on, pauses=(), restarts=clock.restarts + (ev.on,))


def _consultation_started(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar,
                          policies: Policies) -> CaseClock:
    letters = clock.consultations + ((ev.on, ev.party.value if ev.party else "third_party"),)
    if clock.pause_start is None:
        return replace(new, pause_start=ev.on, pause_kind="consultation", consultations=letters)
    return replace(new, consultations=letters)


def _consultation_ended(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar,
                        policies: Policies) -> CaseClock:
    return replace(new, pauses=clock.pauses + (Pause(clock.pause_start, ev.on, "consultation"),),
                   pause_start=None, pause_kind=None, consultation_ended_on=ev.on)


def _extended(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar, policies: Policies) -> CaseClock:
    days = ev.days if ev.days is not None else EXTENSION_MAX_DAYS
    return replace(new, extended_on=ev.on, extension_days=days, limit=clock.limit + days,
                   extension_approved_by=ev.approved_by)


def _fee_notice(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar, policies: Policies) -> CaseClock:
    new = replace(new, fee_notice_on=ev.on, fee_amount=ev.amount_yuan)
    return replace(new, pause_start=ev.on, pause_kind="fee") if policies.fee_pauses_clock else new


def _fee_paid(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar, policies: Policies) -> CaseClock:
    new = replace(new, fee_paid_on=ev.on)
    if clock.pause_start is None:
        return new
    return replace(new, pauses=clock.pauses + (Pause(clock.pause_start, ev.on, "fee"),),
                   pause_start=None, pause_kind=None)


def _ends(outcome: Outcome | None) -> Effect:
    """An event that ends the case with ``outcome`` (None: the answer's own outcome)."""

    def effect(clock: CaseClock, new: CaseClock, ev: Event, cal: WorkCalendar, policies: Policies) -> CaseClock:
        late = due = None
        if outcome is None:
            # For an answer during a pause, the due date is worked out as if the pause ended that day.
            due = clock.due_in_force(cal, ev.on)
            late = ev.on > due if due is not None else None
        pauses = clock.pauses
        if clock.pause_start is not None:
            pauses = pauses + (Pause(clock.pause_start, ev.on, clock.pause_kind or "consultation"),)
        return replace(new, closed_on=ev.on, outcome=outcome if outcome is not None else ev.outcome, late=late,
                       due_at_close=due, pauses=pauses, pause_start=None, pause_kind=None)

    return effect


#: event type -> its effect on the clock (every type has one; the table says when it may happen)
EFFECTS: dict[_E, Effect] = {
    _E.RECEIVED: _received,
    _E.CORRECTION_REQUESTED: _correction_requested,
    _E.CORRECTION_RECEIVED: _correction_received,
    _E.CORRECTION_LAPSED: _ends(Outcome.OTHER_CORRECTION_LAPSED),
    _E.CONSULTATION_STARTED: _consultation_started,
    _E.CONSULTATION_ENDED: _consultation_ended,
    _E.EXTENDED: _extended,
    _E.FEE_NOTICE: _fee_notice,
    _E.FEE_PAID: _fee_paid,
    _E.FEE_LAPSED: _ends(Outcome.OTHER_FEE_UNPAID),
    _E.ANSWERED: _ends(None),
    _E.WITHDRAWN: _ends(Outcome.OTHER_OTHER),
}


def replay(events: Iterable[Event], cal: WorkCalendar, policies: Policies,
           today: date | None = None, as_of: date | None = None, recorded: bool = False) -> CaseClock:
    """Apply events in order (those dated after ``as_of`` have not happened yet). ``recorded``: the
    events are a case's stored history, judged when they were recorded (see JUDGED_WHEN_RECORDED).

    A Refusal carries the 0-based index of the offending event.
    """
    clock = CaseClock()
    for i, ev in enumerate(events):
        if as_of is not None and ev.on > as_of:
            break
        try:
            clock = apply(clock, ev, cal, policies, today, recorded)
        except Refusal as r:
            r.event_index = i
            raise
    return clock
