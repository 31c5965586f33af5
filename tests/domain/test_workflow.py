"""The transition table (rules.md §4), row by row, allowed and refused."""

from dataclasses import replace
from datetime import date

import pytest

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import Status
from webapp.domain.outcomes import Outcome
from webapp.domain.policies import Policies
from webapp.domain.workflow import TABLE, Channel, Event, EventType, Party, Refusal, apply, replay

CAL = WorkCalendar.default()
POL = Policies()
D = date.fromisoformat
E = EventType

# A case reaching each state; received Monday 2024-03-04.
PATHS = {
    None: [],
    Status.REGISTERED: [Event(E.RECEIVED, D("2024-03-04"), channel=Channel.ONLINE)],
    Status.AWAITING_CORRECTION: [Event(E.RECEIVED, D("2024-03-04"), channel=Channel.ONLINE),
                                 Event(E.CORRECTION_REQUESTED, D("2024-03-05"), reply_by=D("2024-03-08"))],
    Status.CONSULTING: [Event(E.RECEIVED, D("2024-03-04"), channel=Channel.ONLINE),
                        Event(E.CONSULTATION_STARTED, D("2024-03-05"), party=Party.THIRD_PARTY)],
    Status.AWAITING_FEE: [Event(E.RECEIVED, D("2024-03-04"), channel=Channel.ONLINE),
                          Event(E.FEE_NOTICE, D("2024-03-05"), amount_yuan=100)],
    Status.CLOSED: [Event(E.RECEIVED, D("2024-03-04"), channel=Channel.ONLINE),
                    Event(E.ANSWERED, D("2024-03-05"), outcome=Outcome.DISCLOSED)],
}

# One event of each type, dated late enough to pass the period guards (lapses).
PROBE_ON = D("2024-05-06")
PROBES = {
    E.RECEIVED: Event(E.RECEIVED, PROBE_ON, channel=Channel.POST),
    E.CORRECTION_REQUESTED: Event(E.CORRECTION_REQUESTED, D("2024-03-06")),
    E.CORRECTION_RECEIVED: Event(E.CORRECTION_RECEIVED, D("2024-03-06")),
    E.CORRECTION_LAPSED: Event(E.CORRECTION_LAPSED, PROBE_ON),
    E.CONSULTATION_STARTED: Event(E.CONSULTATION_STARTED, D("2024-03-06"), party=Party.AGENCY),
    E.CONSULTATION_ENDED: Event(E.CONSULTATION_ENDED, D("2024-03-06")),
    E.EXTENDED: Event(E.EXTENDED, D("2024-03-06"), days=20),
    E.FEE_NOTICE: Event(E.FEE_NOTICE, D("2024-03-06"), amount_yuan=200),
    E.FEE_PAID: Event(E.FEE_PAID, D("2024-03-06")),
    E.FEE_LAPSED: Event(E.FEE_LAPSED, PROBE_ON),
    E.ANSWERED: Event(E.ANSWERED, D("2024-03-06"), outcome=Outcome.PARTIAL),
    E.WITHDRAWN: Event(E.WITHDRAWN, D("2024-03-06")),
}

TARGET = {
    (None, E.RECEIVED): Status.REGISTERED,
    (Status.REGISTERED, E.CORRECTION_REQUESTED): Status.AWAITING_CORRECTION,
    (Status.REGISTERED, E.CONSULTATION_STARTED): Status.CONSULTING,
    (Status.REGISTERED, E.EXTENDED): Status.REGISTERED,
    (Status.REGISTERED, E.FEE_NOTICE): Status.AWAITING_FEE,
    (Status.REGISTERED, E.ANSWERED): Status.CLOSED,
    (Status.REGISTERED, E.WITHDRAWN): Status.CLOSED,
    (Status.AWAITING_CORRECTION, E.CORRECTION_RECEIVED): Status.REGISTERED,
    (Status.AWAITING_CORRECTION, E.CORRECTION_LAPSED): Status.CLOSED,
    (Status.AWAITING_CORRECTION, E.WITHDRAWN): Status.CLOSED,
    (Status.CONSULTING, E.CONSULTATION_STARTED): Status.CONSULTING,
    (Status.CONSULTING, E.CONSULTATION_ENDED): Status.REGISTERED,
    (Status.CONSULTING, E.ANSWERED): Status.CLOSED,
    (Status.CONSULTING, E.WITHDRAWN): Status.CLOSED,
    (Status.AWAITING_FEE, E.FEE_PAID): Status.REGISTERED,
    (Status.AWAITING_FEE, E.FEE_LAPSED): Status.CLOSED,
    (Status.AWAITING_FEE, E.ANSWERED): Status.CLOSED,
    (Status.AWAITING_FEE, E.WITHDRAWN): Status.CLOSED,
}


