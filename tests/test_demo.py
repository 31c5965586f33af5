"""The demo installation (webapp/demo.py, ``flask seed-demo``): a year of cases played through the
services leaves the backlog a real office has - a few cases overdue, some due within days, correction
notices to send - so a clerk trying the demo sees the dashboard's warnings and the overdue list (and
bench/province.py's baseline has them as the province has)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from webapp import demo
from webapp.cases.services import case_clock
from webapp.cases.services.calendar import current_calendar
from webapp.extensions import db
from webapp.models import Case, User
from webapp.timeutil import SHANGHAI


def _section(html: str, section_id: str) -> list[str]:
    m = re.search(rf'<section class="panel" id="{section_id}">(.*?)</section>', html, re.S)
    assert m, section_id
    return re.findall(r">(DEMO-ZFB-\d{4}-\d{4})</a>", m.group(1))


@pytest.mark.time_machine(datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_the_demo_leaves_a_few_cases_overdue_and_some_due_soon(app, login, today):
    with app.app_context():
        demo.seed(n_cases=120, today=today)
        db.session.commit()
        cal = current_calendar()
        cases = list(db.session.scalars(select(Case).order_by(Case.id)))
        # the clock rules' own reading of each case's history, not the query columns
        overdue = [c.number for c in cases if case_clock(c, cal).is_overdue(cal, today)]
        still_open = {c.number: (c.status, c.due_on.isoformat()) for c in cases if c.status != "closed"}
        clerk = db.session.scalar(select(User.id).where(User.username == "clerk"))
        db.session.remove()
    assert len(cases) == 88
    assert overdue == ["DEMO-ZFB-2026-0071", "DEMO-ZFB-2026-0074", "DEMO-ZFB-2026-0077"]
    # the backlog on a Monday: received 38, 32 and 24 working days ago and not answered (a period is
    # 20 working days), one due this week, one after a consultation, and the last days' cases
    assert still_open == {"DEMO-ZFB-2026-0071": ("registered", "2026-11-11"),
                          "DEMO-ZFB-2026-0074": ("registered", "2026-11-19"),
                          "DEMO-ZFB-2026-0077": ("registered", "2026-12-01"),
                          "DEMO-ZFB-2026-0078": ("registered", "2026-12-17"),
                          "DEMO-ZFB-2026-0079": ("registered", "2026-12-10"),
                          "DEMO-ZFB-2026-0081": ("registered", "2026-12-23"),
                          "DEMO-ZFB-2026-0082": ("registered", "2026-12-28"),
                          "DEMO-ZFB-2026-0083": ("registered", "2026-12-31"),
                          "DEMO-ZFB-2026-0084": ("registered", "2027-01-04")}
    page = login(clerk).get("/").text
    assert _section(page, "overdue") == overdue                       # the earliest due first
    assert _section(page, "due-soon") == ["DEMO-ZFB-2026-0079"]
    assert _section(page, "notices-due") == ["DEMO-ZFB-2026-0082"]
    listed = re.findall(r">(DEMO-ZFB-\d{4}-\d{4})</a>", login(clerk).get("/cases?list=overdue").text)
    assert listed == overdue                                          # the dashboard's order
