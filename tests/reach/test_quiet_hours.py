"""Quiet hours: a staff reminder decided at 21:00 waits until 08:00 of the next working day (a
holiday skipped); one whose deadline is tonight goes at once; the delivery skips rows not yet due;
the agency's setting through its service; staff who chose SMS get it, held the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from tests.factories import make_agency, make_staff, paper_case
from webapp.cases.services.calendar import current_calendar
from webapp.errors import ServiceError
from webapp.models import OutboxMail
from webapp.notify.outbox import deliver_pending
from webapp.notify.reminders import sweep
from webapp.sms.quiet import QuietHours
from webapp.sms.settings import set_quiet_hours
from webapp.timeutil import SHANGHAI

QUIET = {"start": "20:00", "end": "08:00", "days_off": True, "applicant_mail": False}


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def u(*args) -> datetime:
    """A naive UTC instant, as the outbox stores it."""
    return datetime(*args, tzinfo=UTC).replace(tzinfo=None)


def test_friday_evening_waits_for_tuesday_after_the_dragon_boat_festival(db_session):
    q = QuietHours.from_mapping(QUIET)
    cal = current_calendar()
    # Friday 2024-06-07 21:00; Monday 06-10 is the Dragon Boat Festival
    assert q.next_open(sh(2024, 6, 7, 21, 0), cal.is_workday) == sh(2024, 6, 11, 8, 0)
    assert q.not_before(sh(2024, 6, 7, 21, 0), cal.is_workday) == u(2024, 6, 11)
    assert q.not_before(sh(2024, 6, 7, 6, 30), cal.is_workday) == u(2024, 6, 7)   # 08:00 same day
    assert q.not_before(sh(2024, 6, 7, 19, 59), cal.is_workday) is None
    # a deadline on the day off itself (Saturday) would pass before Tuesday: at once
    assert q.not_before(sh(2024, 6, 7, 21, 0), cal.is_workday, deadline=date(2024, 6, 8)) is None
    assert q.not_before(sh(2024, 6, 7, 21, 0), cal.is_workday, deadline=date(2024, 6, 11)) == u(2024, 6, 11)
    assert QuietHours.from_mapping({}).not_before(sh(2024, 6, 7, 23, 0), cal.is_workday) is None
    day_only = QuietHours.from_mapping({"start": "20:00", "end": "08:00"})
    assert day_only.next_open(sh(2024, 6, 8, 22, 0), cal.is_workday) == sh(2024, 6, 9, 8, 0)
    assert day_only.quiet_at(time(8, 0)) is False and day_only.quiet_at(time(7, 59)) is True


@pytest.fixture
def world(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    clerk = staff["clerk"]
    clerk.notify_via, clerk.mobile = "both", "13900001111"
    case = paper_case(agency, clerk, date(2024, 6, 3))   # correction notice due Thursday 2024-06-13
    set_quiet_hours(staff["admin"], agency, QUIET)
    db_session.commit()
    return agency, staff, case


def db_session_rows():
    from webapp.extensions import db

    return db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def test_reminder_at_21_waits_until_08_next_working_day(world, db_session, tmp_path, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_CAPTURE_DIR", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "SMS_LOG_DIR", str(tmp_path / "sms"))
        # Wednesday 2024-06-12 21:00: "correction notice due tomorrow"
    result = sweep(date(2024, 6, 12), now=sh(2024, 6, 12, 21, 0))
    db_session.commit()
    rows = db_session_rows()
    assert [(r.channel, r.to_addr, r.not_before) for r in rows] == [
        ("email", "swj-clerk@example.gov.cn", u(2024, 6, 13)),
        ("sms", "13900001111", u(2024, 6, 13)),
    ]
    assert result.sms_ids == [rows[1].id]
    assert rows[1].body == ("王经办您好，您有1件政府信息公开申请需要办理，最近期限2024-06-13"
                            f"（{world[2].number}），请登录系统查看。")
    assert deliver_pending(now=sh(2024, 6, 12, 21, 1)).sent == []
    assert deliver_pending(now=sh(2024, 6, 13, 7, 59)).sent == []
    assert deliver_pending(now=sh(2024, 6, 13, 8, 0)).sent == [rows[0].id, rows[1].id]


def test_reminder_whose_deadline_is_tonight_goes_at_once(world, db_session, tmp_path, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "MAIL_CAPTURE_DIR", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "SMS_LOG_DIR", str(tmp_path / "sms"))
    sweep(date(2024, 6, 13), now=sh(2024, 6, 13, 21, 0))    # due today, Thursday
    db_session.commit()
    rows = db_session_rows()
    assert [(r.channel, r.not_before) for r in rows] == [("email", None), ("sms", None)]
    assert deliver_pending(now=sh(2024, 6, 13, 21, 1)).sent == [r.id for r in rows]


def test_the_morning_agenda_waits_for_the_window_too(world, db_session, app):
    from webapp.notify.reminders import morning_digest
    from webapp.sms.settings import set_quiet_hours

    agency, staff, _case = world
    # an agency whose quiet hours run until 09:00: the 08:30 agenda waits; its deadline is days ahead
    set_quiet_hours(staff["admin"], agency, {**QUIET, "end": "09:00"})
    db_session.commit()
    assert morning_digest(date(2024, 6, 11), now=sh(2024, 6, 11, 8, 30)) == 1
    db_session.commit()
    assert [(r.dedupe_key.split(":")[0], r.not_before) for r in db_session_rows()] == [
        ("morning", u(2024, 6, 11, 1))]     # 09:00 in Shanghai
    assert deliver_pending(now=sh(2024, 6, 11, 8, 31)).sent == []


def test_the_annual_report_reminder_waits_for_the_window_too(world, db_session):
    from webapp.notify.reminders import annual_report_reminders

    agency, staff, _case = world
    agency.created_at = agency.created_at.replace(year=2023)
    db_session.commit()
    # Thursday 2025-01-02 at 21:00 Beijing time: the reminder waits for Friday 08:00
    assert annual_report_reminders(date(2025, 1, 2), now=sh(2025, 1, 2, 21, 0)) == 1
    db_session.commit()
    assert [(r.to_addr, r.not_before) for r in db_session_rows()] == [
        (staff["approver"].email, u(2025, 1, 3))]


def test_no_quiet_hours_no_wait(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    paper_case(agency, staff["clerk"], date(2024, 6, 3))
    db_session.commit()
    sweep(date(2024, 6, 12), now=sh(2024, 6, 12, 23, 0))
    assert [(r.channel, r.not_before) for r in db_session_rows()] == [("email", None)]


def test_staff_who_chose_sms_only_get_no_mail(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    staff["clerk"].notify_via, staff["clerk"].mobile = "sms", "13900001111"
    staff["clerk2"].notify_via = "sms"            # no number: keeps getting mail
    paper_case(agency, staff["clerk"], date(2024, 6, 3))
    paper_case(agency, staff["clerk2"], date(2024, 6, 3), name="李四")
    db_session.commit()
    sweep(date(2024, 6, 12), now=sh(2024, 6, 12, 10, 0))
    assert [(r.channel, r.to_addr) for r in db_session_rows()] == [
        ("email", "swj-clerk2@example.gov.cn"), ("sms", "13900001111")]


def test_quiet_hours_setting_refuses_bad_time_and_changes_nothing(db_session):
    agency = make_agency(contact=False)
    admin = make_staff(agency)["admin"]
    db_session.commit()
    with pytest.raises(ServiceError) as e:
        set_quiet_hours(admin, agency, {"start": "25:00", "end": "08:00"})
    assert e.value.message_zh.startswith("免打扰时段设置无效：")
    assert agency.quiet_hours == {}
    assert set_quiet_hours(admin, agency, QUIET) is True
    assert agency.quiet_hours == QUIET
    assert set_quiet_hours(admin, agency, {"start": "00:00", "end": "00:00"}) is True
    assert agency.quiet_hours == {}


@pytest.mark.parametrize("applicant_mail, mail_wait", [(False, None), (True, u(2024, 6, 11))])
def test_applicant_mail_waits_only_if_the_agency_wants_sms_always(db_session, time_machine, applicant_mail,
                                                                      mail_wait):
    from tests.public.conftest import applicant
    from webapp.public.services import clean_submission, create_submission

    time_machine.move_to(sh(2024, 6, 7, 21, 30), tick=False)    # Friday evening
    agency = make_agency(contact=False)
    admin = make_staff(agency)["admin"]
    set_quiet_hours(admin, agency, {**QUIET, "applicant_mail": applicant_mail})
    db_session.commit()
    clean = clean_submission(applicant(), ["2023年度部门预算"], "email", "email", notify_via="both")
    sub = create_submission(agency, clean).submission
    db_session.commit()
    assert [(r.channel, r.dedupe_key, r.not_before) for r in db_session_rows()] == [
        ("sms", f"sms:submission:{sub.id}:submitted", u(2024, 6, 11)),
        ("email", f"submission:{sub.id}:submitted", mail_wait),
    ]
