"""Every column of every row one registration writes (issue 15: the registration's inserts as Core
statements rather than the ORM's unit of work): the applicant, its name on file, the case, its items,
its history events and the audit row of an identity choice, with the status counter the database's
triggers keep. Ids are compared as the references between the rows (the sequences are not rolled back)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event, inspect, select

from tests.factories import id_number
from tests.views.test_intake import form
from tests.views.test_province_scale import statements
from webapp.cases.services import event_hash, head_mac, register_case
from webapp.extensions import db
from webapp.models import Agency, Applicant, AuditLog, Case, CaseEvent, CaseItem, User
from webapp.models.applicant_name import ApplicantName
from webapp.models.status_count import CaseStatusCount, CaseStatusPending

NOW = datetime(2024, 6, 10, 2, 0, tzinfo=UTC).replace(tzinfo=None)   # the tests' frozen clock (10:00 in Shanghai)


def _row(obj) -> dict:
    return {c.name: getattr(obj, c.key) for c in obj.__mapper__.columns}


def _stored(number: str) -> dict:
    db.session.expire_all()
    case = db.session.scalar(select(Case).where(Case.number == number))
    app = db.session.get(Applicant, case.applicant_id)
    items = list(db.session.scalars(select(CaseItem).where(CaseItem.case_id == case.id).order_by(CaseItem.id)))
    events = list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    return {"case": _row(case), "applicant": _row(app), "items": [_row(i) for i in items],
            "events": [_row(e) for e in events],
            "name_on_file": db.session.get(ApplicantName, app.name) is not None}


def _hash(row: dict) -> str:
    return event_hash(row["prev_hash"], SimpleNamespace(**row))


def _counts(agency_id: int) -> dict[str, int]:
    """The agency's status counts the triggers keep: committed, and (PostgreSQL, until the real commit)
    pending under the transaction."""
    out: dict[str, int] = {}
    for model in (CaseStatusCount, CaseStatusPending):
        for status, n in db.session.execute(select(model.status, model.n).where(model.agency_id == agency_id)):
            out[status] = out.get(status, 0) + n
    return {k: v for k, v in out.items() if v}


def _ids_as_references(got: dict) -> dict:
    """The rows with their ids checked as references to each other and then left out, and each event's
    hash and the case's head MAC checked as recomputed and then left out."""
    case, app = got["case"], got["applicant"]
    assert case["applicant_id"] == app["id"]
    assert all(i["case_id"] == case["id"] for i in got["items"])
    assert [i["id"] for i in got["items"]] == sorted({i["id"] for i in got["items"]})
    prev = ""
    for e in got["events"]:
        assert e["case_id"] == case["id"] and e["prev_hash"] == prev and e["hash"] == _hash(e)
        prev = e["hash"]
    assert case["head_mac"] == head_mac(case["id"], len(got["events"]), prev)
    drop = {"id", "applicant_id", "case_id", "hash", "prev_hash", "head_mac"}
    return {"case": _without(case, drop), "applicant": _without(app, drop),
            "items": [_without(i, drop) for i in got["items"]], "events": [_without(e, drop) for e in got["events"]],
            "name_on_file": got["name_on_file"]}


def _without(row: dict, keys: set[str]) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


def _case(**kw: Any) -> dict:
    """The case row's every column but its ids and head MAC: a case just registered, received on 2024-06-07."""
    row = {"agency_id": None, "ref": "2024-0001", "number": "LZ-SWJ-2024-0001", "applicant_kind": "natural_person",
           "applicant_name": "李四", "channel": "in_person", "arrived_on": date(2024, 6, 7), "form_wanted": "paper",
           "route_wanted": "post", "notify_via": "email", "assigned_to_id": None, "query_code_hash": None,
           "note": "", "created_at": NOW, "version": 2, "event_count": 1, "status": "registered",
           "received_on": date(2024, 6, 7), "clock_start": date(2024, 6, 7), "due_on": date(2024, 7, 8),
           "due_provisional": False, "paused_since": None, "paused_due_on": None, "extended": False,
           "correction_notice_due_on": date(2024, 6, 19), "correction_reply_by": None,
           "consultation_due_on": None, "fee_due_on": None, "fee_amount": None, "fee_paid_on": None,
           "closed_on": None, "outcome": None, "late": None, "paused_days": 0, "days_to_answer": None,
           "calendar_version": "cal-8ab35fe1aa"}
    return {**row, **kw}


def _applicant(**kw: Any) -> dict:
    row = {"agency_id": None, "kind": "natural_person", "name": "李四", "id_number": id_number(), "uscc": None,
           "id_document": "", "phone": "13912345678", "email": "lisi@example.com", "address": "临淄区某某路1号",
           "created_at": NOW}
    return {**row, **kw}


def _received(on: date, channel: str, actor_id: int, **kw: Any) -> dict:
    row = {"seq": 1, "type": "received", "on": on, "payload": {"channel": channel}, "actor_id": actor_id,
           "actor_name": "临淄区商务局经办人", "recorded_at": NOW, "status_before": None,
           "status_after": "registered", "due_before": None, "due_after": date(2024, 7, 8),
           "corrects_event_id": None}
    return {**row, **kw}


