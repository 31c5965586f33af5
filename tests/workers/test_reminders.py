"""The reminder sweep as a service (no worker): what it selects as of a day, who hears of it, that
each reminder exists once, and the mail it writes to the outbox. Runs on SQLite and PostgreSQL.

Dates: a case received Monday 2024-06-03 has its correction-notice window end on 2024-06-13 (Art.
30: 7 working days; 2024-06-10 is the Dragon Boat Festival) and its answer due on 2024-07-02.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import ID_NUMBER, PHONE, act, make_agency, make_staff, make_user, paper_case, work_email
from webapp.cases.services.calendar import current_calendar
from webapp.domain.workflow import EventType, Party
from webapp.extensions import db
from webapp.models import CalendarYear, CaseEvent, Notification, OutboxMail, ReportVersion
from webapp.models.emails import EmailTemplate
from webapp.notify.holiday_watch import holiday_watch
from webapp.notify.outbox import check_email_template, mail_text, render_email
from webapp.notify.reminders import (
    annual_report_reminders,
    collect,
    lapse_cutoff,
    morning_digest,
    sweep,
)

D = date


@pytest.fixture
def world(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    case = paper_case(agency, staff["clerk"], D(2024, 6, 3), name="张三")
    db_session.commit()
    return agency, staff, case


def _kinds(day: date) -> list[tuple[str, int]]:
    return sorted((i.kind, i.days_left) for i in collect(day))


def _notes() -> list[tuple[str, str, str]]:
    """(kind, ref_date, recipient username) of every notification."""
    from webapp.models import User

    users = {u.id: u.username for u in db.session.scalars(select(User))}
    return sorted((n.kind, n.ref_date.isoformat(), users[n.recipient_id])
                  for n in db.session.scalars(select(Notification)))


@pytest.mark.parametrize(("day", "expected"), [
    (D(2024, 6, 7), []),                                         # notice window: 3 working days left
    (D(2024, 6, 10), []),                                        # the holiday: still 3 working days left
    (D(2024, 6, 11), [("correction_notice_due", 2)]),
    (D(2024, 6, 13), [("correction_notice_due", 0)]),
    (D(2024, 6, 14), []),                                        # window closed: a late notice is allowed
    (D(2024, 6, 24), []),                                        # 6 working days left
    (D(2024, 6, 25), [("answer_due_5", 5)]),
    (D(2024, 6, 26), [("answer_due_5", 4)]),
    (D(2024, 6, 27), [("answer_due_3", 3)]),
    (D(2024, 6, 28), [("answer_due_3", 2)]),
    (D(2024, 6, 29), [("answer_due_3", 2)]),                     # Saturday counts like Friday
    (D(2024, 7, 1), [("answer_due_1", 1)]),
    (D(2024, 7, 2), [("answer_due_today", 0)]),
    (D(2024, 7, 3), [("answer_overdue", -1)]),
    (D(2024, 7, 6), []),                                         # overdue reminders on working days only
    (D(2024, 7, 8), [("answer_overdue", -4)]),
])
def test_what_a_case_needs_as_of_each_day(world, day, expected):
    assert _kinds(day) == expected


def test_a_deadline_on_a_day_off_is_reminded_as_one_day_left(world, db_session):
    """A stored deadline on a day off (say, a holiday notice changed the calendar and the recompute
    has not run yet): the working day before it still gets the last-day reminder."""
    _agency, _staff, case = world
    case.due_on = D(2024, 6, 29)          # a Saturday
    db_session.commit()
    assert _kinds(D(2024, 6, 28)) == [("answer_due_1", 0)]


def test_each_reminder_once_and_a_moved_deadline_rearms(world, db_session):
    _agency, staff, case = world
    assert sweep(D(2024, 6, 25)).notifications == 1
    db_session.commit()
    assert sweep(D(2024, 6, 25)).notifications == 0   # re-run
    assert sweep(D(2024, 6, 26)).notifications == 0   # same bucket, same deadline
    db_session.commit()
    # Art. 33: an extension of 10 working days moves the deadline to 2024-07-16: its reminders re-arm.
    act(case, EventType.EXTENDED, D(2024, 6, 26), days=10)
    db_session.commit()
    assert case.due_on == D(2024, 7, 16)
    assert sweep(D(2024, 6, 27)).notifications == 0   # 13 working days left now
    r = sweep(D(2024, 7, 9))
    db_session.commit()
    assert (r.notifications, r.by_kind) == (1, {"answer_due_5": 1})
    assert _notes() == [("answer_due_5", "2024-07-02", "swj-clerk"), ("answer_due_5", "2024-07-16", "swj-clerk")]
    keys = sorted(db_session.scalars(select(Notification.dedupe_key)))
    assert keys == [f"answer_due_5:{case.id}:2024-07-02:{staff['clerk'].id}",
                    f"answer_due_5:{case.id}:2024-07-16:{staff['clerk'].id}"]


def test_overdue_repeats_daily_and_goes_to_the_approvers(world, db_session):
    _agency, staff, case = world
    for day in (D(2024, 7, 2), D(2024, 7, 3), D(2024, 7, 3), D(2024, 7, 4)):
        sweep(day)
        db_session.commit()
    assert _notes() == [
        ("answer_due_today", "2024-07-02", "swj-approver"), ("answer_due_today", "2024-07-02", "swj-clerk"),
        ("answer_overdue", "2024-07-02", "swj-approver"), ("answer_overdue", "2024-07-02", "swj-approver"),
        ("answer_overdue", "2024-07-02", "swj-clerk"), ("answer_overdue", "2024-07-02", "swj-clerk"),
    ]
    keys = set(db_session.scalars(select(Notification.dedupe_key).where(Notification.kind == "answer_overdue")))
    assert f"answer_overdue:{case.id}:2024-07-02:2024-07-03:{staff['clerk'].id}" in keys
    assert f"answer_overdue:{case.id}:2024-07-02:2024-07-04:{staff['approver'].id}" in keys


def test_recipients(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    other = make_agency("JYJ", "某区教育局", contact=False)
    make_user(other, "approver", "jyj-approver", email=work_email("jyj-approver"))   # another agency's approver
    make_user(None, "approver", "gov-approver", email=work_email("gov-approver"))   # government level: not an owner
    make_user(agency, "approver", "swj-approver-old", email=work_email("swj-approver-old"), active=False)   # inactive
    nomail = make_user(agency, "clerk", "swj-clerk-nomail")
    gone = make_user(agency, "clerk", "swj-clerk-gone", email=work_email("swj-clerk-gone"), active=False)
    paper_case(agency, staff["clerk"], D(2024, 6, 3))
    paper_case(agency, None, D(2024, 6, 3))            # nobody assigned: the approvers
    paper_case(agency, gone, D(2024, 6, 3))            # assigned to an inactive user: the approvers
    paper_case(agency, nomail, D(2024, 6, 3))          # no address: the bell only
    db_session.commit()
    r = sweep(D(2024, 6, 25))
    db_session.commit()
    assert _notes() == [("answer_due_5", "2024-07-02", u) for u in
                        ("swj-approver", "swj-approver", "swj-clerk", "swj-clerk-nomail")]
    assert (r.notifications, r.mails) == (4, 2)
    mails = db_session.scalars(select(OutboxMail).order_by(OutboxMail.to_addr)).all()
    assert [(m.to_addr, mail_text(m)[0]) for m in mails] == [
        ("swj-approver@example.gov.cn", "【政府信息公开】期限提醒：2件申请需要处理（2024-06-25）"),
        ("swj-clerk@example.gov.cn", "【政府信息公开】期限提醒：1件申请需要处理（2024-06-25）"),
    ]
    # Every notification that was mailed points at its mail; the one without an address does not.
    linked = Counter(n.outbox_id is not None for n in db_session.scalars(select(Notification)))
    assert linked == {True: 3, False: 1}


def test_one_digest_per_person_per_sweep_with_every_new_item(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    cases = [paper_case(agency, staff["clerk"], D(2024, 6, 3), name=n) for n in ("张三", "李四")]
    org = paper_case(agency, staff["clerk"], D(2024, 6, 4), name="某某城市规划研究院", kind="research")
    db_session.commit()
    r = sweep(D(2024, 7, 2))
    db_session.commit()
    assert r.by_kind == {"answer_due_today": 4, "answer_due_1": 1}
    assert r.mails == 2
    clerk_mail = db_session.scalar(select(OutboxMail).where(OutboxMail.to_addr == "swj-clerk@example.gov.cn"))
    assert clerk_mail.dedupe_key == f"digest:{staff['clerk'].id}:{r.key}"
    # Written as what it is; the text is composed when it is delivered (and then kept on the row).
    assert (clerk_mail.compose, clerk_mail.subject, clerk_mail.body) == ("reminder_digest", "", "")
    assert json.loads(clerk_mail.compose_args) == {"user_id": staff["clerk"].id, "today": "2024-07-02"}
    subject, body = mail_text(clerk_mail)
    assert (clerk_mail.subject, clerk_mail.body) == (subject, body)
    assert subject == "【政府信息公开】期限提醒：3件申请需要处理（2024-07-02）"
    assert body == (
        "王经办，您好：\n\n"
        "截至2024-07-02，以下政府信息公开申请需要您处理：\n\n"
        f"1. 【答复期限今日届满】{cases[0].number}\n"
        "   申请人：张三\n"
        "   期限：2024-07-02（今日届满）\n"
        "   处理：今日为答复期限最后一天，请于今日作出答复（第三十三条）。\n"
        f"   查看：http://127.0.0.1:5000/cases/{cases[0].id}\n\n"
        f"2. 【答复期限今日届满】{cases[1].number}\n"
        "   申请人：李四\n"
        "   期限：2024-07-02（今日届满）\n"
        "   处理：今日为答复期限最后一天，请于今日作出答复（第三十三条）。\n"
        f"   查看：http://127.0.0.1:5000/cases/{cases[1].id}\n\n"
        f"3. 【答复期限还剩1个工作日】{org.number}\n"
        "   申请人：某某城市规划研究院\n"
        "   期限：2024-07-03（还剩1个工作日）\n"
        "   处理：请在期限内作出答复；确需延期的，须在期限届满前报负责人批准（第三十三条）。\n"
        f"   查看：http://127.0.0.1:5000/cases/{org.id}\n\n"
        "每项提醒只发送一次；期限变动（延期、暂停）后将按新期限重新提醒。全部提醒也显示在系统右上角的通知中。\n"
        "本邮件由系统自动发送，请勿直接回复。\n")
    for mail in db_session.scalars(select(OutboxMail)):
        text = "".join(mail_text(mail))
        assert ID_NUMBER not in text and PHONE not in text and "某区某路" not in text
    # The bell's rows: a title, a body and a relative link.
    n = db_session.scalar(select(Notification).where(Notification.case_id == org.id))
    assert (n.title, n.link) == (f"答复期限还剩1个工作日：{org.number}", f"/cases/{org.id}")
    assert n.body.startswith(f"{org.number}　申请人：某某城市规划研究院　期限：2024-07-03（还剩1个工作日）。")


def test_links_use_base_url(app, world, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://gk.example.gov.cn/")
    _agency, _staff, case = world
    sweep(D(2024, 6, 25))
    assert f"查看：https://gk.example.gov.cn/cases/{case.id}\n" in mail_text(db_session.scalar(select(OutboxMail)))[1]


def test_consultation_reply_due(world, db_session):
    _agency, _staff, case = world
    act(case, EventType.CONSULTATION_STARTED, D(2024, 6, 5), party=Party.THIRD_PARTY)
    db_session.commit()
    assert case.consultation_due_on == D(2024, 6, 27)
    assert _kinds(D(2024, 6, 26)) == []             # the answer clock is paused: no answer reminders
    assert _kinds(D(2024, 6, 27)) == [("consultation_due", 0)]
    assert _kinds(D(2024, 6, 28)) == [("consultation_due", -1)]
    assert _kinds(D(2024, 6, 29)) == []                             # a Saturday
    sweep(D(2024, 6, 27))
    sweep(D(2024, 6, 27))                                           # once a day, however many sweeps
    sweep(D(2024, 6, 28))
    db_session.commit()
    # repeated every working day until the end is recorded: a timed-out consultation is never forgotten
    assert _notes() == [("consultation_due", "2024-06-27", "swj-clerk")] * 2
    act(case, EventType.CONSULTATION_ENDED, D(2024, 7, 1))
    db_session.commit()
    assert _kinds(D(2024, 7, 1)) == []


def test_correction_lapse_is_proposed_the_working_day_after_reply_by(world, db_session):
    _agency, _staff, case = world
    act(case, EventType.CORRECTION_REQUESTED, D(2024, 6, 5), reply_by=D(2024, 6, 28))   # a Friday
    db_session.commit()
    cal = current_calendar()
    assert lapse_cutoff(cal, D(2024, 7, 1)) == D(2024, 6, 30)
    assert _kinds(D(2024, 6, 28)) == []
    assert _kinds(D(2024, 6, 29)) == []              # Saturday: proposed on the next working day
    assert _kinds(D(2024, 7, 1)) == [("correction_lapse_proposal", -1)]
    sweep(D(2024, 7, 1))
    sweep(D(2024, 7, 2))
    db_session.commit()
    assert _notes() == [("correction_lapse_proposal", "2024-06-28", "swj-clerk")]
    assert case.status == "awaiting_correction"      # a proposal: the clerk confirms


def test_auto_lapse_records_the_lapse_through_the_service(db_session):
    agency = make_agency(policies={"auto_lapse": True}, contact=False)
    staff = make_staff(agency)
    corr = paper_case(agency, staff["clerk"], D(2024, 6, 3), name="张三")
    fee = paper_case(agency, staff["clerk"], D(2024, 6, 3), name="李四")
    act(corr, EventType.CORRECTION_REQUESTED, D(2024, 6, 5))
    act(fee, EventType.FEE_NOTICE, D(2024, 6, 5), amount_yuan=Decimal("200"))
    db_session.commit()
    assert (corr.correction_reply_by, fee.fee_due_on) == (D(2024, 6, 27), D(2024, 7, 4))
    assert morning_digest(D(2024, 7, 5)) == 0        # nothing to propose where the lapse is automatic
    r = sweep(D(2024, 7, 5))
    db_session.commit()
    assert sorted(r.lapsed) == sorted([corr.number, fee.number])
    assert r.by_kind == {"correction_lapsed": 1, "fee_lapsed": 1}
    db_session.expire_all()
    assert (corr.status, corr.outcome, corr.closed_on) == ("closed", "other.correction_lapsed", D(2024, 7, 5))
    assert (fee.status, fee.outcome) == ("closed", "other.fee_unpaid")
    last = db_session.scalar(select(CaseEvent).where(CaseEvent.case_id == corr.id)
                             .order_by(CaseEvent.seq.desc()).limit(1))
    assert (last.type, last.on, last.actor_id, last.actor_name) == ("correction_lapsed", D(2024, 7, 5), None,
                                                                   "系统（逾期自动结案）")
    # Closed: the next sweep finds nothing, and the lapse is not recorded twice.
    r2 = sweep(D(2024, 7, 8))
    db_session.commit()
    assert (r2.items, r2.notifications, r2.lapsed) == (0, 0, [])
    assert db_session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.type.in_(
        ["correction_lapsed", "fee_lapsed"]))) == 2


def test_fee_lapse_proposal(world, db_session):
    _agency, _staff, case = world
    act(case, EventType.FEE_NOTICE, D(2024, 6, 5), amount_yuan=Decimal("200"))
    db_session.commit()
    assert _kinds(D(2024, 7, 4)) == []
    assert _kinds(D(2024, 7, 5)) == [("fee_lapse_proposal", -1)]


def test_awaiting_a_fee_that_does_not_pause_the_clock_the_answer_is_still_reminded(world, db_session):
    """Policy fee_pauses_clock off: awaiting the fee, the answer clock runs and its reminders come."""
    agency, _staff, case = world
    agency.policies = {**(agency.policies or {}), "fee_pauses_clock": False}
    db_session.flush()
    act(case, EventType.FEE_NOTICE, D(2024, 6, 5), amount_yuan=Decimal("200"))
    db_session.commit()
    assert (case.status, case.due_on) == ("awaiting_fee", D(2024, 7, 2))
    assert _kinds(D(2024, 6, 25)) == [("answer_due_5", 5)]
    assert _kinds(D(2024, 7, 3)) == [("answer_overdue", -1)]


def test_morning_digest_once_a_day_on_working_days(world, db_session):
    _agency, staff, case = world
    sweep(D(2024, 6, 25))
    db_session.commit()
    assert morning_digest(D(2024, 6, 26)) == 1
    assert morning_digest(D(2024, 6, 26)) == 0
    assert morning_digest(D(2024, 6, 29)) == 0       # Saturday
    db_session.commit()
    mail = db_session.scalar(select(OutboxMail).where(OutboxMail.dedupe_key.like("morning:%")))
    assert mail.dedupe_key == f"morning:{staff['clerk'].id}:2024-06-26"
    assert mail.subject == "【政府信息公开】今日待办（2024-06-26）：1件申请"
    assert (f"1. 【答复期限还剩4个工作日】{case.number}\n   申请人：张三\n"
            "   期限：2024-07-02（还剩4个工作日）") in mail.body


def test_an_administrators_template_is_used_and_a_broken_one_falls_back(world, db_session):
    db_session.add(EmailTemplate(kind="reminder_digest", subject="提醒 {{ items|length }} 件",
                                 body="{% for i in items %}{{ i.case_number }} {{ i.days_text }}\n{% endfor %}"))
    db_session.commit()
    _agency, _staff, case = world
    sweep(D(2024, 6, 25))
    mail = db_session.scalar(select(OutboxMail))
    assert mail_text(mail) == ("提醒 1 件", f"{case.number} 还剩5个工作日\n")
    row = db_session.scalar(select(EmailTemplate))
    row.body = "{% for i in items %}"   # a syntax error
    db_session.flush()
    subject, body = render_email("reminder_digest", user={"display_name": "王经办"}, today="2024-06-25",
                                 base_url="", items=[])
    assert subject == "【政府信息公开】期限提醒：0件申请需要处理（2024-06-25）"   # the shipped text
    assert body.startswith("王经办，您好：")
    assert check_email_template("reminder_digest", "x", "{% for i in items %}").startswith("模板有误")
    assert check_email_template("reminder_digest", "{{ nope }}", "").startswith("模板有误")
    assert check_email_template("reminder_digest", "提醒", "{{ user.display_name }}") is None
    # The sandbox keeps templates away from internals.
    assert check_email_template("reminder_digest", "{{ ''.__class__.__mro__ }}", "").startswith("模板有误")


def test_holiday_notice_watch(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    make_user(None, "admin", "gov-admin", email=work_email("gov-admin"))
    department = make_agency("JYJ", "某区教育局", contact=False)
    department.parent_id = agency.id
    make_user(department, "admin", "jyj-admin", email=work_email("jyj-admin"))   # may not enter the notice: not told to
    db_session.commit()
    cal = current_calendar()
    assert cal.is_provisional(D(2027, 1, 1)) and not cal.is_provisional(D(2026, 1, 1))
    assert holiday_watch(D(2026, 10, 31)) == 0        # before 1 November
    assert holiday_watch(D(2026, 11, 1)) == 2         # the two administrators who may enter it
    assert holiday_watch(D(2026, 11, 7)) == 0         # the same week
    assert holiday_watch(D(2026, 11, 8)) == 2         # a week later
    db_session.commit()
    mail = db_session.scalar(select(OutboxMail).where(OutboxMail.to_addr == staff["admin"].email)
                             .order_by(OutboxMail.id).limit(1))
    assert mail.subject == "【政府信息公开】请录入2027年节假日安排"
    assert "http://127.0.0.1:5000/admin/calendar" in mail.body
    n = db_session.scalar(select(Notification).where(Notification.recipient_id == staff["admin"].id).limit(1))
    assert (n.kind, n.link, n.ref_date) == ("holiday_notice_missing", "/admin/calendar", D(2027, 1, 1))
    # The administrator enters the notice: the watch stops.
    db_session.add(CalendarYear(year=2027, title="国务院办公厅关于2027年部分节假日安排的通知",
                                days_off=[["2027-01-01", "元旦"]], makeup_days=[]))
    db_session.commit()
    assert holiday_watch(D(2026, 11, 15)) == 0
    assert db_session.scalar(select(func.count(Notification.id))) == 4


def test_report_reminders_for_an_agency_set_up_later_with_last_years_cases(db_session):
    """An agency created in 2025 that imported its 2024 cases owes a 2024 report: reminded; one with
    no case of 2024 is not."""
    imported = make_agency(contact=False)
    staff = make_staff(imported)
    paper_case(imported, staff["clerk"], D(2024, 6, 3))
    fresh = make_agency("JYJ", "某区教育局", contact=False)
    make_user(fresh, "approver", "jyj-approver", email=work_email("jyj-approver"))
    for a in (imported, fresh):
        a.created_at = a.created_at.replace(year=2025)
    db_session.commit()
    assert annual_report_reminders(D(2025, 1, 2)) == 1
    db_session.commit()
    assert _notes() == [("annual_report_due", "2025-01-31", "swj-approver")]


def test_annual_report_owner_reminded_weekly_until_final(db_session):
    dept = make_agency(contact=False)
    gov = make_agency("ZF", "某区人民政府办公室", kind="government", contact=False)
    dept_staff = make_staff(dept)
    gov_approver = make_user(gov, "approver", "zf-approver", email=work_email("zf-approver"))
    for a in (dept, gov):
        a.created_at = a.created_at.replace(year=2023)
    db_session.commit()
    assert annual_report_reminders(D(2025, 1, 2)) == 2
    assert annual_report_reminders(D(2025, 1, 7)) == 0          # same week (counted from 1 January)
    db_session.commit()
    mail = db_session.scalar(select(OutboxMail).where(OutboxMail.to_addr == dept_staff["approver"].email))
    assert mail.subject == "【政府信息公开】某区商务局2024年度报告尚未定稿（2025-01-31前发布）"
    assert "尚未生成（年度结账尚未完成）" in mail.body and "距截止还有29天" in mail.body
    gov_mail = db_session.scalar(select(OutboxMail).where(OutboxMail.to_addr == gov_approver.email))
    assert "2025-03-31前发布" in gov_mail.subject
    # The department's report is closed and marked final: only the government is reminded.
    db_session.add(ReportVersion(agency_id=dept.id, year=2024, version=1, data={}, cells={}, final=True))
    db_session.add(ReportVersion(agency_id=gov.id, year=2024, version=1, data={}, cells={}, final=False))
    db_session.commit()
    assert annual_report_reminders(D(2025, 1, 8)) == 1
    db_session.commit()
    last = db_session.scalar(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(1))
    assert last.to_addr == gov_approver.email and "已结账（第1版），尚未定稿" in last.body


@pytest.mark.committed   # sweeps in threads, each with its own connection
@pytest.mark.pg
def test_two_sweeps_at_once_never_duplicate(app, db_session):
    """Two beat processes sweep the same moment on PostgreSQL: each reminder exists once, in one mail."""
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    for i in range(30):
        paper_case(agency, staff["clerk"] if i % 2 else staff["clerk2"], D(2024, 6, 3), name=f"申请人{i}")
    db_session.commit()
    barrier = threading.Barrier(4)
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(sweep(D(2024, 7, 2)))
                db.session.commit()
            except Exception as e:  # reported below
                errors.append(e)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r.notifications for r in results) == 60    # 30 cases x (clerk + approver)
    assert db_session.scalar(select(func.count(Notification.id))) == 60
    listed = Counter()
    for mail in db_session.scalars(select(OutboxMail)):
        for number in set(__import__("re").findall(r"SWJ-2024-\d{4}", mail_text(mail)[1])):
            listed[(mail.to_addr, number)] += 1
    assert len(listed) == 60 and set(listed.values()) == {1}


def test_reminders_taken_by_a_concurrent_sweep_leave_its_digests(world, db_session, monkeypatch):
    """The probe said "new", but another sweep wrote the rows first (as happens when two run at
    once): the insert returns only what this sweep wrote, and its digests are rewritten to match."""
    _agency, staff, case = world
    other = paper_case(world[0], staff["clerk2"], D(2024, 6, 3), name="李四")
    db_session.commit()
    first = sweep(D(2024, 7, 2))
    db_session.commit()
    assert (first.notifications, first.mails) == (4, 3)
    # One reminder is gone again (so it is really new); the probe is made to say all four are new.
    gone = db_session.scalar(select(Notification).where(Notification.case_id == other.id,
                                                        Notification.recipient_id == staff["approver"].id))
    db_session.delete(gone)
    db_session.commit()
    import webapp.notify.reminders.writing as reminders

    monkeypatch.setattr(reminders, "new_keys", lambda keys: set(keys))
    r = sweep(D(2024, 7, 2))
    db_session.commit()
    assert (r.notifications, r.mails) == (1, 1)
    newest = db_session.scalar(select(OutboxMail).where(OutboxMail.id == r.mail_ids[0]))
    assert newest.to_addr == staff["approver"].email
    subject, body = mail_text(newest)
    assert subject == "【政府信息公开】期限提醒：1件申请需要处理（2024-07-02）"
    assert other.number in body and case.number not in body
    assert db_session.scalar(select(func.count(OutboxMail.id))) == 4    # the other two digests were dropped
