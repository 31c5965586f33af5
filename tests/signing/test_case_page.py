"""转办 from the case page, and the case history's 签收 events."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select

from tests.factories import make_case
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.models.handover import Handover
from webapp.timeutil import SHANGHAI

from .conftest import applicant


def test_route_a_case_from_its_page_then_signed_shows_in_the_history(app, client, world, login, in_app,
                                                                       time_machine):
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)

    def register():
        gov = db.session.get(Agency, world.gov)
        desk = db.session.get(User, world.users["desk"])
        return make_case(gov, desk, date(2024, 6, 12), applicant=applicant(), items=["2023年度部门预算"],
                         today=date(2024, 6, 12), assigned_to=None).id

    case_id = in_app(register)
    login(world.users["desk"])
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert re.search(r'<select name="target" id="route-target"><option value="\d+">示范市教育局</option>'
                     r'<option value="\d+">示范市商务局</option></select>', page)
    r = client.post(f"/handovers/case/{case_id}/route", data={"target": str(world.dept), "note": ""},
                    follow_redirects=True)
    assert "请填写转办说明" in r.get_data(as_text=True)
    r = client.post(f"/handovers/case/{case_id}/route", data={"target": str(world.dept), "note": "请商务局办理"},
                    follow_redirects=True)
    assert "已转办至 示范市商务局" in r.get_data(as_text=True) and "待对方签收" in r.get_data(as_text=True)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已转办至示范市商务局，待签收（0个工作日（0小时））" in page and 'id="route-target"' not in page
    # the department: not its case before 签收
    login(world.users["clerk"])
    assert client.get(f"/cases/{case_id}").status_code == 404
    hid = in_app(lambda: db.session.scalar(select(Handover.id)))
    time_machine.move_to(datetime(2024, 6, 12, 11, 0, tzinfo=SHANGHAI), tick=False)
    login(world.users["clerk"])                   # (the idle session timed out meanwhile)
    assert client.post(f"/handovers/{hid}/sign").status_code == 302
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "签收机关" in page and "0个工作日（2小时）" in page
    assert in_app(lambda: db.session.get(Case, case_id).due_on) == date(2024, 7, 10)
