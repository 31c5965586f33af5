"""Non-statutory events in the interchange document (docs/interchange.md, "Non-statutory events";
webapp/cases/services/interchange_notes.py): review steps, sign-off and supervision notices recorded by
the real services are exported in history order with exact payloads, imported back as hash-chained
history events that change no derived field, idempotently, compared on re-import, refused with the
case and the event index when bad, and masked by ``--mask``."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.conftest import empty_tables
from tests.factories import make_case, make_user, make_world, person
from webapp.cases.actions import BY_NAME
from webapp.cases.services.interchange import ImportError_, import_document
from webapp.cases.services.interchange_notes import NOTE_TYPES
from webapp.extensions import db
from webapp.models import Agency, Case, CaseEvent, User
from webapp.review import services as rv
from webapp.supervision.services import reply_notice, send_notice
from webapp.trust.audit_verify import verify_chains

AS_OF = "2024-06-10"
APPLICANT = person("张三丰")

EXPECTED_EVENTS = [
    {"type": "received", "on": "2024-06-03", "channel": "in_person"},
    {"type": "review_submitted", "on": "2024-06-04", "action": "answer", "kind": "answer_adverse", "round": 1,
     "by": "临淄区商务局经办人"},
    {"type": "supervision", "on": "2024-06-05", "text": "请加快办理张三丰的申请，并报告进展",
     "reply_by": "2024-06-14", "by": "区政府办公室督查员"},
    {"type": "review_returned", "on": "2024-06-05", "action": "answer", "kind": "answer_adverse", "round": 1,
     "step": "科室审核", "opinion": "请向张三丰（13812345678）核实第二项", "by": "临淄区商务局经办人二"},
    {"type": "supervision_reply", "on": "2024-06-06", "text": "已核实，拟于6月10日答复", "by": "临淄区商务局经办人"},
    {"type": "review_submitted", "on": "2024-06-06", "action": "answer", "kind": "answer_adverse", "round": 2,
     "by": "临淄区商务局经办人"},
    {"type": "review_approved", "on": "2024-06-07", "action": "answer", "kind": "answer_adverse", "round": 2,
     "step": "科室审核", "opinion": "同意", "by": "临淄区商务局经办人二"},
    {"type": "answered", "on": "2024-06-10", "outcome": "unavailable.not_held"},
    {"type": "signed_off", "on": "2024-06-10", "action": "answer", "kind": "answer_adverse", "round": 2,
     "opinion": "同意签发", "event_type": "answered", "by": "临淄区商务局负责人"},
]


def _u(uid: int) -> User:
    return db.session.get(User, uid)


def _build(app) -> None:
    """One case worked through the real review and supervision services."""
    with app.test_request_context():
        w = make_world()
        clerk, clerk2, approver = _u(w.a.clerk), _u(w.a.clerk2), _u(w.a.approver)
        agency = clerk.agency
        rv.set_chain(agency, "answer_adverse", True, [{"title": "科室审核", "reviewer_id": w.a.clerk2}],
                     _u(w.a.admin))
        case = make_case(agency, clerk, date(2024, 6, 3), items=["2023年度部门预算", "某项目批复"],
                         applicant=APPLICANT, today=date(2024, 6, 3))
        inspector = make_user(None, "admin", "sv_inspector", "区政府办公室督查员")
        db.session.flush()
        data = {"answer-outcomes-0": "unavailable.not_held", "answer-outcomes-1": "unavailable.not_held",
                "answer-text": "", "answer-main_ground": ""}
        d = rv.submit(case, "answer", rv.rebuild_form(BY_NAME["answer"], data, case, date(2024, 6, 4)), clerk,
                      date(2024, 6, 4))
        notice = send_notice(inspector, agency, "请加快办理张三丰的申请，并报告进展", date(2024, 6, 14), case=case,
                             today=date(2024, 6, 5))
        rv.return_(d, clerk2, "请向张三丰（13812345678）核实第二项", date(2024, 6, 5))
        reply_notice(notice, clerk, "已核实，拟于6月10日答复", today=date(2024, 6, 6))
        d = rv.submit(case, "answer", rv.rebuild_form(BY_NAME["answer"], data, case, date(2024, 6, 6)), clerk,
                      date(2024, 6, 6))
        rv.approve(d, clerk2, "", date(2024, 6, 7))
        rv.sign_off(d, approver, "同意签发", date(2024, 6, 10))
        db.session.commit()


def _export(cli, *extra: str) -> str:
    res = cli.invoke(args=["cases", "export", "--agency", "LZ-SWJ", "--as-of", AS_OF, *extra])
    assert res.exit_code == 0, res.output
    return res.stdout


def _import(app, doc: dict) -> dict:
    with app.app_context():
        try:
            stats = import_document(doc, date(2024, 6, 10))
            db.session.commit()
            return stats
        except Exception:
            db.session.rollback()
            raise


def _refusal(app, doc: dict) -> ImportError_:
    with app.app_context():
        with pytest.raises(ImportError_) as e:
            import_document(doc, date(2024, 6, 10))
        db.session.rollback()
    return e.value


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Case)),
                db.session.scalar(select(func.count()).select_from(CaseEvent)))


def _statutory_only(doc: dict) -> dict:
    out = copy.deepcopy(doc)
    for c in out["cases"]:
        c["events"] = [e for e in c["events"] if e["type"] not in NOTE_TYPES]
    return out


DERIVED = ("status", "due_on", "working_days_left", "closed_on", "outcome", "late")


@pytest.fixture
def exported(app, cli, today):
    _build(app)
    return _export(cli)


def test_review_and_supervision_events_exported_in_history_order(exported):
    case = json.loads(exported)["cases"][0]
    assert case["events"] == EXPECTED_EVENTS
    # internal ids (draft, notice, event seq, users) never leave the service
    assert all(k not in e for e in case["events"] for k in ("draft", "notice_id", "event_seq", "actor_id"))
    assert {k: case[k] for k in DERIVED} == {"status": "closed", "due_on": None, "working_days_left": None,
                                             "closed_on": "2024-06-10", "outcome": "unavailable.not_held",
                                             "late": False}


def test_export_import_into_a_fresh_database_export_is_byte_equal(app, cli, exported):
    empty_tables(app)
    stats = _import(app, json.loads(exported))
    assert stats == {"cases_new": 1, "cases_unchanged": 0, "events_added": 8, "appeals": 0}
    assert _export(cli) == exported
    with app.app_context():   # appended as history events, hash-chained like the others
        rows = db.session.scalars(select(CaseEvent).order_by(CaseEvent.seq)).all()
        assert [r.type for r in rows] == ["received", "review_submitted", "supervision_notice", "review_returned",
                                          "supervision_reply", "review_submitted", "review_approved", "answered",
                                          "signed_off"]
        assert all(r.prev_hash == p.hash for p, r in itertools.pairwise(rows))
        check = verify_chains()        # `flask audit verify`: chain, head and derived columns all match
        assert (check.cases, check.events, check.broken) == (1, 9, [])
        assert rows[3].payload == {"action": "answer", "kind": "answer_adverse", "round": 1, "step": "科室审核",
                                   "opinion": "请向张三丰（13812345678）核实第二项"}
        assert rows[3].actor_name == "临淄区商务局经办人二" and rows[3].actor_id is None


def test_reimport_is_idempotent_and_an_old_document_still_reads(app, cli, exported):
    doc = json.loads(exported)
    empty_tables(app)
    _import(app, doc)
    before = _counts(app)
    assert _import(app, doc) == {"cases_new": 0, "cases_unchanged": 1, "events_added": 0, "appeals": 0}
    # a document without them (the format before they were carried) reads as unchanged, not a conflict
    assert _import(app, _statutory_only(doc)) == {"cases_new": 0, "cases_unchanged": 1, "events_added": 0,
                                                  "appeals": 0}
    assert _counts(app) == before
    assert _export(cli) == exported


def test_newer_document_appends_only_the_new_events(app, cli, exported):
    doc = json.loads(exported)
    empty_tables(app)
    older = copy.deepcopy(doc)
    older["cases"][0]["events"] = older["cases"][0]["events"][:4]
    assert _import(app, older)["events_added"] == 3
    assert _import(app, doc)["events_added"] == 5
    assert _export(cli) == exported


def test_derived_statutory_fields_unchanged_by_them(app, cli, exported):
    doc = json.loads(exported)
    empty_tables(app)
    _import(app, _statutory_only(doc))
    with app.app_context():
        plain_row = db.session.scalar(select(Case))
        plain = (plain_row.status, plain_row.due_on, plain_row.received_on, plain_row.extended)
    plain_export = json.loads(_export(cli))["cases"][0]
    empty_tables(app)
    _import(app, doc)
    with app.app_context():
        row = db.session.scalar(select(Case))
        assert (row.status, row.due_on, row.received_on, row.extended) == plain == ("closed", None, date(2024, 6, 3),
                                                                                  False)
    got = json.loads(_export(cli))["cases"][0]
    assert {k: got[k] for k in DERIVED} == {k: plain_export[k] for k in DERIVED}
    # an open case too: the review events leave its due date and days left as they were (20 working
    # days from 3 June 2024, the Dragon Boat Festival on 10 June not counted)
    for d in (doc, _statutory_only(doc)):
        empty_tables(app)
        d = copy.deepcopy(d)
        d["cases"][0]["events"] = [e for e in d["cases"][0]["events"] if e["type"] not in ("answered", "signed_off")]
        _import(app, d)
        assert {k: json.loads(_export(cli))["cases"][0][k] for k in DERIVED} == {
            "status": "registered", "due_on": "2024-07-02", "working_days_left": 16, "closed_on": None,
            "outcome": None, "late": None}


def test_changed_payload_of_a_recorded_event_is_a_conflict(app, exported):
    doc = json.loads(exported)
    empty_tables(app)
    _import(app, doc)
    before = _counts(app)
    changed = copy.deepcopy(doc)
    changed["cases"][0]["events"][3]["opinion"] = "同意"
    e = _refusal(app, changed)
    assert e.rule == "case.conflict" and e.context == {"case_ref": doc["cases"][0]["ref"], "event_index": 3}
    assert str(e).startswith(f"case {doc['cases'][0]['ref']}, event 3: review_returned on 2024-06-05")
    assert e.message_zh == f"案件 {doc['cases'][0]['ref']} 第 3 个事件：与已记录的办理过程事件不一致，办理记录不能改写"
    moved = copy.deepcopy(doc)   # a recorded event at another place among the statutory ones
    ev = moved["cases"][0]["events"]
    ev[7], ev[8] = ev[8], ev[7]
    assert _refusal(app, moved).rule == "case.conflict"
    assert _counts(app) == before


@pytest.mark.parametrize(("index", "change", "rule", "zh"), [
    (1, {"type": "review_escalated"}, "event.invalid", "未知的事件类型 'review_escalated'"),
    (3, {"round": "1"}, "review_returned.round", "review_returned）：拟办轮次须为1至99的整数"),
    (3, {"opinion": "意" * 1001}, "review_returned.opinion", "review_returned）：意见须为1至1000字的文本"),
    (3, {"step": None}, "review_returned.step", "review_returned）：缺少审批环节（step）"),
    (2, {"reply_by": "2024-06-31"}, "supervision.reply_by", "supervision）：回复期限须为 YYYY-MM-DD 格式的日期"),
    (2, {"on": "2024-06-01"}, "supervision.date", "supervision）：日期 2024-06-01 早于收到申请之日"),
    (2, {"on": "2024-06-11"}, "supervision.date", "supervision）：日期 2024-06-11 晚于今天"),
    (8, {"event_type": "approved"}, "signed_off.event_type", "signed_off）：签发事项无效：'approved'"),
    (4, {"notice_id": 7}, "event.invalid", "supervision_reply）：未知字段 notice_id"),
])
def test_bad_non_statutory_event_refused_naming_case_and_index(app, exported, index, change, rule, zh):
    doc = json.loads(exported)
    empty_tables(app)
    ref = doc["cases"][0]["ref"]
    ev = doc["cases"][0]["events"][index]
    ev.update(change)
    for k in [k for k, v in ev.items() if v is None]:
        del ev[k]
    e = _refusal(app, doc)
    assert e.rule == rule
    assert str(e).startswith(f"case {ref}, event {index}: ") and str(e).endswith(f"[{rule}]")
    assert e.message_zh.startswith(f"案件 {ref} 第 {index} 个事件") and zh in e.message_zh
    assert _counts(app) == (0, 0)      # all or nothing
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agency)) == 0


def test_cli_refusal_names_case_and_event(app, cli, exported, tmp_path):
    doc = json.loads(exported)
    empty_tables(app)
    doc["cases"][0]["events"][5]["kind"] = "bonus"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    res = cli.invoke(args=["cases", "import", str(path)])
    assert res.exit_code != 0 and "Traceback" not in res.output
    line = res.output.strip().splitlines()[-1]
    assert f"case {doc['cases'][0]['ref']}, event 5" in line and "[review_submitted.kind]" in line


def test_mask_hides_the_applicant_in_their_payloads(cli, exported):
    masked = _export(cli, "--mask")
    events = json.loads(masked)["cases"][0]["events"]
    body = json.dumps(events, ensure_ascii=False)
    assert "张三丰" not in body and "13812345678" not in body
    assert events[2]["text"] == "请加快办理张**的申请，并报告进展"
    assert events[3]["opinion"] == "请向张**（138****5678）核实第二项"
    # staff names stay; everything else is as unmasked
    assert events[3]["by"] == "临淄区商务局经办人二" and events[2]["by"] == "区政府办公室督查员"
    plain = json.loads(exported)["cases"][0]["events"]
    assert [e for i, e in enumerate(events) if i not in (2, 3)] == [e for i, e in enumerate(plain) if i not in (2, 3)]


def test_a_note_from_another_system_is_kept_as_a_remark_and_exported_back(app, cli, exported):
    from webapp.cases.view import event_label, payload_summary

    doc = json.loads(exported)
    note = {"type": "note", "on": "2024-06-04", "text": "申请人来电询问进度", "by": "前台"}
    doc["cases"][0]["events"].insert(1, note)
    empty_tables(app)
    assert _import(app, doc)["events_added"] == 9
    assert json.loads(_export(cli))["cases"][0]["events"] == [EXPECTED_EVENTS[0], note, *EXPECTED_EVENTS[1:]]
    with app.app_context():
        row = db.session.scalar(select(CaseEvent).where(CaseEvent.seq == 2))
        assert (row.type, row.payload, row.actor_name) == ("remark", {"text": "申请人来电询问进度"}, "前台")
        assert (event_label(row.type), payload_summary(row)) == ("备注", [("备注", "申请人来电询问进度")])
    # the service's own notes (an identity check names the applicant's other filings) are not exported
    with app.app_context():
        case = db.session.scalar(select(Case))
        from webapp.cases.services import add_note

        add_note(case, "note", date(2024, 6, 10), {"note": "核对身份", "applicant_identity": {"choice": "same_person"}})
        db.session.commit()
    assert json.loads(_export(cli))["cases"][0]["events"] == [EXPECTED_EVENTS[0], note, *EXPECTED_EVENTS[1:]]


def test_cases_without_them_export_as_before(app, cli):
    """The examples' exports are unchanged: each case lists exactly its statutory events, and the
    internal record-keeping events (appeal_recorded of the appeals, assigned, ...) stay out."""
    from tests.data import EXAMPLES
    from webapp.cases.services import workflow_events

    res = cli.invoke(args=["cases", "import", str(EXAMPLES / "small-year.json")])
    assert res.exit_code == 0, res.output
    code = json.loads((EXAMPLES / "small-year.json").read_text(encoding="utf-8"))["agency"]["code"]
    res = cli.invoke(args=["cases", "export", "--agency", code, "--as-of", "2025-12-31"])
    got = {c["ref"]: c["events"] for c in json.loads(res.stdout)["cases"]}
    with app.app_context():
        cases = db.session.scalars(select(Case)).all()
        internal = {e.type for c in cases for e in c.events} - {e["type"] for es in got.values() for e in es}
        assert "appeal_recorded" in internal
        assert got == {c.ref: [e.to_dict() for e in workflow_events(c)] for c in cases}
