"""Review and sign-off services (webapp/review/services/) with exact values: chains per kind,
return and redraft, sign-off recording the statutory event, the transition table's refusal, the
clerk's extension request, and the reminder to the reviewer exactly once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import make_case, make_world
from webapp.cases.actions import BY_NAME, perform
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.letters import render_letter_text
from webapp.models import Case, Notification, User
from webapp.review import services as rv

RECEIVED = date(2024, 6, 3)   # a Monday; DEFAULT_NOW is 2024-06-10
ITEMS = ["2023年度部门预算", "某某公司行政处罚决定书"]


@pytest.fixture
def w(app, db_session, today):
    world = make_world()
    with app.test_request_context():
        yield world


def _u(uid: int) -> User:
    return db.session.get(User, uid)


def _case(w, items=ITEMS, received=RECEIVED) -> Case:
    clerk = _u(w.a.clerk)
    return make_case(clerk.agency, clerk, received, items=items, today=received)


def _answer_form(case: Case, outcomes: list[str], on: date, text: str = "", main: str = ""):
    data = {f"answer-outcomes-{i}": o for i, o in enumerate(outcomes)}
    data["answer-text"] = text
    data["answer-main_ground"] = main
    return rv.rebuild_form(BY_NAME["answer"], data, case, on)


def _extension_form(case: Case, on: date, days: int = 15, reason: str = "需要调取档案"):
    return rv.rebuild_form(BY_NAME["extension"], {"extension-days": str(days), "extension-reason": reason}, case, on)


def _legal_chain(w):
    """Adverse answers: 科室审核 by clerk2, then 法制审核 by any approver, then sign-off."""
    agency = _u(w.a.clerk).agency
    rv.set_chain(agency, "answer_adverse", True, [{"title": "科室审核", "reviewer_id": w.a.clerk2},
                                                   {"title": "法制审核", "reviewer_id": None}], _u(w.a.admin))


def test_default_chains_keep_direct_recording_and_extension_needs_an_approver(w):
    got = {k: (c.enabled, c.steps) for k, c in rv.chains(w.a.agency_id).items()}
    assert got == {"answer_disclosure": (False, ()), "answer_adverse": (False, ()), "answer_other": (False, ()),
                   "extension": (True, ()), "fee_notice": (False, ()), "correction": (False, ())}
    case = _case(w)
    form = _answer_form(case, ["disclosed", "disclosed"], date(2024, 6, 10))
    assert rv.needs_review(case, "answer", form, _u(w.a.clerk)) is False
    ext = _extension_form(case, date(2024, 6, 10))
    assert rv.needs_review(case, "extension", ext, _u(w.a.clerk)) is True
    assert rv.needs_review(case, "extension", ext, _u(w.a.approver)) is False   # the approver's own act
    with pytest.raises(ServiceError) as e:
        rv.set_chain(_u(w.a.clerk).agency, "extension", False, [], _u(w.a.admin))
    assert e.value.message_zh == "延期答复须经负责人批准（第三十三条），不能关闭审批"


def test_chain_per_kind_decides_by_the_outcomes(w):
    _legal_chain(w)
    case = _case(w)
    clerk = _u(w.a.clerk)
    assert rv.kind_of("answer", _answer_form(case, ["disclosed", "partial"], date(2024, 6, 10))) == "answer_disclosure"
    assert rv.kind_of("answer", _answer_form(case, ["disclosed", "withheld.state_secret"], date(2024, 6, 10))) \
        == "answer_adverse"
    assert rv.kind_of("answer", _answer_form(case, ["other.other", "disclosed"], date(2024, 6, 10))) == "answer_other"
    assert rv.needs_review(case, "answer", _answer_form(case, ["disclosed", "disclosed"], date(2024, 6, 10)),
                           clerk) is False
    adverse = _answer_form(case, ["unavailable.not_held", "unavailable.not_held"], date(2024, 6, 10))
    assert rv.needs_review(case, "answer", adverse, clerk) is True
    assert rv.chain_for(w.a.agency_id, "answer_adverse").steps == (
        {"title": "科室审核", "reviewer_id": w.a.clerk2}, {"title": "法制审核", "reviewer_id": None})
    # the other agency is untouched
    assert rv.chain_for(w.b.agency_id, "answer_adverse").enabled is False
    # the case page's direct recording of an adverse answer is refused
    with pytest.raises(ServiceError) as e:
        perform(BY_NAME["answer"], case, adverse, clerk, date(2024, 6, 10))
    assert e.value.message_zh == "本机关规定该事项须经审核、签发，请提交审核"
    assert case.status == "registered"


def test_return_redraft_approve_and_sign_off_records_the_answer_that_day(w, time_machine):
    _legal_chain(w)
    case = _case(w)
    clerk, reviewer, approver = _u(w.a.clerk), _u(w.a.clerk2), _u(w.a.approver)
    d = rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held"] * 2, date(2024, 6, 10)),
                  clerk, date(2024, 6, 10))
    assert (d.kind, d.status, d.step, d.round) == ("answer_adverse", "pending", 0, 1)
    assert rv.may_act(d, reviewer) and not rv.may_act(d, approver) and not rv.may_act(d, clerk)
    rv.return_(d, reviewer, "第2项应为不予公开（第三方合法权益），请核实", date(2024, 6, 11))
    assert d.status == "returned"
    with pytest.raises(ServiceError):
        rv.approve(d, reviewer, "", date(2024, 6, 11))
    d2 = rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held", "withheld.third_party"],
                                                date(2024, 6, 11), "详见附件", "withheld.third_party"),
                  clerk, date(2024, 6, 12))
    assert d2.id == d.id and (d.status, d.step, d.round) == ("pending", 0, 2)
    rv.approve(d, reviewer, "", date(2024, 6, 12))
    assert rv.current_step(d)["title"] == "法制审核" and rv.may_act(d, approver)
    rv.approve(d, approver, "合法", date(2024, 6, 13))
    assert rv.current_step(d) == {"title": "签发", "reviewer_id": None, "signoff": True, "index": 2}
    assert case.status == "registered"            # nothing recorded before the sign-off
    done = rv.sign_off(d, approver, "", date(2024, 6, 14))
    assert (case.status, case.closed_on, case.outcome) == ("closed", date(2024, 6, 14), "withheld.third_party")
    ev = done.event
    assert (ev.type, ev.on, ev.actor_name) == ("answered", date(2024, 6, 14), "临淄区商务局负责人")
    assert ev.payload["signed_by"] == "临淄区商务局负责人" and ev.payload["signed_on"] == "2024-06-14"
    assert [it.outcome for it in case.items] == ["unavailable.not_held", "withheld.third_party"]
    assert [(e.type, e.on, e.actor_name, (e.payload or {}).get("opinion")) for e in case.events[1:]] == [
        ("review_submitted", date(2024, 6, 10), "临淄区商务局经办人", None),
        ("review_returned", date(2024, 6, 11), "临淄区商务局经办人二", "第2项应为不予公开（第三方合法权益），请核实"),
        ("review_submitted", date(2024, 6, 12), "临淄区商务局经办人", None),
        ("review_approved", date(2024, 6, 12), "临淄区商务局经办人二", "同意"),
        ("review_approved", date(2024, 6, 13), "临淄区商务局负责人", "合法"),
        ("answered", date(2024, 6, 14), "临淄区商务局负责人", None),
        ("signed_off", date(2024, 6, 14), "临淄区商务局负责人", "同意"),
    ]
    # review events change no statutory field
    assert all(e.status_before == e.status_after for e in case.events if e.type.startswith(("review", "signed")))
    assert (d.status, d.signed_on, d.event_id) == ("signed", date(2024, 6, 14), ev.id)
    letter = render_letter_text(case, "answer", event=ev)
    assert "签发人：临淄区商务局负责人　签发日期：2024年6月14日" in letter
    assert "> 2024年6月14日" in letter


def test_sign_off_refused_by_the_transition_table_leaves_the_draft_pending(w):
    case = _case(w)
    clerk, approver = _u(w.a.clerk), _u(w.a.approver)
    d = rv.submit(case, "extension", _extension_form(case, date(2024, 6, 10)), clerk, date(2024, 6, 10))
    # meanwhile the approver extends directly (his own act); the drafted second extension is refused
    perform(BY_NAME["extension"], case, _extension_form(case, date(2024, 6, 10), days=10), approver,
            date(2024, 6, 10))
    db.session.commit()
    n = len(case.events)
    with pytest.raises(ServiceError) as e:
        rv.sign_off(d, approver, "", date(2024, 6, 11))
    assert e.value.message_zh.startswith("签发未成功，拟办稿仍待签发：")
    assert "第三十三条" in e.value.message_zh
    db.session.rollback()
    d = db.session.get(type(d), d.id)
    assert (d.status, d.step) == ("pending", 0)
    assert len(db.session.get(Case, case.id).events) == n


def test_extension_requested_by_a_clerk_and_signed_off_by_an_approver(w):
    case = _case(w)
    clerk, clerk2, approver = _u(w.a.clerk), _u(w.a.clerk2), _u(w.a.approver)
    assert case.due_on == date(2024, 7, 2)
    d = rv.submit(case, "extension", _extension_form(case, date(2024, 6, 10), days=15), clerk, date(2024, 6, 10))
    assert rv.current_step(d)["signoff"] is True
    assert not rv.may_act(d, clerk2) and rv.may_act(d, approver)
    with pytest.raises(ServiceError):
        rv.sign_off(d, clerk2, "", date(2024, 6, 12))
    rv.sign_off(d, approver, "同意延期", date(2024, 6, 12))
    ext = next(e for e in case.events if e.type == "extended")
    assert (ext.on, ext.payload["days"], ext.payload["approved_by"], ext.payload["reason"]) == (
        date(2024, 6, 12), 15, "临淄区商务局负责人", "需要调取档案")
    assert (case.extended, case.due_on) == (True, date(2024, 7, 23))
    assert "签发人：临淄区商务局负责人　签发日期：2024年6月12日" in render_letter_text(case, "extension", event=ext)
    # the pending-step notification reached the approvers' bell once
    assert db.session.scalars(select(Notification.recipient_id).where(Notification.kind == "review")
                              .order_by(Notification.id)).all() == [approver.id, clerk.id]


def test_reminder_to_the_reviewer_exactly_once_and_to_the_approver_when_overdue(w):
    from webapp.notify.reminders import sweep

    _legal_chain(w)
    case = _case(w)                                     # due 2024-07-02
    clerk, reviewer, approver = _u(w.a.clerk), _u(w.a.clerk2), _u(w.a.approver)
    rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held"] * 2, date(2024, 6, 10)), clerk,
              date(2024, 6, 10))
    db.session.commit()

    def review_rows():
        return db.session.execute(select(Notification.kind, Notification.recipient_id, Notification.ref_date,
                                         Notification.days_left)
                                  .where(Notification.kind.in_(("review_due", "review_overdue")))
                                  .order_by(Notification.id)).all()

    assert sweep(date(2024, 6, 26)).by_kind.get("review_due") is None      # 4 working days left: not yet
    r1 = sweep(date(2024, 6, 27))                                          # 3 working days left
    db.session.commit()
    r2 = sweep(date(2024, 6, 27))
    db.session.commit()
    assert r1.by_kind["review_due"] == 1 and "review_due" not in r2.by_kind
    assert review_rows() == [("review_due", reviewer.id, date(2024, 7, 2), 3)]
    sweep(date(2024, 7, 3))
    sweep(date(2024, 7, 3))
    db.session.commit()
    assert review_rows() == [("review_due", reviewer.id, date(2024, 7, 2), 3),
                             ("review_overdue", approver.id, date(2024, 7, 2), -1)]


def test_the_sweeps_one_selection_statement_names_the_pending_drafts(w):
    """The review reminders come from the sweep's one selection statement (a branch of its UNION ALL,
    notify/reminders/sweep._selection), not from statements of their own: the draft table is read by
    the selection and, for the step's reviewer, by one load of the drafts - and the reminder is the same."""
    from sqlalchemy import event

    from webapp.notify.reminders import sweep

    _legal_chain(w)
    case = _case(w)                                     # due 2024-07-02
    clerk, reviewer = _u(w.a.clerk), _u(w.a.clerk2)
    rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held"] * 2, date(2024, 6, 10)), clerk,
              date(2024, 6, 10))
    db.session.commit()
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = sweep(date(2024, 6, 27))                   # 3 working days left
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    drafts = [s for s in seen if "review_draft" in s]
    assert len(drafts) == 2
    assert "UNION ALL" in drafts[0] and "case.due_on <=" in drafts[0].replace('"', "")
    assert drafts[1].startswith("SELECT review_draft.id,") and "UNION" not in drafts[1]
    assert not any("handover" in s and "UNION" not in s for s in seen)
    assert result.by_kind["review_due"] == 1
    assert db.session.execute(select(Notification.kind, Notification.recipient_id, Notification.ref_date,
                                     Notification.days_left, Notification.title)
                              .where(Notification.kind == "review_due")).all() == [
        ("review_due", reviewer.id, date(2024, 7, 2), 3, f"拟办稿待审批，答复期限还剩3个工作日：{case.number}")]


