"""Drafts of a proposed act: the form kept as plain data, submitted into its chain; its current step and who
may act on it; reading the drafts pending or one's own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from werkzeug.datastructures import MultiDict

from webapp.cases.services import add_note
from webapp.domain.clock import Status
from webapp.domain.kinds import Role
from webapp.domain.outcomes import Outcome
from webapp.domain.states import DRAFT_OPEN, DraftStatus
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Case, User
from webapp.models.review import ReviewDraft
from webapp.prebuilt import prebuilt

from .chains import (
    ACTION_KINDS,
    OPINION_LIMIT,
    REVIEW_EVENT_TYPES,
    chain_for,
    current_step,
    kind_of,
)

# --- drafts --------------------------------------------------------------------------------------

def open_draft(case: Case) -> ReviewDraft | None:
    stmt = prebuilt("open_draft", lambda: select(ReviewDraft)
                    .where(ReviewDraft.case_id == bindparam("case_id"), ReviewDraft.status.in_(DRAFT_OPEN))
                    .order_by(ReviewDraft.id.desc()).limit(1))     # every case page: built once
    return db.session.scalar(stmt, {"case_id": case.id})


def form_data(form: Any) -> dict[str, Any]:
    """The action form's fields as a flat mapping (what re-binds the form at sign-off)."""
    out: dict[str, Any] = {}
    for f in form:
        if f.type in ("CSRFTokenField",) or f.short_name in ("version", "csrf_token"):
            continue
        if f.type == "FieldList":
            for sub in f:
                out[sub.name] = sub.data
        elif f.type == "DateField":
            out[f.name] = f.data.isoformat() if f.data else ""
        else:
            out[f.name] = "" if f.data is None else str(f.data)
    return out


def rebuild_form(action, data: Mapping[str, Any], case: Case, on: date):
    """The action's form bound to stored data, dated ``on``, at the case's current version."""
    md = MultiDict(dict(data))
    md[f"{action.name}-on"] = on.isoformat()
    md[f"{action.name}-version"] = str(case.version)
    form = action.form(formdata=md, prefix=action.name, meta={"csrf": False})
    if not form.validate():
        errors = "；".join(e for errs in form.errors.values() for e in (errs if isinstance(errs, list) else [errs])
                          if isinstance(e, str))
        raise ServiceError(f"stored draft no longer valid: {form.errors}", f"拟办内容无效：{errors}",
                           rule="review.form")
    return form


def summary_of(action_name: str, case: Case, form: Any) -> dict[str, Any]:
    """What is proposed, readable on the queue and the approval sheet (plain values)."""
    from webapp.letters.render import outcome_ground, outcome_phrase

    if action_name == "answer":
        items = []
        for it, f in zip(case.items, form.outcomes, strict=False):
            o = Outcome(f.data)
            items.append({"text": it.text, "outcome": o.value, "outcome_text": outcome_phrase(o),
                          "ground": outcome_ground(o)})
        return {"items": items, "text": (form.text.data or "").strip(), "main_ground": form.main_ground.data or ""}
    if action_name == "extension":
        return {"days": form.days.data, "reason": form.reason.data.strip()}
    if action_name == "fee_notice":
        from webapp.cases.actions import fee_preview

        fee = fee_preview(case, form.method.data, form.quantity.data)
        return {"method": form.method.data, "quantity": form.quantity.data, "amount": str(fee["amount"]),
                "basis": fee["basis"]}
    if action_name == "correction":
        return {"what": form.what.data.strip(),
                "reply_by": form.reply_by.data.isoformat() if form.reply_by.data else ""}
    return {}


def _clean_opinion(opinion: str | None, required: bool) -> str:
    text = (opinion or "").strip()
    if required and not text:
        raise ServiceError("an opinion is needed", "退回须填写意见", rule="review.opinion")
    if len(text) > OPINION_LIMIT:
        raise ServiceError("opinion too long", f"意见不超过{OPINION_LIMIT}字", rule="review.opinion")
    return text


