"""The clerks' queue of online submissions: who sees it, who may confirm, reject and route, and the
dashboard partial."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Agency, AuditLog, Case
from webapp.models.submission import Submission
from webapp.public.services import clean_submission, create_submission, store_file
from webapp.timeutil import SHANGHAI

from .conftest import applicant, pdf_bytes


@pytest.fixture
def submitted(in_app, world):
    """Make a submission to the agency with this code; return its id."""

    def make(code: str = "SWJ", **over) -> int:
        def go() -> int:
            agency = db.session.scalar(select(Agency).where(Agency.code == code))
            files = [store_file("证明.pdf", pdf_bytes())]
            clean = clean_submission(applicant(**over), ["2023年度部门预算"], "email", "email", files)
            return create_submission(agency, clean).submission.id

        return in_app(go)

    return make


def get_sub(app, sid: int) -> Submission:
    with app.app_context():
        sub = db.session.get(Submission, sid)
        db.session.expunge(sub)
        return sub


def test_clerk_sees_the_queue_with_its_age(app, client, world, login, submitted, time_machine):
    time_machine.move_to(datetime(2024, 6, 7, 15, 0, tzinfo=SHANGHAI), tick=False)   # a Friday
    sid = submitted()
    time_machine.move_to(datetime(2024, 6, 13, 9, 0, tzinfo=SHANGHAI), tick=False)
    login(world.users["clerk"])
    html = client.get("/queue/").get_data(as_text=True)
    number = get_sub(app, sid).number
    assert number in html and "3 个工作日" in html and "1101**********002X" in html
    assert "11010519491231002X" not in html                      # masked in the list
    html = client.get(f"/queue/{sid}").get_data(as_text=True)
    assert "11010519491231002X" in html and "确认受理" in html and "证明.pdf" in html
    with app.app_context():
        logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "personal.view"))
        assert logged.target_id == number and logged.user_id == world.users["clerk"]


def test_the_full_identity_is_for_the_receiving_agencys_users(app, client, world, login, submitted):
    """The government's desk and auditor see a department's queue, masked; the department's own
    users see the full values (each opening logged)."""
    sid = submitted()
    number = get_sub(app, sid).number
    for who in ("desk", "gov_auditor"):
        login(world.users[who])
        html = client.get(f"/queue/{sid}").get_data(as_text=True)
        assert number in html and "1101**********002X" in html and "11010519491231002X" not in html
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "personal.view")) is None


def test_confirm_from_the_queue(app, client, world, login, submitted, time_machine):
    sid = submitted()
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    login(world.users["clerk"])
    version = get_sub(app, sid).version
    r = client.post(f"/queue/{sid}/confirm", data={"version": version})
    assert r.status_code == 302
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert r.headers["Location"].endswith(f"/cases/{case.id}")
        assert case.received_on.isoformat() == "2024-06-12" and case.channel == "online"
        assert case.assigned_to_id == world.users["clerk"]
    # a second confirmation (a stale page) changes nothing
    r = client.post(f"/queue/{sid}/confirm", data={"version": version}, follow_redirects=True)
    assert "已被他人处理" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 1


def test_file_download_for_staff(app, client, world, login, submitted):
    sid = submitted()
    login(world.users["clerk"])
    with app.app_context():
        fid = db.session.get(Submission, sid).files[0].id
    with client.get(f"/queue/{sid}/files/{fid}") as r:
        assert r.status_code == 200 and r.data.startswith(b"%PDF-")
        assert "attachment" in r.headers["Content-Disposition"]
    login(world.users["other_clerk"])
    assert client.get(f"/queue/{sid}/files/{fid}").status_code == 404


@pytest.mark.parametrize(("who", "view", "act"), [
    ("clerk", 200, 302), ("approver", 200, 302), ("admin", 200, 403), ("auditor", 200, 403),
    ("other_clerk", 404, 404), ("clerk2", 404, 404),
    ("desk", 200, 403),            # the government sees its departments' queues, but acts on its own only
])
def test_who_may_see_and_confirm(app, client, world, login, submitted, who, view, act):
    sid = submitted("SWJ")
    login(world.users[who])
    assert client.get(f"/queue/{sid}").status_code == view
    r = client.post(f"/queue/{sid}/confirm", data={"version": 1})
    assert r.status_code == act
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == (1 if act == 302 else 0)


def test_anonymous_is_sent_to_login(client, world, submitted):
    sid = submitted()
    r = client.get(f"/queue/{sid}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post(f"/queue/{sid}/confirm").status_code == 302


def test_reject_needs_a_reason(app, client, world, login, submitted):
    sid = submitted()
    login(world.users["clerk"])
    r = client.post(f"/queue/{sid}/reject", data={"version": 1, "reason": " "}, follow_redirects=True)
    assert "请填写不予受理的理由" in r.get_data(as_text=True)
    assert get_sub(app, sid).status == "submitted"
    r = client.post(f"/queue/{sid}/reject", data={"version": 1, "reason": "广告内容"}, follow_redirects=True)
    assert "已标记为不予受理" in r.get_data(as_text=True)
    sub = get_sub(app, sid)
    assert sub.status == "rejected" and sub.reject_reason == "广告内容"


def test_the_desk_routes_to_a_department(app, client, world, login, submitted):
    sid = submitted("SZF")
    login(world.users["desk"])
    html = client.get(f"/queue/{sid}").get_data(as_text=True)
    assert re.search(r'<option value="\d+">示范市教育局</option>', html)
    assert re.search(r'<option value="\d+">示范市商务局</option>', html)
    r = client.post(f"/queue/{sid}/route", data={"version": 1, "target": str(world.dept), "note": "请商务局办理"},
                    follow_redirects=True)
    assert "已分办至 示范市商务局" in r.get_data(as_text=True)
    sub = get_sub(app, sid)
    assert sub.status == "routed" and sub.agency_id == world.dept and sub.routing_log[0]["note"] == "请商务局办理"
    # the desk still sees it (waiting for 签收); the department signs for it, then confirms it
    html = client.get("/queue/").get_data(as_text=True)
    assert sub.number in html and "分办待签收" in html
    assert client.post(f"/queue/{sid}/confirm", data={"version": sub.version}).status_code == 403
    login(world.users["clerk"])
    assert "分办记录" in client.get(f"/queue/{sid}").get_data(as_text=True)
    with app.app_context():
        from webapp.models.handover import Handover

        hid = db.session.scalar(select(Handover.id))
    assert client.post(f"/handovers/{hid}/sign").status_code == 302
    sub = get_sub(app, sid)
    assert client.post(f"/queue/{sid}/confirm", data={"version": sub.version}).status_code == 302
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert [e.type for e in sorted(case.events, key=lambda e: e.seq)] == ["received", "routed", "notice_sent"]


def test_routing_to_an_unrelated_agency_is_refused(app, client, world, login, submitted):
    sid = submitted("SZF")
    login(world.users["desk"])
    r = client.post(f"/queue/{sid}/route", data={"version": 1, "target": str(world.other), "note": "x"},
                    follow_redirects=True)
    assert "只能分办给本级政府的所属部门" in r.get_data(as_text=True)
    r = client.post(f"/queue/{sid}/route", data={"version": 1, "target": "abc", "note": "x"}, follow_redirects=True)
    assert "只能分办给本级政府的所属部门" in r.get_data(as_text=True)
    assert get_sub(app, sid).status == "submitted"


def test_the_dashboard_partial(app, world, submitted):
    submitted("SWJ")
    submitted("SWJ", name="李四", id_number=None)
    from flask_login import login_user

    from webapp.models import User

    with app.test_request_context("/"):
        login_user(db.session.get(User, world.users["clerk"]))
        html = render_template_string('{% include "public/_queue_summary.html" %}')
        assert "<strong>2</strong> 件待确认" in html and "最早一件已等待 <strong>0</strong> 个工作日" in html
        assert 'href="/queue/"' in html
        db.session.remove()
    with app.test_request_context("/"):
        login_user(db.session.get(User, world.users["clerk2"]))
        assert "没有待确认的网上申请" in render_template_string('{% include "public/_queue_summary.html" %}')
        db.session.remove()
    with app.test_request_context("/"):
        assert "网上申请待确认" not in render_template_string('{% include "public/_queue_summary.html" %}')