def test_the_approver_is_reminded_of_a_draft_whose_case_was_paused_after_its_period_ran_out(w):
    """The one overdue rule (cases/services/clock.overdue_clause): a case paused for a fee after its 20
    working days had run out is overdue, and so is its draft answer (before: due_on is null while
    paused, and the draft was never named)."""
    from decimal import Decimal

    from webapp.cases.services import record_event
    from webapp.cases.services.calendar import current_calendar
    from webapp.domain.workflow import Event, EventType
    from webapp.review.notify import review_items

    _legal_chain(w)
    case = _case(w, received=date(2024, 4, 15))         # the period ran out on 2024-05-14
    clerk = _u(w.a.clerk)
    record_event(case, Event(EventType.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100)), clerk)
    rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held"] * 2, date(2024, 6, 5)), clerk,
              date(2024, 6, 5))
    db.session.flush()
    assert (case.due_on, case.paused_due_on) == (None, date(2024, 5, 14))
    pairs, _people = review_items(date(2024, 6, 11), current_calendar(), [case.agency_id])
    assert [(i.kind, i.case_id, i.deadline, i.days_left) for i, _uids in pairs] == [
        ("review_overdue", case.id, date(2024, 5, 14), -19)]


def test_draft_status_reads_as_the_enum_and_stores_its_value(w):
    """ReviewDraft.status is a DraftStatus (models/_types.ENUM_COLUMNS); the column holds the plain
    value, unchanged."""
    from sqlalchemy import text

    from webapp.domain.states import DraftStatus
    from webapp.models.review import ReviewDraft

    _legal_chain(w)
    case = _case(w)
    d = rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held"] * 2, date(2024, 6, 10)),
                  _u(w.a.clerk), date(2024, 6, 10))
    rv.return_(d, _u(w.a.clerk2), "请核实", date(2024, 6, 11))
    db.session.flush()
    db.session.expire_all()
    assert db.session.get(ReviewDraft, d.id).status is DraftStatus.RETURNED
    assert db.session.scalar(text("SELECT status FROM review_draft WHERE id = :i"), {"i": d.id}) == "returned"
    assert db.session.scalar(select(ReviewDraft.id).where(ReviewDraft.status == DraftStatus.RETURNED)) == d.id
