"""Year-on-year figures and the SVG chart geometry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.factories import make_case
from webapp.cases.services import record_event
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.reporting import charts
from webapp.reporting.services.yoy import median_of_histogram, year_on_year

TODAY = date(2026, 1, 5)


@pytest.mark.parametrize(("hist", "median"), [
    ({}, None), ({5: 1}, Decimal(5)), ({3: 1, 9: 1}, Decimal(6)), ({3: 1, 4: 1}, Decimal("3.5")),
    ({1: 2, 10: 1}, Decimal(1)), ({1: 1, 2: 2, 30: 1}, Decimal(2)), ({7: 100, 8: 100}, Decimal("7.5")),
])
def test_median_of_histogram(hist, median):
    assert median_of_histogram(hist) == median


def test_year_on_year_figures(make_agency):
    agency = make_agency()
    person = {"kind": "natural_person", "name": "甲", "phone": "1"}

    def case(received: date, *events: Event):
        c = make_case(agency, None, received, applicant=person, items=["x"], channel="online", today=TODAY)
        for e in events:
            record_event(c, e, today=TODAY)
        return c

    ans = EventType.ANSWERED
    # 2024: three answers (one late, one with a correction pause), a withdrawal; 2023: one answer
    case(date(2024, 3, 4), Event(type=ans, on=date(2024, 3, 8), outcome=Outcome.DISCLOSED))          # 4 days
    case(date(2024, 3, 11), Event(type=ans, on=date(2024, 5, 6), outcome=Outcome.WITHHELD_THIRD_PARTY))  # late
    case(date(2024, 7, 1),
         Event(type=EventType.CORRECTION_REQUESTED, on=date(2024, 7, 3)),
         Event(type=EventType.CORRECTION_RECEIVED, on=date(2024, 7, 10)),
         Event(type=ans, on=date(2024, 7, 12), outcome=Outcome.UNAVAILABLE_NOT_HELD))
    case(date(2024, 12, 2), Event(type=EventType.WITHDRAWN, on=date(2024, 12, 3)))
    case(date(2023, 1, 9), Event(type=ans, on=date(2023, 1, 20), outcome=Outcome.PARTIAL))
    case(date(2024, 12, 30))                                                                     # still open
    figures = year_on_year([agency.id], 2024)
    assert [f.year for f in figures] == [2020, 2021, 2022, 2023, 2024]
    f23, f24 = figures[3], figures[4]
    assert f24.months == [0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 2] and f24.received == 5
    assert f23.months[0] == 1
    assert f24.outcomes == {"disclosed": 1, "partial": 0, "withheld": 1, "unavailable": 1, "not_processed": 0,
                            "other": 1}
    assert (f24.answers, f24.on_time) == (3, 2)          # the withdrawal is not an answer
    assert f24.on_time_rate == Decimal("66.7")
    # working days to answer, paused days left out: 4, >20 (late), 4 - (pause 7/3..7/10: 5 days) ...
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Case

    days = sorted(d for d in db.session.scalars(select(Case.days_to_answer).where(
        Case.late.is_not(None), Case.closed_on >= date(2024, 1, 1))))
    assert f24.median_days == Decimal(days[1])
    assert days[0] <= 4 < 20 < days[2]
    assert f23.answers == 1 and f23.on_time_rate == Decimal("100.0")
    assert figures[0].on_time_rate is None and figures[0].median_days is None


def test_charts_geometry():
    line = charts.line_chart("每月收到申请数", "件", [f"{m}月" for m in range(1, 13)],
                             [("2023", [0] * 12), ("2024", [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 9])])
    assert [m.kind for m in line.marks].count("polyline") == 2 and [m.kind for m in line.marks].count("circle") == 24
    assert line.yticks[-1][1] == "10" and not line.empty
    assert line.legend == [("series-0", "2023年"), ("series-1", "2024年")]
    bars = charts.bar_chart("按时答复率", "%", [("2023年", Decimal("50.0")), ("2024年", None)], top=100, suffix="%")
    (rect,) = [m for m in bars.marks if m.kind == "rect"]
    _x0, y0, _x1, y1 = bars.plot
    assert rect.h == pytest.approx((y1 - y0) / 2, abs=0.1)
    assert bars.values[1][2] == "—" and rect.title == "2023年：50%"
    stacked = charts.stacked_chart("办理结果", "件", ["2023年", "2024年"], [("予以公开", [1, 2]), ("部分公开", [0, 3])])
    assert len(stacked.marks) == 3 and [v[2] for v in stacked.values] == ["1", "5"]
    assert charts.nice_max(0) == (1.0, 0.25) and charts.nice_max(7) == (8, 2) and charts.nice_max(130) == (200, 50)
