"""Due dates, days left, pauses, restarts and explanations (rules.md §1, §4)."""

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.data import EXAMPLES
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import Status
from webapp.domain.outcomes import Outcome
from webapp.domain.policies import Policies
from webapp.domain.workflow import Channel, Event, EventType, Party, replay

CAL = WorkCalendar.default()
POL = Policies()
D = date.fromisoformat
E = EventType


def R(on):
    return Event(E.RECEIVED, D(on), channel=Channel.IN_PERSON)


def test_pause_across_national_day_takes_out_only_working_days_inside_it():
    # received 2023-09-20; consultation 09-22 -> 10-12 (pause S < d <= E)
    evs = [R("2023-09-20"), Event(E.CONSULTATION_STARTED, D("2023-09-22"), party=Party.THIRD_PARTY),
           Event(E.CONSULTATION_ENDED, D("2023-10-12"))]
    c = replay(evs, CAL, POL)
    # counted before the pause: 09-21, 09-22 = 2; 18 left from 10-12
    assert c.counted(CAL, D("2023-10-12")) == 2
    assert c.due_on(CAL) == D("2023-11-07")
    assert c.working_days_left(CAL, D("2023-10-13")) == 17


def test_paused_clock_has_no_due_date_but_keeps_days_left():
    evs = [R("2024-06-03"), Event(E.FEE_NOTICE, D("2024-06-06"), amount_yuan=700)]
    c = replay(evs, CAL, POL)
    assert c.derived(CAL, D("2024-06-10")) == {"status": "awaiting_fee", "due_on": None, "working_days_left": 17,
                                              "closed_on": None, "outcome": None, "late": None}


def test_fee_does_not_pause_when_policy_off():
    pol = Policies(fee_pauses_clock=False)
    c = replay([R("2024-06-03"), Event(E.FEE_NOTICE, D("2024-06-06"), amount_yuan=700)], CAL, pol)
    assert c.status == Status.AWAITING_FEE and not c.paused
    assert c.working_days_left(CAL, D("2024-06-14")) == 12   # 8 counted: 06-10 is 端午
    # the clock runs, so the due date stands (interchange.md: null only when closed, awaiting a
    # correction or paused): 20 working days from 06-03, 端午 skipped
    assert c.due_on(CAL) == D("2024-07-02")
    assert c.derived(CAL, D("2024-06-14"))["due_on"] == "2024-07-02"


def test_correction_restarts_from_zero_across_the_year_boundary():
    evs = [R("2024-12-23"), Event(E.CORRECTION_REQUESTED, D("2024-12-25")),
           Event(E.CORRECTION_RECEIVED, D("2025-01-06"))]
    c = replay(evs, CAL, POL)
    assert c.start == D("2025-01-06")
    assert c.due_on(CAL) == D("2025-02-08")   # across Spring Festival, make-up Saturday 02-08 counted
    assert c.working_days_left(CAL, D("2025-01-08")) == 18


def test_answer_during_pause_is_judged_as_if_the_pause_ended_that_day():
    evs = [R("2024-05-13"), Event(E.CONSULTATION_STARTED, D("2024-05-20"), party=Party.THIRD_PARTY),
           Event(E.ANSWERED, D("2024-07-01"), outcome=Outcome.WITHHELD_THIRD_PARTY)]
    c = replay(evs, CAL, POL)
    assert c.due_at_close == D("2024-07-22") and c.late is False


def test_late_answer():
    c = replay([Event(E.RECEIVED, D("2024-08-05"), channel=Channel.POST),
                Event(E.ANSWERED, D("2024-09-05"), outcome=Outcome.UNAVAILABLE_NOT_HELD)], CAL, POL)
    assert (c.due_at_close, c.late) == (D("2024-09-02"), True)


def test_on_the_spot_answer():
    c = replay([R("2024-02-26"), Event(E.ANSWERED, D("2024-02-26"), outcome=Outcome.DISCLOSED)], CAL, POL)
    assert (c.status, c.closed_on, c.late) == (Status.CLOSED, D("2024-02-26"), False)


def test_explanation_names_skipped_days_makeup_days_and_pauses():
    evs = [R("2023-09-25")]
    c = replay(evs, CAL, POL)
    [resp, notice] = c.deadlines(CAL, POL, D("2023-09-25"))
    ex = resp.explanation
    assert ex.due_on == D("2023-10-27")
    assert ex.makeup_days == (D("2023-10-07"), D("2023-10-08"))
    assert ex.counts() == {"weekend": 4, "holiday": 8, "pause": 0}
    text = ex.text_zh()
    assert "自2023-09-25次日起算20个工作日，答复期限至2023-10-27届满" in text
    assert "法定节假日8天（中秋节、国庆节）" in text
    assert "调休上班日计入：2023-10-07、2023-10-08" in text
    assert ex.calendar_version in text
    assert "所用日历：2023年国务院放假安排" in text
    assert ex.to_dict()["years"] == [2023]
    assert notice.kind == "correction_notice" and notice.due_on == D("2023-10-10")


def test_provisional_deadline_is_marked():
    c = replay([R("2026-12-14")], CAL, POL)
    [resp, _notice] = c.deadlines(CAL, POL, D("2026-12-14"))
    assert resp.provisional and resp.explanation.provisional_years == (2027,)
    assert "2027年放假安排尚未发布" in resp.explanation.text_zh()
    assert resp.due_on == D("2027-01-12")   # 2027-01-01 元旦 (statutory) skipped


@pytest.mark.parametrize("name", ["small-year", "seed-agency-2023"])
def test_examples_derived_fields_by_the_domain_alone(name):
    doc = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    exp = json.loads((EXAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))
    cases = {c["ref"]: c for c in doc["cases"]}
    n = 0
    for x in exp["exports"]:
        as_of = D(x["as_of"])
        for ref, want in x["cases"].items():
            clock = replay([Event.from_dict(e) for e in cases[ref]["events"]], CAL, POL, as_of=as_of)
            assert clock.derived(CAL, as_of) == want, (as_of, ref)
            n += 1
    assert n == sum(len(x["cases"]) for x in exp["exports"])


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=D("2022-01-01"), max_value=D("2026-06-30")), st.integers(0, 25), st.integers(0, 30))
def test_a_pause_never_makes_a_due_date_earlier(received, start_after, length):
    base = replay([Event(E.RECEIVED, received, channel=Channel.ONLINE)], CAL, POL)
    s = CAL.add_workdays(received, start_after) if start_after else received
    e = CAL.add_workdays(s, length) if length else s
    paused = replay([Event(E.RECEIVED, received, channel=Channel.ONLINE),
                     Event(E.CONSULTATION_STARTED, s, party=Party.AGENCY),
                     Event(E.CONSULTATION_ENDED, e)], CAL, POL)
    assert paused.due_on(CAL) >= base.due_on(CAL)
    # and it moves by exactly the working days paused while the clock still had days left
    if start_after < 20:
        assert CAL.workdays_between(base.due_on(CAL), paused.due_on(CAL)) == CAL.workdays_between(s, e)