def test_table_is_exactly_the_rules():
    assert {k: v.target for k, v in TABLE.items()} == TARGET


@pytest.mark.parametrize("state", list(PATHS), ids=lambda s: s.value if s else "new")
@pytest.mark.parametrize("etype", list(E), ids=lambda e: e.value)
def test_every_state_event_pair(state, etype):
    clock = replay(PATHS[state], CAL, POL)
    assert clock.status == state
    event = PROBES[etype]
    if (state, etype) in TARGET:
        after = apply(clock, event, CAL, POL, today=D("2024-12-31"))
        assert after.status == TARGET[(state, etype)]
        assert clock.status == state   # immutable
    else:
        with pytest.raises(Refusal) as exc:
            apply(clock, event, CAL, POL, today=D("2024-12-31"))
        assert exc.value.rule == f"{etype.value}.{state.value if state else 'new'}"
        assert exc.value.message.startswith(f"{etype.value} on {event.on.isoformat()}: ")
        assert exc.value.message_zh


def refused(events, rule, index):
    with pytest.raises(Refusal) as exc:
        replay(events, CAL, POL, today=D("2024-12-31"))
    assert (exc.value.rule, exc.value.event_index) == (rule, index)
    return exc.value


R = Event(E.RECEIVED, D("2024-03-04"), channel=Channel.ONLINE)


def test_correction_once_per_case():
    r = refused([R, Event(E.CORRECTION_REQUESTED, D("2024-03-05")), Event(E.CORRECTION_RECEIVED, D("2024-03-07")),
                 Event(E.CORRECTION_REQUESTED, D("2024-03-08"))], "correction.twice", 3)
    assert r.message == "correction_requested on 2024-03-08: a correction notice was already sent"
    assert r.article == "第三十条"


def test_no_correction_after_extension():
    refused([R, Event(E.EXTENDED, D("2024-03-20"), days=10), Event(E.CORRECTION_REQUESTED, D("2024-03-21"))],
            "correction.after_extension", 2)


def test_extension_once_and_within_1_to_20_days():
    refused([R, Event(E.EXTENDED, D("2024-03-20")), Event(E.EXTENDED, D("2024-03-21"))], "extension.twice", 2)
    refused([R, Event(E.EXTENDED, D("2024-03-20"), days=21)], "extension.days", 1)
    refused([R, Event(E.EXTENDED, D("2024-03-20"), days=0)], "extension.days", 1)


def test_extension_on_the_last_day_allowed_the_day_after_refused():
    # received 2024-03-04: +20 working days = 2024-04-01
    c = replay([R], CAL, POL)
    assert c.due_on(CAL) == D("2024-04-01")
    ok = apply(c, Event(E.EXTENDED, D("2024-04-01"), days=20), CAL, POL)
    assert ok.due_on(CAL) == D("2024-04-29")   # 04-04..06 清明 off; 04-07 and 04-28 (Sundays) worked
    r = refused([R, Event(E.EXTENDED, D("2024-04-02"), days=20)], "extension.after_due", 1)
    assert "2024-04-01" in r.message and r.article == "第三十三条"


def test_dates_in_order_and_not_in_future():
    refused([R, Event(E.ANSWERED, D("2024-03-01"), outcome=Outcome.DISCLOSED)], "date.order", 1)
    with pytest.raises(Refusal) as exc:
        replay([R, Event(E.ANSWERED, D("2024-03-06"), outcome=Outcome.DISCLOSED)], CAL, POL, today=D("2024-03-05"))
    assert exc.value.rule == "date.future"


def test_lapses_only_after_their_period():
    # reply_by 2024-03-08: lapse on 03-08 refused, 03-11 allowed
    refused([R, Event(E.CORRECTION_REQUESTED, D("2024-03-05"), reply_by=D("2024-03-08")),
             Event(E.CORRECTION_LAPSED, D("2024-03-08"))], "correction_lapsed.too_early", 2)
    c = replay([R, Event(E.CORRECTION_REQUESTED, D("2024-03-05"), reply_by=D("2024-03-08")),
                Event(E.CORRECTION_LAPSED, D("2024-03-11"))], CAL, POL)
    assert (c.status, c.outcome) == (Status.CLOSED, Outcome.OTHER_CORRECTION_LAPSED)
    # fee notice 2024-03-05: 20 working days -> 2024-04-02 (清明 04-04/05)
    refused([R, Event(E.FEE_NOTICE, D("2024-03-05"), amount_yuan=100), Event(E.FEE_LAPSED, D("2024-04-02"))],
            "fee_lapsed.too_early", 2)
    c = replay([R, Event(E.FEE_NOTICE, D("2024-03-05"), amount_yuan=100), Event(E.FEE_LAPSED, D("2024-04-03"))],
               CAL, POL)
    assert c.outcome == Outcome.OTHER_FEE_UNPAID and c.late is None