def _note(draft: ReviewDraft, type_: str, on: date, user: User, **fields: Any) -> None:
    payload = {"draft": draft.id, "kind": str(draft.kind), "action": draft.action, "round": draft.round, **fields}
    add_note(draft.case, type_, on, payload, user)


def submit(case: Case, action_name: str, form: Any, user: User, today: date) -> ReviewDraft:
    """Draft (or redraft after a return) the act the form describes and send it to the chain's first
    step. One open draft per case."""
    if action_name not in ACTION_KINDS:
        raise ServiceError(f"{action_name} is not reviewed", "该操作无须审批", rule="review.action")
    if case.status == Status.CLOSED:
        raise ServiceError("case closed", "案件已办结，不能再拟办", rule="review.closed")
    kind = kind_of(action_name, form)
    if action_name == "answer":
        from webapp.domain.outcomes import OutcomeError, application_outcome

        try:
            application_outcome([f.data for f in form.outcomes], form.main_ground.data or None)
        except OutcomeError as e:
            raise ServiceError(str(e), "各项办理结果不同且均未提供信息时，须选择主要理由",
                               rule="answered.outcome") from None
    chain = chain_for(case.agency_id, kind)
    if not chain.enabled:
        raise ServiceError("no chain", "该事项无须审批，请直接办理", rule="review.no_chain")
    draft = open_draft(case)
    if draft is not None:
        if draft.status == DraftStatus.PENDING:
            raise ServiceError("a draft is pending", "本案已有待审批的拟办稿，请待审批完成或退回后再拟办",
                               rule="review.pending")
        if draft.drafter_id != user.id:
            raise ServiceError("returned to someone else", "退回的拟办稿只能由原拟办人修改后重新提交",
                               rule="review.not_drafter")
        draft.round += 1
    else:
        draft = ReviewDraft(case_id=case.id, agency_id=case.agency_id, drafter_id=user.id, round=1)
        draft.case = case
        db.session.add(draft)
    draft.kind, draft.action, draft.status, draft.step = kind, action_name, DraftStatus.PENDING, 0
    draft.steps = [dict(s) for s in chain.steps]
    draft.formdata = form_data(form)
    draft.summary = summary_of(action_name, case, form)
    db.session.flush()
    _note(draft, "review_submitted", today, user, summary=draft.summary)
    from ..notify import notify_step

    notify_step(draft)
    return draft


# --- the current step and who may act on it (the acts themselves: steps.py) ------------------------

def may_act(draft: ReviewDraft, user: User) -> bool:
    if draft.status != DraftStatus.PENDING or not user.active or user.agency_id != draft.agency_id:
        return False
    step = current_step(draft)
    if step["signoff"]:
        return user.role == Role.APPROVER
    if user.id == draft.drafter_id:
        return False
    if step.get("reviewer_id"):
        return user.id == step["reviewer_id"]
    return user.role == Role.APPROVER


# --- reading -------------------------------------------------------------------------------------

def pending_for(user: User, agency_ids: list[int] | None = None) -> list[ReviewDraft]:
    """The drafts waiting for ``user``'s step (待我审批), the oldest due first."""
    if user.agency_id is None:
        return []
    q = (select(ReviewDraft).join(Case, Case.id == ReviewDraft.case_id)
         .where(ReviewDraft.status == DraftStatus.PENDING, ReviewDraft.agency_id == user.agency_id)
         .order_by(Case.due_on.is_(None), Case.due_on, ReviewDraft.id))
    return [d for d in db.session.scalars(q) if may_act(d, user)]


def mine(user: User) -> list[ReviewDraft]:
    """The user's own drafts still open (pending or returned to them)."""
    return list(db.session.scalars(select(ReviewDraft).where(ReviewDraft.drafter_id == user.id,
                                                             ReviewDraft.status.in_(DRAFT_OPEN))
                                   .order_by(ReviewDraft.id)))


def history(draft: ReviewDraft) -> list[Any]:
    """The draft's steps as recorded in the case history (submit, approvals, returns, sign-off)."""
    return [e for e in draft.case.events if e.type in REVIEW_EVENT_TYPES and (e.payload or {}).get("draft") == draft.id]
