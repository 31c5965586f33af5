"""签收 (issue 16): a routed application waits in the receiving office's queue until a clerk signs for
it or sends it back with a reason; routing and signing change no receipt or due date; the routing
office sees its unsigned routings with their age; the unsigned reminder comes once a day."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text

from tests.factories import make_case
from tests.views.test_status_counter import assert_counter_right
from webapp.domain.states import HandoverStatus
from webapp.errors import Forbidden, ServiceError
from webapp.extensions import db
from webapp.handovers.services import route_case, send_back, sign
from webapp.models import Agency, AuditLog, Case, Notification, User
from webapp.models.handover import Handover
from webapp.models.submission import Submission
from webapp.public.services import clean_submission, confirm_submission, create_submission
from webapp.timeutil import SHANGHAI

from .conftest import applicant


def _agency(code: str) -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def _submit(in_app, code: str = "SZF") -> int:
    def go():
        clean = clean_submission(applicant(), ["2023年度部门预算"], "email", "email")
        return create_submission(_agency(code), clean, remote_addr="203.0.113.9").submission.id

    return in_app(go)


def _table(html: str, table_id: str) -> str:
    m = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    return m.group(0) if m else ""


def _handover_id(in_app) -> int:
    return in_app(lambda: db.session.scalar(select(Handover.id).order_by(Handover.id.desc())))


def test_route_then_the_department_signs_and_it_is_theirs(app, client, world, login, in_app, today):
    sid = _submit(in_app)
    login(world.users["desk"])
    client.post(f"/queue/{sid}/route", data={"version": 1, "target": str(world.dept), "note": "请商务局办理"})
    number = in_app(lambda: db.session.get(Submission, sid).number)

    login(world.users["clerk"])
    html = client.get("/queue/").get_data(as_text=True)
    assert number in _table(html, "queue-unsigned")          # 待签收 ...
    assert number not in _table(html, "queue-pending")       # ... not in the working queue as its own
    incoming = _table(client.get("/handovers/").get_data(as_text=True), "handovers-incoming")
    assert number in incoming and "请商务局办理" in incoming and "示范市人民政府" in incoming
    dash = client.get("/").get_data(as_text=True)
    assert re.search(r'id="handover-summary".*?<strong>1</strong> 件分办来的申请待签收', dash, re.S)
    assert re.search(r'id="handover-bell"[^>]*>待签收 <span class="bell-count">1</span>', dash)
    # before signing the department cannot confirm it
    r = client.post(f"/queue/{sid}/confirm", data={"version": 2}, follow_redirects=True)
    assert "该网上申请已分办，待签收：请先签收，或退回分办机关" in r.get_data(as_text=True)
    assert in_app(lambda: db.session.scalar(select(func.count(Case.id)))) == 0

    hid = _handover_id(in_app)
    r = client.post(f"/handovers/{hid}/sign", follow_redirects=True)
    assert f"已签收 {number}，现由本机关办理。" in r.get_data(as_text=True)
    html = client.get("/queue/").get_data(as_text=True)
    assert number in _table(html, "queue-pending") and _table(html, "queue-unsigned") == ""
    assert 'id="handover-summary"' not in client.get("/").get_data(as_text=True)

    def check():
        h = db.session.get(Handover, hid)
        assert (h.status, h.signed_by_id, h.to_agency_id, h.from_agency_id) == (
            "signed", world.users["clerk"], world.dept, world.gov)
        assert h.signed_at is not None and h.routed_at <= h.signed_at
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.in_(
            ["submission.routed", "handover.signed"])).order_by(AuditLog.id)))
        assert actions == ["submission.routed", "handover.signed"]
        sub = db.session.get(Submission, sid)
        case = confirm_submission(sub, db.session.get(User, world.users["clerk"]))
        assert case.agency_id == world.dept and case.received_on == today   # Art. 31: on confirmation

    in_app(check)


def test_return_with_reason_then_reroute_and_sign_elsewhere(app, client, world, login, in_app, today):
    sid = _submit(in_app)
    login(world.users["desk"])
    client.post(f"/queue/{sid}/route", data={"version": 1, "target": str(world.dept), "note": "请商务局办理"})
    hid = _handover_id(in_app)
    login(world.users["clerk"])
    r = client.post(f"/handovers/{hid}/return", data={"reason": "   "}, follow_redirects=True)
    assert "请填写退回理由" in r.get_data(as_text=True)
    assert in_app(lambda: db.session.get(Handover, hid).status) == "pending"
    r = client.post(f"/handovers/{hid}/return", data={"reason": "属于教育局职责"}, follow_redirects=True)
    assert "已将 " in r.get_data(as_text=True) and "退回 示范市人民政府" in r.get_data(as_text=True)

    def returned():
        sub = db.session.get(Submission, sid)
        h = db.session.get(Handover, hid)
        assert (sub.agency_id, sub.status) == (world.gov, "submitted")
        assert (h.status, h.return_reason, h.returned_by_id) == ("returned", "属于教育局职责", world.users["clerk"])
        assert sub.routing_log[-1]["note"] == "退回：属于教育局职责" and sub.routing_log[-1]["to_code"] == "SZF"
        return sub.number, sub.version

    number, version = in_app(returned)
    # back at the routing office, with the reason shown
    login(world.users["desk"])
    assert number in _table(client.get("/queue/").get_data(as_text=True), "queue-pending")
    detail = client.get(f"/queue/{sid}").get_data(as_text=True)
    assert re.search(r'id="returned-reason".*?示范市商务局于 .*?退回，理由：<span class="pre">属于教育局职责</span>',
                     detail, re.S)
    assert "属于教育局职责" in _table(client.get("/handovers/").get_data(as_text=True), "handovers-returned")
    # routed again, to another department, signed there
    client.post(f"/queue/{sid}/route", data={"version": version, "target": str(world.dept2), "note": "请教育局办理"})
    hid2 = _handover_id(in_app)
    assert hid2 != hid
    login(world.users["clerk"])                         # the first department sees nothing of it now
    assert client.post(f"/handovers/{hid2}/sign").status_code == 404
    assert number not in client.get("/handovers/").get_data(as_text=True)
    login(world.users["clerk2"])
    assert number in _table(client.get("/handovers/").get_data(as_text=True), "handovers-incoming")
    assert client.post(f"/handovers/{hid2}/sign").status_code == 302

    def signed():
        sub = db.session.get(Submission, sid)
        assert (sub.agency_id, sub.status) == (world.dept2, "routed")
        assert db.session.get(Handover, hid2).status is HandoverStatus.SIGNED    # the enum, read back
        assert db.session.get(Handover, hid).status is HandoverStatus.RETURNED
        assert db.session.scalar(text("SELECT status FROM handover WHERE id = :i"), {"i": hid}) == "returned"
        assert list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("handover.%"))
                                       .order_by(AuditLog.id))) == ["handover.returned", "handover.signed"]

    in_app(signed)


def _gov_case(today_: date) -> Case:
    desk = db.session.scalar(select(User).where(User.username == "desk"))
    return make_case(_agency("SZF"), desk, today_, applicant=applicant(), items=["2023年度部门预算"], today=today_,
                     assigned_to=None)


def test_case_routing_and_signing_change_no_date(app, world, in_app, time_machine):
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)

    def register():
        case = _gov_case(date(2024, 6, 12))
        return case.id, case.received_on, case.due_on

    case_id, received, due = in_app(register)
    assert (received, due) == (date(2024, 6, 12), date(2024, 7, 10))

    def route():
        case = db.session.get(Case, case_id)
        desk = db.session.get(User, world.users["desk"])
        with pytest.raises(ServiceError) as e:
            route_case(case, desk, _agency("QT"), "不相关")
        assert e.value.message_zh == "只能转办给本机关的所属部门"
        with pytest.raises(ServiceError) as e:
            route_case(case, desk, _agency("SWJ"), " ")
        assert e.value.message_zh == "请填写转办说明"
        with pytest.raises(Forbidden):
            route_case(case, db.session.get(User, world.users["clerk"]), _agency("SWJ"), "不是本机关的案件")
        return route_case(case, desk, _agency("SWJ"), "请商务局办理").id

    hid = in_app(route)
    time_machine.move_to(datetime(2024, 6, 14, 15, 0, tzinfo=SHANGHAI), tick=False)

    def do_sign():
        case = db.session.get(Case, case_id)
        assert case.agency_id == world.gov                     # the router's until signed for
        h = db.session.get(Handover, hid)
        with pytest.raises(Forbidden) as e:
            sign(h, db.session.get(User, world.users["clerk2"]))   # another department: refused
        assert e.value.message_zh == "只能签收分办给本机关的申请"
        sign(h, db.session.get(User, world.users["clerk"]))

    in_app(do_sign)

    def check():
        case = db.session.get(Case, case_id)
        assert (case.agency_id, case.received_on, case.due_on) == (world.dept, date(2024, 6, 12), date(2024, 7, 10))
        notes = [e for e in sorted(case.events, key=lambda e: e.seq) if e.type in ("routed", "signed_for")]
        assert [(e.type, e.on) for e in notes] == [("routed", date(2024, 6, 12)), ("signed_for", date(2024, 6, 14))]
        assert all(e.status_before == e.status_after == "registered" for e in notes)
        assert notes[0].payload["to_code"] == "SWJ" and notes[0].payload["note"] == "请商务局办理"
        assert (notes[1].payload["waited_workdays"], notes[1].payload["waited_hours"]) == (2, 54)
        h = db.session.get(Handover, hid)
        assert (h.routed_on, h.status) == (date(2024, 6, 12), "signed")
        # the status counter moved the case from the router to the department (cases/status_counts.py)
        counts = assert_counter_right()
        assert (counts.get((world.gov, "registered")), counts[(world.dept, "registered")]) == (None, 1)

    in_app(check)


def test_case_sent_back_stays_with_the_router_and_dates_stay(app, world, in_app, time_machine):
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)

    def go():
        case = _gov_case(date(2024, 6, 12))
        h = route_case(case, db.session.get(User, world.users["desk"]), _agency("SWJ"), "请商务局办理")
        send_back(h, db.session.get(User, world.users["clerk"]), "不属于本局职责")
        assert (case.agency_id, case.received_on, case.due_on) == (world.gov, date(2024, 6, 12), date(2024, 7, 10))
        ev = max(case.events, key=lambda e: e.seq)
        assert (ev.type, ev.payload["reason"], ev.payload["to_code"]) == ("returned_to_router", "不属于本局职责", "SZF")
        # routed again, to the other department
        h2 = route_case(case, db.session.get(User, world.users["desk"]), _agency("JYJ"), "请教育局办理")
        sign(h2, db.session.get(User, world.users["clerk2"]))
        assert (case.agency_id, case.due_on) == (world.dept2, date(2024, 7, 10))

    in_app(go)


def test_the_unsigned_reminder_comes_once_a_day(app, world, in_app, time_machine):
    from webapp.notify.reminders import sweep

    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)

    def route():
        case = _gov_case(date(2024, 6, 12))
        _submit_plain = create_submission(_agency("SZF"), clean_submission(applicant(name="李四"), ["预算"],
                                                                            "email", "email")).submission
        from webapp.public.services import route_submission

        route_submission(_submit_plain, db.session.get(User, world.users["desk"]), _agency("SWJ"), "网上申请")
        return route_case(case, db.session.get(User, world.users["desk"]), _agency("SWJ"), "请商务局办理").id

    hid = in_app(route)

    def count(day: date) -> list[tuple[int, date]]:
        return sorted(db.session.execute(select(Notification.recipient_id, Notification.ref_date).where(
            Notification.kind == "handover_unsigned", Notification.dedupe_key.contains(f":{day.isoformat()}:"))).all())

    expected = sorted([(world.users["clerk"], date(2024, 7, 10)), (world.users["approver"], date(2024, 7, 10))])

    def first():
        r1 = sweep(date(2024, 6, 12))
        r2 = sweep(date(2024, 6, 12))
        assert r1.by_kind.get("handover_unsigned") == 2 and r2.by_kind.get("handover_unsigned") is None
        assert count(date(2024, 6, 12)) == expected
        n = db.session.scalar(select(Notification).where(Notification.kind == "handover_unsigned"))
        assert n.link == "/handovers/" and n.title.startswith("转办案件待签收：SZF-2024-")
        # the digest mail tells it in words, with the link to the list to sign
        from webapp.models import OutboxMail
        from webapp.notify.reminders import compose_digest

        assert r1.mails == 2
        _subject, body = compose_digest(db.session.get(OutboxMail, r1.mail_ids[0]))
        assert "转办案件待签收" in body and "/handovers/" in body and "请尽快签收" in body

    in_app(first)
    time_machine.move_to(datetime(2024, 6, 13, 9, 0, tzinfo=SHANGHAI), tick=False)

    def second_day():
        assert sweep(date(2024, 6, 13)).by_kind.get("handover_unsigned") == 2
        assert sweep(date(2024, 6, 13)).by_kind.get("handover_unsigned") is None
        assert count(date(2024, 6, 13)) == expected
        sign(db.session.get(Handover, hid), db.session.get(User, world.users["clerk"]))

    in_app(second_day)
    time_machine.move_to(datetime(2024, 6, 14, 9, 0, tzinfo=SHANGHAI), tick=False)
    in_app(lambda: (sweep(date(2024, 6, 14)), None)[1])
    assert in_app(lambda: count(date(2024, 6, 14))) == []          # signed: no more
    # 4 in all: the submission routed with no clock running never reminded
    assert in_app(lambda: db.session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == "handover_unsigned"))) == 4


def test_the_unsigned_reminder_comes_from_the_sweeps_one_selection_statement(app, world, in_app, time_machine):
    """签收 reminders are a branch of the sweep's one selection statement (UNION ALL with the case
    deadlines, notify/reminders/sweep._selection): no statement of their own reads the handovers, and
    the readers (the receiving office's clerk and approver) come with the sweep's one people statement."""
    from sqlalchemy import event

    from webapp.notify.reminders import sweep

    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    in_app(lambda: route_case(_gov_case(date(2024, 6, 12)), db.session.get(User, world.users["desk"]),
                              _agency("SWJ"), "请商务局办理").id)
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    def go():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            return sweep(date(2024, 6, 12))
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    result = in_app(go)
    reading = [s for s in seen if "handover" in s]
    assert len(reading) == 1 and "UNION ALL" in reading[0] and "due_on <=" in reading[0]
    assert len([s for s in seen if s.replace('"', "").startswith("SELECT user.id")]) == 1
    assert result.by_kind == {"handover_unsigned": 2}
    assert in_app(lambda: sorted(db.session.execute(select(Notification.recipient_id, Notification.ref_date,
                                                          Notification.days_left, Notification.link))
                                 .all())) == sorted([(world.users["clerk"], date(2024, 7, 10), 20, "/handovers/"),
                                                     (world.users["approver"], date(2024, 7, 10), 20, "/handovers/")])


def test_the_routing_office_sees_its_unsigned_routings_with_their_age(app, client, world, login, in_app,
                                                                       time_machine):
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)

    def route():
        case = _gov_case(date(2024, 6, 12))
        route_case(case, db.session.get(User, world.users["desk"]), _agency("SWJ"), "请商务局办理")
        return case.number

    number = in_app(route)
    time_machine.move_to(datetime(2024, 6, 14, 15, 30, tzinfo=SHANGHAI), tick=False)
    login(world.users["desk"])
    unsigned = _table(client.get("/handovers/").get_data(as_text=True), "handovers-unsigned")
    assert re.search(rf"<td>{number}</td>\s*<td>示范市商务局</td>\s*<td>请商务局办理</td>\s*"
                     r"<td>2024-06-12 09:00</td>\s*<td class=\"ho-age\">2个工作日（54小时）</td>", unsigned)
    # only the routing office's own routings: another department sees nothing of it
    login(world.users["clerk2"])
    html = client.get("/handovers/").get_data(as_text=True)
    assert number not in html
    # the receiving department sees it to sign, with the same age
    login(world.users["clerk"])
    incoming = _table(client.get("/handovers/").get_data(as_text=True), "handovers-incoming")
    assert number in incoming and "2个工作日（54小时）" in incoming
    # an auditor of the department reads, cannot sign
    login(world.users["auditor"])
    hid = _handover_id(in_app)
    assert client.post(f"/handovers/{hid}/sign").status_code == 403
    assert in_app(lambda: db.session.get(Handover, hid).status) == "pending"


def test_a_case_closed_by_the_router_meanwhile_cannot_be_signed_for_only_sent_back(app, world, in_app,
                                                                                     time_machine):
    from webapp.cases.services import record_event
    from webapp.domain.workflow import Event, EventType

    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)

    def go():
        desk = db.session.get(User, world.users["desk"])
        case = _gov_case(date(2024, 6, 12))
        h = route_case(case, desk, _agency("SWJ"), "请商务局办理")
        record_event(case, Event(EventType.WITHDRAWN, date(2024, 6, 12)), desk, today=date(2024, 6, 12))
        clerk = db.session.get(User, world.users["clerk"])
        with pytest.raises(ServiceError) as e:
            sign(h, clerk)
        assert e.value.message_zh == "案件已由转办机关办结，不能签收，请退回"
        send_back(h, clerk, "申请人已撤回")
        assert (h.status, case.agency_id) == ("returned", world.gov)

    in_app(go)