def test_fee_notice_needs_positive_amount_and_once():
    refused([R, Event(E.FEE_NOTICE, D("2024-03-05"), amount_yuan=0)], "fee.amount", 1)
    refused([R, Event(E.FEE_NOTICE, D("2024-03-05"), amount_yuan=10), Event(E.FEE_PAID, D("2024-03-06")),
             Event(E.FEE_NOTICE, D("2024-03-07"), amount_yuan=10)], "fee.twice", 3)


def test_correction_reply_by_default_and_late_notice_flag():
    c = replay([R, Event(E.CORRECTION_REQUESTED, D("2024-03-14"))], CAL, POL)
    assert c.correction_reply_by == D("2024-04-07")   # 15 working days from the notice; Sunday 04-07 worked
    assert c.correction_notice_late is True            # 7 working days from 03-04 is 03-13
    c = replay([R, Event(E.CORRECTION_REQUESTED, D("2024-03-13"))], CAL, POL)
    assert c.correction_notice_late is False
    refused([R, Event(E.CORRECTION_REQUESTED, D("2024-03-13"), reply_by=D("2024-03-12"))],
            "correction.reply_by", 1)


def test_event_parsing_errors_are_refusals():
    for bad in ({"type": "nope", "on": "2024-01-01"}, {"type": "received", "on": "2024-13-01", "channel": "post"},
                {"type": "received", "on": "2024-01-01", "channel": "pigeon"},
                {"type": "answered", "on": "2024-01-01", "outcome": "maybe"},
                {"type": "fee_notice", "on": "2024-01-01", "amount_yuan": "lots"},
                {"type": "extended", "on": "2024-01-01", "days": "20"}):
        with pytest.raises(Refusal) as exc:
            Event.from_dict(bad)
        assert exc.value.rule == "event.invalid"


def test_event_round_trip():
    for ev in PROBES.values():
        assert Event.from_dict(ev.to_dict()) == replace(ev, amount_yuan=ev.amount_yuan and ev.amount_yuan)


def test_recorded_history_is_not_judged_again_under_new_policies_or_calendar():
    """A fee lapse recorded after a 20-working-day payment period stays recorded when the agency later
    sets a 30-day period; an extension granted in time stays granted when a later calendar moves the
    due date before it. New events are still judged strictly."""
    fee = [Event(EventType.RECEIVED, date(2024, 6, 3), channel=Channel.ONLINE),
           Event(EventType.FEE_NOTICE, date(2024, 6, 5), amount_yuan=100),
           Event(EventType.FEE_LAPSED, date(2024, 7, 5))]          # the day after the 20-working-day period
    assert replay(fee, CAL, Policies()).status is Status.CLOSED
    longer = Policies(fee_payment_days=30)
    with pytest.raises(Refusal) as e:
        replay(fee, CAL, longer)
    assert (e.value.rule, e.value.event_index) == ("fee_lapsed.too_early", 2)
    clock = replay(fee, CAL, longer, recorded=True)
    assert (clock.status, clock.outcome) == (Status.CLOSED, Outcome.OTHER_FEE_UNPAID)

    ext = [Event(EventType.RECEIVED, date(2024, 6, 3), channel=Channel.IN_PERSON),
           Event(EventType.EXTENDED, date(2024, 7, 1), days=20)]   # due 2024-07-02: in time
    assert replay(ext, CAL, Policies()).extended_on == date(2024, 7, 1)
    # judged on the day, an extension after the due date is refused ...
    late = ext[:1] + [Event(EventType.EXTENDED, date(2024, 7, 3), days=20)]
    with pytest.raises(Refusal) as e:
        replay(late, CAL, Policies())
    assert e.value.rule == "extension.after_due"
    # ... but as recorded history (granted in time under the calendar then in force) it stands
    assert replay(late, CAL, Policies(), recorded=True).extended_on == date(2024, 7, 3)
    # structural rules still hold for recorded history: a second extension is never valid
    twice = ext + [Event(EventType.EXTENDED, date(2024, 7, 2), days=5)]
    with pytest.raises(Refusal) as e:
        replay(twice, CAL, Policies(), recorded=True)
    assert e.value.rule == "extension.twice"
