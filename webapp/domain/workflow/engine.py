"""Checking and applying one event to a case's clock, and replaying a case's events."""

from __future__ import annotations

from collections.abc import Iterable
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
    """The clock after ``event``, or a Refusal. ``clock`` itself is never changed."""
    row = check(clock, event, cal, policies, today, recorded)
    on = event.on
    new = replace(clock, status=row.target, last_on=on, n_events=clock.n_events + 1)
    t = event.type
    if t is _E.RECEIVED:
        new = replace(new, received_on=on, start=on, channel=event.channel.value if event.channel else None)
    elif t is _E.CORRECTION_REQUESTED:
        reply_by = event.reply_by or cal.add_workdays(on, policies.correction_period_days)
        late = on > cal.add_workdays(clock.received_on, CORRECTION_NOTICE_DAYS)
        new = replace(new, correction_requested_on=on, correction_reply_by=reply_by,
                      correction_notice_late=late, counted_before_correction=clock.counted(cal, on))
    elif t is _E.CORRECTION_RECEIVED:
        # Art. 30: the response period starts again from zero on the day the correction arrives.
        new = replace(new, correction_received_on=on, start=on, pauses=(), restarts=clock.restarts + (on,))
    elif t is _E.CONSULTATION_STARTED:
        letters = clock.consultations + ((on, event.party.value if event.party else "third_party"),)
        if clock.pause_start is None:
            new = replace(new, pause_start=on, pause_kind="consultation", consultations=letters)
        else:
            new = replace(new, consultations=letters)
    elif t is _E.CONSULTATION_ENDED:
        new = replace(new, pauses=clock.pauses + (Pause(clock.pause_start, on, "consultation"),),
                      pause_start=None, pause_kind=None, consultation_ended_on=on)
    elif t is _E.EXTENDED:
        days = event.days if event.days is not None else EXTENSION_MAX_DAYS
        new = replace(new, extended_on=on, extension_days=days, limit=clock.limit + days,
                      extension_approved_by=event.approved_by)
    elif t is _E.FEE_NOTICE:
        new = replace(new, fee_notice_on=on, fee_amount=event.amount_yuan)
        if policies.fee_pauses_clock:
            new = replace(new, pause_start=on, pause_kind="fee")
    elif t is _E.FEE_PAID:
        new = replace(new, fee_paid_on=on)
        if clock.pause_start is not None:
            new = replace(new, pauses=clock.pauses + (Pause(clock.pause_start, on, "fee"),),
                          pause_start=None, pause_kind=None)
    elif row.clock == "ends":
        outcome = {
            _E.ANSWERED: event.outcome,
            _E.WITHDRAWN: Outcome.OTHER_OTHER,
            _E.CORRECTION_LAPSED: Outcome.OTHER_CORRECTION_LAPSED,
            _E.FEE_LAPSED: Outcome.OTHER_FEE_UNPAID,
        }[t]
        late = None
        due = None
        if t is _E.ANSWERED:
            # For an answer during a pause, the due date is worked out as if the pause ended that day.
            due = clock.due_in_force(cal, on)
            late = on > due if due is not None else None
        pauses = clock.pauses
        if clock.pause_start is not None:
            pauses = pauses + (Pause(clock.pause_start, on, clock.pause_kind or "consultation"),)
        new = replace(new, closed_on=on, outcome=outcome, late=late, due_at_close=due, pauses=pauses,
                      pause_start=None, pause_kind=None)
    return new


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
