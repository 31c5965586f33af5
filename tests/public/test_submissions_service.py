"""public/services/: intake, duplicates, per-identity limits, confirmation (the receipt date is
the confirmation date), rejection, routing within a government, the queue's age, and look-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from webapp.admin.services.tokens import find_token, issue_token
from webapp.domain.kinds import FormWanted, RouteWanted
from webapp.errors import ConflictError, Forbidden, ServiceError
from webapp.extensions import db
from webapp.handovers.services import pending_for_submission, sign
from webapp.models import Agency, Attachment, Case, CaseEvent, OutboxMail, User
from webapp.models.submission import LookupFailure, Submission, SubmissionStatus
from webapp.public.services import (
    FORMS_WANTED,
    ROUTES_WANTED,
    LookupThrottled,
    RateLimited,
    age_in_workdays,
    clean_submission,
    confirm_submission,
    create_submission,
    lookup,
    normalize_query_code,
    queue_summary,
    reject_submission,
    route_submission,
    route_targets,
    status_view,
    store_file,
    verify_query_code,
)
from webapp.timeutil import SHANGHAI

from .conftest import applicant, bad_id_number, make_world, pdf_bytes, uscc_code

ITEMS = ["2023年度部门预算", "关于某项目的批复文件"]


@pytest.fixture
def w(db_session, today):
    world = make_world()
    db.session.commit()
    return world


def agency(code: str) -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def user(w, key: str) -> User:
    return db.session.get(User, w.users[key])


def submit(code: str = "SWJ", items=ITEMS, **over):
    clean = clean_submission(applicant(**over), items, "email", "email")
    result = create_submission(agency(code), clean, remote_addr="203.0.113.9")
    db.session.commit()
    return result


def test_the_wanted_form_and_route_are_enums(w, today):
    """One definition: the public choices and the desk's derive from FormWanted/RouteWanted, and the
    columns read back as members (same VARCHAR values)."""
    assert FORMS_WANTED == {"paper": "纸质", "email": "电子邮件", "disk": "光盘等存储介质", "reading": "当场阅读、抄录"}
    assert ROUTES_WANTED == {"post": "邮寄", "pickup": "自行领取", "email": "电子邮件"}
    assert RouteWanted.choices() == {**ROUTES_WANTED, "online": "网上获取"}
    with pytest.raises(ServiceError):
        clean_submission(applicant(), ITEMS, "paper", "online")      # the desk's only
    sub = submit().submission
    db.session.expire(sub)
    assert (sub.form_wanted, sub.route_wanted) == (FormWanted.EMAIL, RouteWanted.EMAIL)
    assert type(sub.form_wanted) is FormWanted and type(sub.route_wanted) is RouteWanted
    assert db.session.execute(text("SELECT form_wanted, route_wanted FROM submission WHERE id = :i"),
                              {"i": sub.id}).one() == ("email", "email")


def test_submission_gets_number_code_and_waits_in_the_queue(w, today):
    result = submit()
    sub = result.submission
    assert result.duplicate is False
    assert sub.number.startswith("WS-SWJ-20240610-") and len(sub.number) == len("WS-SWJ-20240610-") + 6
    assert sub.number[-6:].isdigit()
    assert len(normalize_query_code(result.query_code)) == 12
    assert result.query_code not in sub.query_code_hash                    # only a salted hash is kept
    assert sub.query_code_hash.startswith("scrypt$4096$8$1$")
    assert verify_query_code(sub.query_code_hash, result.query_code.lower())
    assert not verify_query_code(sub.query_code_hash, "AAAA-BBBB-CCCC")
    assert sub.status == "submitted" and sub.case_id is None and sub.submitted_on == today
    db.session.expire(sub)
    assert sub.status is SubmissionStatus.SUBMITTED          # read back as the enum (models/_types.ENUM_COLUMNS)
    assert db.session.scalar(text("SELECT status FROM submission WHERE id = :i"), {"i": sub.id}) == "submitted"
    assert db.session.scalar(select(func.count(Case.id))) == 0             # not a case: no clock yet
    mail = db.session.scalar(select(OutboxMail))
    assert mail.dedupe_key == f"submission:{sub.id}:submitted" and mail.to_addr == "zhangsan@example.com"
    assert sub.number in mail.body and result.query_code in mail.body
    assert mail.redact_after_send == result.query_code      # masked in the outbox once sent


def test_no_mail_without_an_address(w, today):
    clean = clean_submission(applicant(email=""), ITEMS, "paper", "post")
    create_submission(agency("SWJ"), clean)
    db.session.commit()
    assert db.session.scalar(select(func.count(OutboxMail.id))) == 0


def test_duplicate_within_ten_minutes_is_recognised(w, today, time_machine):
    first = submit()
    time_machine.move_to(datetime(2024, 6, 10, 10, 9, 59, tzinfo=SHANGHAI), tick=False)
    again = submit(items=["2023年度部门预算 ", "关于某项目的批复文件"])   # whitespace does not make it new
    assert again.duplicate is True and again.query_code is None
    assert again.submission.id == first.submission.id
    assert db.session.scalar(select(func.count(Submission.id))) == 1
    # different items, or another agency: a new submission
    assert submit(items=["另一项"]).duplicate is False
    assert submit(code="JYJ").duplicate is False
    time_machine.move_to(datetime(2024, 6, 10, 10, 10, 1, tzinfo=SHANGHAI), tick=False)
    assert submit().duplicate is False                                     # ten minutes later: new
    assert db.session.scalar(select(func.count(Submission.id))) == 4


def test_per_identity_limit_per_hour(w, today, time_machine):
    for i in range(5):
        submit(items=[f"第{i}项"])
    with pytest.raises(RateLimited) as e:
        submit(items=["第6项"])
    assert e.value.rule == "submission.rate_identity" and "一小时" in e.value.message_zh
    db.session.rollback()
    assert submit(items=["另一人"], id_number=None, name="李四").duplicate is False   # other identity
    time_machine.move_to(datetime(2024, 6, 10, 11, 0, 1, tzinfo=SHANGHAI), tick=False)
    assert submit(items=["第6项"]).duplicate is False                     # an hour later


@pytest.mark.parametrize(("over", "items", "form", "route", "rule"), [
    ({"id_number": bad_id_number()}, ITEMS, "email", "email", "applicant.id_number"),
    ({"kind": "commercial", "id_number": None, "uscc": "91350100M000100Y40"}, ITEMS, "email", "email",
     "applicant.uscc"),
    ({}, [], "email", "email", "items.empty"),
    ({}, ["  "], "email", "email", "items.empty"),
    ({}, ITEMS, "fax", "email", "submission.form"),
    ({}, ITEMS, "email", "drone", "submission.route"),
    ({"email": ""}, ITEMS, "email", "email", "applicant.email"),
    ({"email": "not-an-address"}, ITEMS, "paper", "pickup", "applicant.email"),
    ({"address": ""}, ITEMS, "paper", "post", "applicant.address"),
    ({"email": "", "phone": "", "address": ""}, ITEMS, "paper", "pickup", "applicant.contact"),
    ({"name": "张\x00三"}, ITEMS, "paper", "pickup", "text.control"),
    ({}, ["坏\ud800字"], "paper", "pickup", "text.control"),
    ({"kind": "spaceship"}, ITEMS, "paper", "pickup", "applicant.kind"),
])
def test_refusals(w, over, items, form, route, rule):
    with pytest.raises(ServiceError) as e:
        clean_submission(applicant(**over), items, form, route)
    assert e.value.rule == rule
    assert e.value.message_zh


def test_an_organisation_with_a_valid_uscc(w):
    clean = clean_submission(applicant(kind="commercial", id_number=None, uscc=uscc_code(), name="某某有限公司"),
                             ITEMS, "paper", "post")
    assert clean.applicant["uscc"] == uscc_code() and clean.applicant["id_number"] is None


def test_confirmation_registers_the_case_on_the_confirmation_date(w, today, time_machine):
    stored = store_file("身份证明.pdf", pdf_bytes())
    clean = clean_submission(applicant(), ITEMS, "email", "email", [stored])
    sub = create_submission(agency("SWJ"), clean).submission
    db.session.commit()
    # confirmed two days later (Wednesday 2024-06-12): the receipt date is that day (rules.md §2)
    time_machine.move_to(datetime(2024, 6, 12, 9, 30, tzinfo=SHANGHAI), tick=False)
    case = confirm_submission(sub, user(w, "clerk"))
    db.session.commit()
    assert case.channel == "online"
    assert case.received_on == date(2024, 6, 12)
    assert case.arrived_on == date(2024, 6, 10)
    assert case.due_on == date(2024, 7, 10)          # 20 working days after 12 June
    assert case.status == "registered"
    assert [i.text for i in case.items] == ITEMS
    assert case.form_wanted == "email" and case.route_wanted == "email"
    assert case.query_code_hash == sub.query_code_hash
    assert case.applicant.id_number == applicant()["id_number"]
    assert sub.status == "confirmed" and sub.case_id == case.id and sub.reviewed_by_id == w.users["clerk"]
    scans = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert [(a.kind, a.filename, a.content_type, a.storage_path) for a in scans] == [
        ("scan", "身份证明.pdf", "application/pdf", stored.storage_path)]
    types = [e.type for e in case.events]
    assert types == ["received", "notice_sent"]
    assert case.events[1].payload["kind"] == "confirmation"


def test_routing_in_a_government_then_the_department_confirms(w, today, time_machine):
    sub = submit(code="SZF").submission
    desk = user(w, "desk")
    assert [a.code for a in route_targets(sub)] == ["JYJ", "SWJ"]      # by code
    with pytest.raises(ServiceError) as e:
        route_submission(sub, desk, agency("QT"), "不相关机关")
    assert e.value.rule == "submission.route_target"
    with pytest.raises(ServiceError) as e:
        route_submission(sub, desk, agency("SWJ"), "  ")
    assert e.value.rule == "submission.route_note"
    with pytest.raises(Forbidden):
        route_submission(sub, user(w, "clerk"), agency("SWJ"), "商务局不是持有人")
    route_submission(sub, desk, agency("JYJ"), "涉及学校，请教育局办理")
    db.session.commit()
    assert sub.status == "routed" and sub.agency_id == w.dept2
    # the education bureau sends it back; the desk routes it to commerce
    time_machine.move_to(datetime(2024, 6, 11, 9, 0, tzinfo=SHANGHAI), tick=False)
    assert [a.code for a in route_targets(sub)] == ["SZF"]
    with pytest.raises(ServiceError) as e:                              # 签收 first (handovers/services.py)
        route_submission(sub, user(w, "clerk2"), agency("SZF"), "不属于本局职责，退回")
    assert e.value.rule == "submission.unsigned"
    sign(pending_for_submission(sub), user(w, "clerk2"))
    route_submission(sub, user(w, "clerk2"), agency("SZF"), "不属于本局职责，退回")
    sign(pending_for_submission(sub), desk)
    route_submission(sub, desk, agency("SWJ"), "请商务局办理")
    db.session.commit()
    assert [(r["from_code"], r["to_code"], r["by_name"]) for r in sub.routing_log] == [
        ("SZF", "JYJ", "desk用户"), ("JYJ", "SZF", "clerk2用户"), ("SZF", "SWJ", "desk用户")]
    with pytest.raises(Forbidden):
        confirm_submission(sub, desk)                                   # the desk no longer holds it
    time_machine.move_to(datetime(2024, 6, 13, 9, 0, tzinfo=SHANGHAI), tick=False)
    sign(pending_for_submission(sub), user(w, "clerk"))
    case = confirm_submission(sub, user(w, "clerk"))
    db.session.commit()
    assert case.agency_id == w.dept and case.number.startswith("SWJ-2024-")
    assert case.received_on == date(2024, 6, 13)
    routed = [e for e in case.events if e.type == "routed"]
    assert [(e.on, e.payload["to_code"], e.payload["note"], e.actor_name) for e in routed] == [
        (date(2024, 6, 10), "JYJ", "涉及学校，请教育局办理", "desk用户"),
        (date(2024, 6, 11), "SZF", "不属于本局职责，退回", "clerk2用户"),
        (date(2024, 6, 11), "SWJ", "请商务局办理", "desk用户"),
    ]
    assert all(e.payload["submission"] == sub.number and e.status_before == "registered" for e in routed)
    assert case.due_on == date(2024, 7, 11)                             # routing moved no clock


def test_rejection_keeps_no_case_and_tells_the_applicant(w, today):
    sub = submit().submission
    with pytest.raises(ServiceError) as e:
        reject_submission(sub, user(w, "clerk"), "")
    assert e.value.rule == "submission.reason"
    reject_submission(sub, user(w, "clerk"), "内容为广告，不属于政府信息公开申请")
    db.session.commit()
    assert sub.status == "rejected" and sub.case_id is None
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.dedupe_key == f"submission:{sub.id}:rejected"))
    assert "内容为广告" in mail.body
    with pytest.raises(ServiceError) as e:
        confirm_submission(sub, user(w, "clerk"))
    assert e.value.rule == "submission.state"
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_two_clerks_confirming_at_once_make_one_case(w, today):
    sub = submit().submission
    stale_version = sub.version
    confirm_submission(sub, user(w, "clerk"), expected_version=stale_version)
    db.session.commit()
    with pytest.raises(ConflictError):
        confirm_submission(sub, user(w, "approver"), expected_version=stale_version)
    assert db.session.scalar(select(func.count(Case.id))) == 1


def test_queue_age_in_working_days(w, today, time_machine):
    time_machine.move_to(datetime(2024, 6, 7, 16, 0, tzinfo=SHANGHAI), tick=False)   # Friday
    old = submit(items=["周五提交"]).submission
    time_machine.move_to(datetime(2024, 6, 10, 9, 0, tzinfo=SHANGHAI), tick=False)   # Monday (端午 is 6-10!)
    new = submit(items=["周一提交"]).submission
    # 2024-06-10 is the Dragon Boat Festival holiday: Friday's submission has waited 0 working days
    assert age_in_workdays(old, today=date(2024, 6, 10)) == 0
    assert age_in_workdays(old, today=date(2024, 6, 11)) == 1
    assert age_in_workdays(old, today=date(2024, 6, 13)) == 3
    assert age_in_workdays(new, today=date(2024, 6, 13)) == 3
    s = queue_summary([w.dept], today=date(2024, 6, 13))
    assert (s.count, s.oldest_age, s.over_one_day) == (2, 3, 2)
    assert queue_summary([w.gov], today=date(2024, 6, 13)).count == 0


def test_the_queue_summary_counts_each_day_once_for_all_its_submissions(w, today):
    """public/services/queue.summary_of: the queue's days (one row a day, its submissions counted),
    each day's age in working days once; a day outside the calendar's years (2004-2060) counted but
    of no age (as age_in_workdays: None)."""
    from webapp.cases.services.calendar import current_calendar
    from webapp.public.services.queue import QueueSummary, summary_of

    cal = current_calendar()
    # 2024-06-07 (Friday): 3 working days by 06-13 (06-10 a holiday); 06-12: 1; 06-13: 0
    days = [(date(2024, 6, 12), 4), (date(2024, 6, 7), 2), (date(1990, 1, 2), 5), (date(2024, 6, 13), 1)]
    assert summary_of(days, cal, date(2024, 6, 13)) == QueueSummary(12, 3, 2)
    assert summary_of([], cal, date(2024, 6, 13)) == QueueSummary(0, None, 0)


def test_lookup_finds_by_number_and_code_and_throttles_failures(w, today, time_machine):
    result = submit()
    number, code = result.submission.number, result.query_code
    found = lookup(number, code.lower().replace("-", " "), remote_addr="198.51.100.1")
    assert found is not None and found.submission.id == result.submission.id
    # five wrong codes from five addresses: further wrong codes for the number are throttled
    for i in range(5):
        assert lookup(number, "AAAA-BBBB-CCCC", remote_addr=f"198.51.100.{10 + i}") is None
    db.session.commit()
    with pytest.raises(LookupThrottled):
        lookup(number, "AAAA-BBBB-CCCD", remote_addr="198.51.100.98")
    db.session.commit()
    assert db.session.scalar(select(func.count(LookupFailure.id)).where(
        LookupFailure.remote_addr == "198.51.100.98")) == 1            # and still counted
    # ... but nobody can lock the applicant out: the right code still gets through
    found = lookup(number, code, remote_addr="198.51.100.99")
    assert found is not None and found.submission.id == result.submission.id
    time_machine.move_to(datetime(2024, 6, 10, 11, 0, 1, tzinfo=SHANGHAI), tick=False)
    assert lookup(number, "AAAA-BBBB-CCCC", remote_addr="198.51.100.97") is None   # an hour later


def test_lookup_throttles_an_address_trying_many_numbers(w, today):
    result = submit()
    for i in range(5):
        assert lookup(f"WS-SWJ-20240610-00000{i}", "AAAA-BBBB-CCCC", remote_addr="192.0.2.7") is None
    db.session.commit()
    with pytest.raises(LookupThrottled):                             # a sixth wrong try from there
        lookup(result.submission.number, "AAAA-BBBB-CCCC", remote_addr="192.0.2.7")
    # someone else behind the same address (a carrier's NAT) with the right code is not locked out
    assert lookup(result.submission.number, result.query_code, remote_addr="192.0.2.7") is not None
    assert lookup(result.submission.number, result.query_code, remote_addr="192.0.2.8") is not None
    assert db.session.scalar(select(func.count(LookupFailure.id))) == 6


def test_lookup_by_case_number_and_the_status_view(w, today):
    result = submit()
    case = confirm_submission(result.submission, user(w, "clerk"))
    db.session.commit()
    found = lookup(case.number, result.query_code)
    assert found is not None and found.case.id == case.id and found.submission.id == result.submission.id
    view = status_view(found)
    assert view["status"] == "registered" and view["status_text"] == "已受理，正在办理"
    assert view["received_on"] == today and view["due_on"] == date(2024, 7, 8)
    assert view["number"] == result.submission.number and view["case_number"] == case.number
    assert [(n["title"], n["emailed"], n["mail_state"], n["mail_text"]) for n in view["notices"]] == [
        ("确认受理", False, "pending", "待发送")]           # written, not yet delivered
    assert set(view) == {"number", "case_number", "agency", "submitted_on", "received_on", "due_on",
                         "due_provisional", "closed_on", "reject_reason", "notices", "letters", "status",
                         "status_text"}                                  # nothing else of the case


def test_a_case_registered_on_paper_cannot_be_looked_up(w, today):
    from tests.factories import make_case

    case = make_case(agency("SWJ"), None, today, applicant=applicant(), items=ITEMS)
    db.session.commit()
    assert case.query_code_hash is None
    assert lookup(case.number, "AAAA-BBBB-CCCC") is None


def test_api_tokens_are_kept_as_hashes(w):
    row, token = issue_token(None, agency("SWJ"), "门户")
    db.session.commit()
    assert token.startswith("gkapi_") and token not in row.token_hash and len(row.token_hash) == 64
    assert find_token(token).id == row.id
    assert find_token(token + "x") is None and find_token(None) is None
    row.revoked_at = datetime(2024, 6, 10, 2, 0, tzinfo=UTC).replace(tzinfo=None)
    db.session.commit()
    assert find_token(token) is None


def test_provisional_due_date_is_marked(w, today, time_machine):
    # late in the last year the library knows: the 20 working days run into a year whose holidays are
    # not announced yet, so the due date is provisional
    from webapp.cases.services.calendar import current_calendar

    cal = current_calendar()
    last = max(y for y in range(cal.first_year, cal.last_year + 1) if y not in cal.provisional_years)
    time_machine.move_to(datetime(last, 12, 22, 10, 0, tzinfo=SHANGHAI), tick=False)
    result = submit()
    case = confirm_submission(result.submission, user(w, "clerk"))
    db.session.commit()
    view = status_view(lookup(result.submission.number, result.query_code))
    assert case.due_on.year == last + 1
    assert view["due_provisional"] is True and view["due_on"] == case.due_on


def test_the_received_event_is_first_and_the_history_chain_holds(w, today):
    result = submit()
    case = confirm_submission(result.submission, user(w, "clerk"))
    db.session.commit()
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2]
    assert events[1].prev_hash == events[0].hash


def test_a_rejected_submission_leaves_the_queue(w, today):
    sub = submit().submission
    assert queue_summary([w.dept]).count == 1
    reject_submission(sub, user(w, "clerk"), "空白内容")
    db.session.commit()
    assert queue_summary([w.dept]).count == 0
    assert sub.reviewed_at == datetime(2024, 6, 10, 2, 0, tzinfo=UTC).replace(tzinfo=None)   # naive UTC


def test_housekeeping_purges_old_failures_and_unsubmitted_files(w, today, time_machine, app):
    import os

    from webapp.models.submission import SubmissionFile
    from webapp.public.services import purge_lookup_failures, purge_unreferenced_files, resolve_storage_path

    lookup("WS-X", "AAAA")
    db.session.commit()
    kept = store_file("保留.pdf", pdf_bytes("kept"))
    left = store_file("放弃.pdf", pdf_bytes("left behind"))
    sub = submit().submission
    db.session.add(SubmissionFile(submission_id=sub.id, filename=kept.filename, content_type=kept.content_type,
                                  size=kept.size, sha256=kept.sha256, storage_path=kept.storage_path))
    db.session.commit()
    time_machine.move_to(datetime(2024, 6, 11, 10, 0, 1, tzinfo=SHANGHAI), tick=False)
    assert purge_lookup_failures() == 1
    for f in (kept, left):                       # the files are written with the real clock: age them
        os.utime(resolve_storage_path(f.storage_path), (0, 0))
    assert purge_unreferenced_files() == 1
    assert resolve_storage_path(kept.storage_path).is_file()
    assert not resolve_storage_path(left.storage_path).exists()
