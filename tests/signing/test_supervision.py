"""The supervision page's 待签收 columns: how many wait now, and the average hours waited."""

from __future__ import annotations

import re
from datetime import date, datetime

from tests.factories import make_case
from webapp.extensions import db
from webapp.handovers.services import route_case, send_back, sign
from webapp.models import Agency, User
from webapp.models.handover import Handover
from webapp.timeutil import SHANGHAI

from .conftest import applicant


def _cells(html: str, agency_id: int) -> dict[str, str]:
    row = re.search(rf'<tr data-agency="{agency_id}">(.*?)</tr>', html, re.S).group(1)
    return dict(re.findall(r'data-figure="(unsigned|signing_hours)">([^<]*)</td>', row))


def test_supervision_shows_waiting_for_signing_per_department(app, client, world, login, in_app, time_machine):
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    g = {}

    def route():
        gov = db.session.get(Agency, world.gov)
        desk = db.session.get(User, world.users["desk"])
        swj = db.session.get(Agency, world.dept)
        jyj = db.session.get(Agency, world.dept2)
        cases = [make_case(gov, desk, date(2024, 6, 12), applicant=applicant(name=n), items=["预算"],
                           today=date(2024, 6, 12), assigned_to=None) for n in ("甲", "乙", "丙")]
        g["h"] = [route_case(cases[0], desk, swj, "请办理").id, route_case(cases[1], desk, swj, "请办理").id,
                  route_case(cases[2], desk, jyj, "请办理").id]

    in_app(route)
    time_machine.move_to(datetime(2024, 6, 12, 10, 0, tzinfo=SHANGHAI), tick=False)
    in_app(lambda: send_back(db.session.get(Handover, g["h"][2]), db.session.get(User, world.users["clerk2"]),
                             "不属于本局"))
    time_machine.move_to(datetime(2024, 6, 12, 12, 0, tzinfo=SHANGHAI), tick=False)
    in_app(lambda: sign(db.session.get(Handover, g["h"][0]), db.session.get(User, world.users["clerk"])))
    login(world.users["desk"])
    html = client.get("/supervision/").get_data(as_text=True)
    assert _cells(html, world.dept) == {"unsigned": "1", "signing_hours": "3"}
    assert _cells(html, world.dept2) == {"unsigned": "0", "signing_hours": "1"}
    total = re.search(r'<tr data-agency="total">(.*?)</tr>', html, re.S).group(1)
    assert dict(re.findall(r'data-figure="(unsigned|signing_hours)">([^<]*)</td>', total)) == {
        "unsigned": "1", "signing_hours": "2"}