def test_a_registration_posted_writes_these_rows(world, login, in_app):
    """The intake form: an assignee, a note, notices by SMS (written after the registration: version 3)."""
    client = login(world.a.clerk)
    r = client.post("/intake/new", data=form(assigned_to=str(world.a.clerk2), note=" 请尽快办理 ", notify_via="sms"))
    assert r.status_code == 302
    got, counts = in_app(lambda: (_ids_as_references(_stored("LZ-SWJ-2024-0001")), _counts(world.a.agency_id)))
    a = world.a.agency_id
    assert got == {
        "case": _case(agency_id=a, assigned_to_id=world.a.clerk2, note="请尽快办理", notify_via="sms", version=3),
        "applicant": _applicant(agency_id=a),
        "items": [{"position": 0, "text": "2023年度部门决算", "outcome": None},
                  {"position": 1, "text": "某某项目环评批复", "outcome": None}],
        "events": [_received(date(2024, 6, 7), "in_person", world.a.clerk)],
        "name_on_file": True}
    assert counts == {"registered": 1}


def test_a_registration_with_an_identity_choice_writes_these_rows(world, login, in_app):
    """register_case itself: by post (ordinary: received after the arrival), without an assignee (the clerk
    registering takes it), the same ID number under another name: the clerk's choice as a second event (the
    case updated by it: version 3) and an audit row."""
    client = login(world.a.clerk)
    assert client.post("/intake/new", data=form()).status_code == 302

    def second():
        swj = db.session.get(Agency, world.a.agency_id)
        clerk = db.session.get(User, world.a.clerk)
        case = register_case(swj, {"kind": "natural_person", "name": "李肆", "id_number": id_number(),
                                   "phone": "13912345678"}, ["某文件"], "post", date(2024, 6, 8), clerk,
                             arrived_on=date(2024, 6, 7), post_kind="ordinary", today=date(2024, 6, 10),
                             identity_choice="same_person")
        assert (case.version, case.event_count, case.status, case.due_on) == (3, 2, "registered", date(2024, 7, 8))
        return case.id

    case_id = in_app(second)

    def stored():
        audit = [_without(_row(r), {"id"}) for r in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
        return _ids_as_references(_stored("LZ-SWJ-2024-0002")), _counts(world.a.agency_id), audit

    got, counts, audit = in_app(stored)
    a = world.a.agency_id
    note = {"note": "该证件号码此前在本机关登记的申请人名称为：李四。经办人确认为同一申请人，本案按本次填写的信息登记；"
                    "此前案件的申请人信息不变。",
            "applicant_identity": {"choice": "same_person", "names_on_file": ["李四"], "corrected": []}}
    assert got == {
        "case": _case(agency_id=a, ref="2024-0002", number="LZ-SWJ-2024-0002", applicant_name="李肆",
                      channel="post", form_wanted="", route_wanted="", assigned_to_id=world.a.clerk, version=3,
                      event_count=2, received_on=date(2024, 6, 8), clock_start=date(2024, 6, 8)),
        "applicant": _applicant(agency_id=a, name="李肆", email="", address=""),
        "items": [{"position": 0, "text": "某文件", "outcome": None}],
        "events": [_received(date(2024, 6, 8), "post", world.a.clerk),
                   _received(date(2024, 6, 10), "", world.a.clerk, seq=2, type="note", payload=note,
                             status_before="registered", due_before=date(2024, 7, 8))],
        "name_on_file": True}
    assert counts == {"registered": 2}
    assert audit == [{"at": NOW, "user_id": world.a.clerk, "username": "swj_clerk",
                      "action": "applicant.identity_choice", "target_type": "case", "target_id": "LZ-SWJ-2024-0002",
                      "ip": "", "detail": {"choice": "same_person", "identity": "3703**********0017",
                                           "names_on_file": ["李四"], "corrected": []}}]
    assert case_id is not None


def test_a_registration_writes_without_the_unit_of_work_and_hands_back_its_case_loaded(app, world, in_app):
    """The rows go as Core INSERTs, not through a flush of the session; the case handed back is
    persistent as if read, with its applicant, items and event: reading them sends no statement,
    and a change to it is an UPDATE under its version (2), as before."""
    def run():
        flushes = []
        session = db.session()
        event.listen(session, "before_flush", lambda *a: flushes.append(1))
        swj = db.session.get(Agency, world.a.agency_id)
        clerk = db.session.get(User, world.a.clerk)
        case = register_case(swj, {"kind": "natural_person", "name": "李四", "id_number": id_number()},
                             ["甲", "乙", "丙"], "in_person", date(2024, 6, 7), clerk, today=date(2024, 6, 10))
        state = inspect(case)
        with statements(app) as seen:
            shown = (case.version, case.number, case.applicant_name, case.applicant.name, case.created_at,
                     [(i.position, i.text) for i in case.items], [(e.seq, e.type, e.case is case) for e in case.events],
                     case.appeals, case.attachments, case.agency is swj, case.items[2].case is case)
            columns = {c.key: getattr(case, c.key) for c in Case.__mapper__.columns}
        assert seen == []
        assert (state.persistent, list(session.new), list(session.dirty), flushes) == (True, [], [], [])
        assert shown == (2, "LZ-SWJ-2024-0001", "李四", "李四", NOW, [(0, "甲"), (1, "乙"), (2, "丙")],
                         [(1, "received", True)], [], [], True, True)
        assert columns["event_count"] == 1 and columns["status"] == "registered"
        case.note = "改"
        with statements(app) as seen:
            db.session.flush()
        assert [s.split()[0:3] for s in seen] == [["UPDATE", '"case"', "SET"]] and "version" in seen[0]
        return case.version

    assert in_app(run) == 3
