"""The agency profile and policies, and the holiday calendar: entering a year's notice moves deadlines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.conftest import sign_in
from tests.factories import agency_case
from webapp.admin.services import agency_admin
from webapp.domain.workflow import Event, EventType, Party
from webapp.errors import Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import Agency, AuditLog, CalendarYear, Case, CaseEvent, User
from webapp.timeutil import SHANGHAI

POLICIES = {"correction_period_days": "15", "fee_payment_days": "20", "fee_pauses_clock": "y",
            "multi_item_outcome": "application", "appeal_year": "filed"}


def test_agency_admin_edits_own_profile_only(app, client, world):
    sign_in(client, world.a.users["admin"])
    assert client.get("/admin/agencies").status_code == 302   # straight to its own agency
    assert client.get(f"/admin/agencies/{world.b.agency_id}").status_code == 404
    r = client.post(f"/admin/agencies/{world.a.agency_id}", data={
        "name": "临淄区商务局", "address": "新地址1号", "postcode": "255401", "phone": "0533-7777777",
        "email": "swj@example.gov.cn", "kind": "government", "parent_id": ""})
    assert r.status_code == 302
    with app.app_context():
        a = db.session.get(Agency, world.a.agency_id)
        # the address changed; kind and parent are for a government-level administrator only
        assert (a.address, a.postcode, a.kind, a.parent_id) == ("新地址1号", "255401", "department", world.gov_id)
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.agency_updated"))
        assert row.detail["changes"]["address"] == ["临淄区商务局办公楼", "新地址1号"]
        assert "kind" not in row.detail["changes"]
        with pytest.raises(Forbidden):
            agency_admin.update_profile(db.session.get(User, world.a.users["admin"]), a, {"kind": "government"})
    r = client.post(f"/admin/agencies/{world.a.agency_id}", data={"name": "临淄区商务局", "postcode": "2554"})
    assert r.status_code == 422 and "邮政编码应为6位数字" in r.get_data(as_text=True)


def test_government_admin_sets_kind_and_parent_without_cycles(app, client, world):
    sign_in(client, world.gov_admin_id)
    r = client.post(f"/admin/agencies/{world.b.agency_id}", data={
        "name": "张店区教育局", "address": "", "postcode": "", "phone": "", "email": "",
        "kind": "department", "parent_id": str(world.gov_id)})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Agency, world.b.agency_id).parent_id == world.gov_id
        gov_admin = db.session.get(User, world.gov_admin_id)
        gov = db.session.get(Agency, world.gov_id)
        with pytest.raises(ServiceError) as e:
            agency_admin.update_profile(gov_admin, gov, {"kind": "government", "parent_id": gov.id})
        assert e.value.rule == "agency.parent"
    r = client.post("/admin/agencies/new", data={"code": "lz-wjw", "name": "临淄区卫健局", "kind": "department",
                                                 "parent_id": str(world.gov_id)})
    assert r.status_code == 302
    with app.app_context():
        a = db.session.scalar(select(Agency).where(Agency.code == "LZ-WJW"))
        assert (a.name, a.parent_id, a.policy().correction_period_days) == ("临淄区卫健局", world.gov_id, 15)
    sign_in(client, world.a.users["admin"])
    assert client.get("/admin/agencies/new").status_code == 403


def test_policies_change_is_validated_logged_and_moves_fee_deadline(app, client, world, today):
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today,
                         events=[Event(EventType.FEE_NOTICE, date(2024, 6, 5), amount_yuan=Decimal(100))])
        db.session.commit()
        case_id, number, fee_due = case.id, case.number, case.fee_due_on
    assert fee_due == date(2024, 7, 4)   # 20 working days from the day after the notice
    sign_in(client, world.a.users["admin"])
    r = client.post(f"/admin/agencies/{world.a.agency_id}/policies", data={**POLICIES, "fee_payment_days": "10"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert number in html and "2024-07-04" in html and "2024-06-20" in html
    # the one wording of the fee deadline (domain/labels.py; this table said 缴费截止日 before)
    assert "<td>缴费期限</td>" in html
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.fee_due_on == date(2024, 6, 20)
        assert db.session.get(Agency, world.a.agency_id).policies["fee_payment_days"] == 10
        ev = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                       CaseEvent.type == "deadline_moved"))
        assert ev.payload["changes"]["fee_due_on"] == ["2024-07-04", "2024-06-20"]
        assert "缴费期限" in ev.payload["reason"]
        log = db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.policies_updated"))
        assert log.detail["changes"] == {"fee_payment_days": [20, 10]}
        assert log.detail["moved_cases"] == [number]
    r = client.post(f"/admin/agencies/{world.a.agency_id}/policies", data={**POLICIES, "correction_period_days": "0"})
    assert r.status_code == 422
    with app.app_context():
        assert db.session.get(Agency, world.a.agency_id).policies["correction_period_days"] == 15
    # unchecked boxes are False, not the default
    r = client.post(f"/admin/agencies/{world.a.agency_id}/policies",
                    data={k: v for k, v in POLICIES.items() if k != "fee_pauses_clock"})
    with app.app_context():
        assert db.session.get(Agency, world.a.agency_id).policy().fee_pauses_clock is False


NOTICE_2027 = {
    "title": "国务院办公厅关于2027年部分节假日安排的通知",
    "issued_on": "2026-11-10",
    "days_off": "2027-01-01 至 2027-01-04 元旦\n2027-02-06 至 2027-02-12 春节",
    "makeup_days": "2027-02-20",
}


@pytest.mark.time_machine(datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_a_paused_cases_due_date_if_resumed_is_logged_when_the_notice_moves_it(app, client, world, today):
    """In consultation (clock paused), a case has no running due date, but the date it would have
    if the pause ended today moves with the notice: that is logged on the case too."""
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2026, 12, 21), today,
                         events=[Event(EventType.CONSULTATION_STARTED, date(2026, 12, 23),
                                          party=Party.THIRD_PARTY)])
        db.session.commit()
        case_id, number = case.id, case.number
        assert (case.status, case.due_on) == ("consulting", None)
    sign_in(client, world.gov_admin_id)
    r = client.post("/admin/calendar/2027", data=NOTICE_2027)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert number in html and "答复期限（暂停中；若今日恢复计算）" in html
    with app.app_context():
        [ev] = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                          CaseEvent.type == "deadline_moved")).all()
        # 20 working days from 12-21, 12-22 and 12-23 counted before the pause, the rest from 12-29 on:
        # 2027-01-01 alone off (provisional) gives 01-22; the notice's 01-01 to 01-04 gives 01-25
        assert ev.payload["changes"] == {"consultation_due_on": ["2027-01-14", "2027-01-15"],
                                         "due_if_resumed": ["2027-01-22", "2027-01-25"]}


@pytest.mark.time_machine(datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_entering_next_years_notice_moves_open_deadlines(app, client, world, today):
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2026, 12, 21), today)
        closed = agency_case(world.a.agency_id, date(2026, 12, 22), today,
                           events=[Event(EventType.WITHDRAWN, date(2026, 12, 23))])
        db.session.commit()
        case_id, number = case.id, case.number
        assert (case.due_on, case.due_provisional) == (date(2027, 1, 19), True)
        closed_id = closed.id
    sign_in(client, world.gov_admin_id)
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "尚未录入2027年" in page and "暂按法定节日推算" in page

    r = client.post("/admin/calendar/2027", data=NOTICE_2027)
    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert "期限变动的办理中案件：1 件" in html
    assert number in html and "2027-01-19" in html and "2027-01-20" in html
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.due_on, case.due_provisional) == (date(2027, 1, 20), False)
        [ev] = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                          CaseEvent.type == "deadline_moved")).all()
        assert ev.payload["changes"]["due_on"] == ["2027-01-19", "2027-01-20"]
        assert ev.payload["changes"]["due_provisional"] == [True, False]
        assert ev.payload["reason"] == "录入2027年节假日安排：国务院办公厅关于2027年部分节假日安排的通知"
        assert ev.actor_id == world.gov_admin_id
        assert db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == closed_id,
                                                         CaseEvent.type == "deadline_moved")) is None
        row = db.session.get(CalendarYear, 2027)
        assert row.makeup_days == ["2027-02-20"]
        assert len(row.days_off) == 11 and row.days_off[0] == ["2027-01-01", "元旦"]
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "尚未录入2027年" not in page and "管理员录入" in page
    assert page.count("撤销录入") == 1 and "/admin/calendar/2027/remove" in page   # the one NoticeSource.ADMIN row
    year_page = client.get("/admin/calendar/2027").get_data(as_text=True)
    assert "目前：管理员录入。" in year_page

    # entering the same notice again moves nothing
    r = client.post("/admin/calendar/2027", data=NOTICE_2027)
    assert "期限变动的办理中案件：0 件" in r.get_data(as_text=True)

    # removing it: back to provisional, the deadline moves back and is logged again
    r = client.post("/admin/calendar/2027/remove")
    assert r.status_code == 200 and "2027-01-19" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Case, case_id).due_on == date(2027, 1, 19)
        assert db.session.get(CalendarYear, 2027) is None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("makeup_days", "2027-02-22", "调休上班日 2027-02-22 不是周六或周日"),
    ("makeup_days", "2027-01-02", "2027-01-02 不能既是放假日又是调休上班日"),
    ("days_off", "2026-11-30 元旦", "2026-11-30 不在2027年内（通知可含上年12月的日期）"),
    ("days_off", "2027-01-01 至 2027-01-03", "请填写节日名称"),
    ("days_off", "2027-01-05 至 2027-01-01 元旦", "结束日期早于开始日期"),
    ("days_off", "2027-01-01 元旦\n2027-01-01 元旦", "2027-01-01 重复列出"),
    ("days_off", "一月一日 元旦", "格式应为"),
    ("makeup_days", "2027-02-30", "不是有效日期"),
])
def test_notice_validation(app, client, world, field, value, message):
    sign_in(client, world.gov_admin_id)
    r = client.post("/admin/calendar/2027", data={**NOTICE_2027, "issued_on": "", field: value})
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CalendarYear, 2027) is None


def test_library_year_can_be_overridden_and_is_shown_for_editing(app, client, world):
    sign_in(client, world.a.users["admin"])
    page = client.get("/admin/calendar/2024").get_data(as_text=True)
    assert "2024-02-10 至 2024-02-17 春节" in page and "2024-02-04" in page
    assert client.get("/admin/calendar/1999").status_code == 404


def test_policies_form_covers_every_policy_with_its_chinese_label():
    from dataclasses import fields

    from webapp.admin.forms import PoliciesForm
    from webapp.domain.policies import Policies

    names = [f.name for f in fields(Policies)]
    assert set(names) <= set(PoliciesForm.__dict__)
    assert set(Policies.LABELS_ZH) == set(names)
    for name in names:
        assert PoliciesForm.__dict__[name].args[0] == Policies.LABELS_ZH[name]


@pytest.mark.time_machine(datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_only_the_installations_administrator_changes_the_calendar(app, client, world, today):
    """The holiday calendar is everybody's: a department's administrator under the government, or the
    administrator of one of several independent agencies, may read it but not change it."""
    with app.app_context():
        case = agency_case(world.b.agency_id, date(2026, 12, 21), today)
        db.session.commit()
        case_id, due = case.id, case.due_on
    for admin in (world.a.users["admin"], world.b.users["admin"]):
        sign_in(client, admin)
        assert client.get("/admin/calendar/2027").status_code == 200
        assert client.post("/admin/calendar/2027", data=NOTICE_2027).status_code == 403
    with app.app_context():
        assert db.session.get(CalendarYear, 2027) is None
        assert db.session.get(Case, case_id).due_on == due
    sign_in(client, world.gov_admin_id)
    assert client.post("/admin/calendar/2027", data=NOTICE_2027).status_code == 200
    sign_in(client, world.a.users["admin"])
    assert client.post("/admin/calendar/2027/remove").status_code == 403
    with app.app_context():
        assert db.session.get(CalendarYear, 2027) is not None
