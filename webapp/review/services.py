"""Review and sign-off (审核、签发, Art. 45): chains per agency and kind, drafts moving through them.

A clerk drafts (拟办) a case action - the answer, the extension, the fee or correction notice - as
the case page's form would record it; each review step approves or returns it with an opinion; an
approver signs it off, which records the statutory event on that day through the one service
function (cases/actions.perform -> services/cases.record_event) and issues the letter with the
signer printed on it. Every step is a non-statutory case event (``review_submitted``,
``review_approved``, ``review_returned``, ``signed_off``: hash-chained, no clock effect).
Callers commit; a refusal raises ServiceError and changes nothing. See docs/review.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from webapp.domain.outcomes import Outcome
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.models.review import ReviewChain, ReviewDraft
from webapp.services.cases import add_note
from webapp.services.errors import ServiceError

#: chain kind -> its name on the pages
KINDS: dict[str, str] = {
    "answer_disclosure": "答复（予以公开、部分公开）",
    "answer_adverse": "答复（不予公开、无法提供、不予处理）",
    "answer_other": "答复（其他处理）",
    "extension": "延期答复",
    "fee_notice": "收费通知",
    "correction": "补正告知",
}
#: case action -> the kinds its drafts may be
ACTION_KINDS: dict[str, tuple[str, ...]] = {
    "answer": ("answer_disclosure", "answer_adverse", "answer_other"),
    "extension": ("extension",),
    "fee_notice": ("fee_notice",),
    "correction": ("correction",),
}
ADVERSE_GROUPS = frozenset({"withheld", "unavailable", "not_processed"})
MAX_STEPS = 5
OPINION_LIMIT = 1000
REVIEW_EVENT_TYPES = ("review_submitted", "review_approved", "review_returned", "signed_off")
SIGNOFF_TITLE = "签发"


@dataclass(frozen=True)
class Chain:
    kind: str
    enabled: bool
    steps: tuple[dict[str, Any], ...]     # review steps before the sign-off


def default_chain(kind: str) -> Chain:
    """No row: answers and notices are recorded directly (as before chains existed); an extension is
    always signed off by an approver (Art. 33), so a clerk may request it."""
    return Chain(kind, kind == "extension", ())


def chain_for(agency_id: int, kind: str) -> Chain:
    if kind not in KINDS:
        raise KeyError(kind)
    row = db.session.scalar(select(ReviewChain).where(ReviewChain.agency_id == agency_id, ReviewChain.kind == kind))
    if row is None:
        return default_chain(kind)
    return Chain(kind, bool(row.enabled) or kind == "extension", tuple(dict(s) for s in row.steps or ()))


def chains(agency_id: int) -> dict[str, Chain]:
    return {k: chain_for(agency_id, k) for k in KINDS}


def set_chain(agency: Agency, kind: str, enabled: bool, steps: list[Mapping[str, Any]], actor: User | None) -> Chain:
    """Set one chain of ``agency``. Each step: a title and an optional reviewer (an active clerk or
    approver of the agency). The extension's chain cannot be switched off (Art. 33)."""
    from webapp.services.audit import log_event

    if kind not in KINDS:
        raise ServiceError(f"unknown chain kind {kind!r}", "审批类型无效", rule="review.kind")
    if kind == "extension" and not enabled:
        raise ServiceError("the extension always needs an approver",
                           "延期答复须经负责人批准（第三十三条），不能关闭审批", rule="review.extension_required")
    if len(steps) > MAX_STEPS:
        raise ServiceError("too many steps", f"审核环节不超过{MAX_STEPS}个", rule="review.steps")
    clean = []
    for i, s in enumerate(steps, 1):
        title = str(s.get("title") or "").strip()
        if not title or len(title) > 40:
            raise ServiceError("a step needs a title", f"第{i}个审核环节须填写名称（不超过40字）", rule="review.steps")
        rid = s.get("reviewer_id") or None
        if rid is not None:
            user = db.session.get(User, int(rid))
            if user is None or user.agency_id != agency.id or not user.active or user.role not in ("clerk", "approver"):
                raise ServiceError("reviewer not of this agency",
                                   f"第{i}个审核环节的审核人须为本机关在职的经办人或负责人", rule="review.reviewer")
            rid = user.id
        clean.append({"title": title, "reviewer_id": rid})
    row = db.session.scalar(select(ReviewChain).where(ReviewChain.agency_id == agency.id, ReviewChain.kind == kind))
    if row is None:
        row = ReviewChain(agency_id=agency.id, kind=kind)
        db.session.add(row)
    row.enabled = bool(enabled)
    row.steps = clean
    log_event("review.chain_set", user=actor, target_type="agency", target_id=agency.id,
              detail={"kind": kind, "enabled": bool(enabled), "steps": clean})
    db.session.flush()
    return Chain(kind, row.enabled, tuple(clean))


# --- which chain a proposed act goes through -----------------------------------------------------

def answer_kind(outcomes: list[str]) -> str:
    """Adverse when any item is withheld, unavailable or not processed; disclosure when every item is
    disclosed (in full or in part); otherwise 'other'."""
    groups = {Outcome(o).group for o in outcomes}
    if groups & ADVERSE_GROUPS:
        return "answer_adverse"
    if groups <= {"disclosed", "partial"}:
        return "answer_disclosure"
    return "answer_other"


def kind_of(action_name: str, form: Any) -> str:
    if action_name == "answer":
        return answer_kind([f.data for f in form.outcomes])
    if action_name not in ACTION_KINDS:
        raise ServiceError(f"{action_name} is not reviewed", "该操作无须审批", rule="review.action")
    return ACTION_KINDS[action_name][0]


def needs_review(case: Case, action_name: str, form: Any, user: User) -> bool:
    """Whether this act must go through its chain: the chain is on, unless it has no review step and
    the user is an approver (the approver's recording is the sign-off)."""
    if action_name not in ACTION_KINDS:
        return False
    chain = chain_for(case.agency_id, kind_of(action_name, form))
    if not chain.enabled:
        return False
    return bool(chain.steps) or user.role != "approver"


def may_have_chain(case: Case, action_name: str) -> bool:
    """For the case page: whether the action's form should post to the review (drafting) route."""
    if action_name not in ACTION_KINDS or action_name == "extension":
        return False
    return any(chain_for(case.agency_id, k).enabled for k in ACTION_KINDS[action_name])


# --- drafts --------------------------------------------------------------------------------------

def open_draft(case: Case) -> ReviewDraft | None:
    return db.session.scalar(select(ReviewDraft).where(ReviewDraft.case_id == case.id,
                                                       ReviewDraft.status.in_(("pending", "returned")))
                             .order_by(ReviewDraft.id.desc()).limit(1))


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
    payload = {"draft": draft.id, "kind": draft.kind, "action": draft.action, "round": draft.round, **fields}
    add_note(draft.case, type_, on, payload, user)


def submit(case: Case, action_name: str, form: Any, user: User, today: date) -> ReviewDraft:
    """Draft (or redraft after a return) the act the form describes and send it to the chain's first
    step. One open draft per case."""
    if action_name not in ACTION_KINDS:
        raise ServiceError(f"{action_name} is not reviewed", "该操作无须审批", rule="review.action")
    if case.status == "closed":
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
        if draft.status == "pending":
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
    draft.kind, draft.action, draft.status, draft.step = kind, action_name, "pending", 0
    draft.steps = [dict(s) for s in chain.steps]
    draft.formdata = form_data(form)
    draft.summary = summary_of(action_name, case, form)
    db.session.flush()
    _note(draft, "review_submitted", today, user, summary=draft.summary)
    from .notify import notify_step

    notify_step(draft)
    return draft


# --- acting on a step ----------------------------------------------------------------------------

def current_step(draft: ReviewDraft) -> dict[str, Any]:
    """The step the draft waits for: a review step (title, reviewer_id) or the sign-off."""
    steps = draft.steps or []
    if draft.step < len(steps):
        return {**steps[draft.step], "signoff": False, "index": draft.step}
    return {"title": SIGNOFF_TITLE, "reviewer_id": None, "signoff": True, "index": len(steps)}


def may_act(draft: ReviewDraft, user: User) -> bool:
    if draft.status != "pending" or not user.active or user.agency_id != draft.agency_id:
        return False
    step = current_step(draft)
    if step["signoff"]:
        return user.role == "approver"
    if user.id == draft.drafter_id:
        return False
    if step.get("reviewer_id"):
        return user.id == step["reviewer_id"]
    return user.role == "approver"


def _acting(draft: ReviewDraft, user: User) -> dict[str, Any]:
    if draft.status != "pending":
        raise ServiceError("not pending", "该拟办稿不在审批中", rule="review.not_pending")
    if not may_act(draft, user):
        raise ServiceError("not your step", "您不是当前审批环节的审核人", rule="review.not_reviewer")
    return current_step(draft)


def approve(draft: ReviewDraft, user: User, opinion: str, today: date) -> ReviewDraft:
    """Approve the current review step (not the sign-off: see sign_off)."""
    step = _acting(draft, user)
    if step["signoff"]:
        raise ServiceError("use sign-off", "当前环节为签发", rule="review.signoff_step")
    text = _clean_opinion(opinion, required=False) or "同意"
    _note(draft, "review_approved", today, user, step=step["title"], opinion=text)
    draft.step += 1
    db.session.flush()
    from .notify import notify_step

    notify_step(draft)
    return draft


def return_(draft: ReviewDraft, user: User, opinion: str, today: date) -> ReviewDraft:
    """Return the draft to its drafter with an opinion (any step, the sign-off included)."""
    step = _acting(draft, user)
    text = _clean_opinion(opinion, required=True)
    _note(draft, "review_returned", today, user, step=step["title"], opinion=text)
    draft.status = "returned"
    db.session.flush()
    from .notify import notify_returned

    notify_returned(draft, user, text)
    return draft


def sign_off(draft: ReviewDraft, user: User, opinion: str, today: date):
    """签发: record the statutory event dated ``today`` through the case action (record_event, the
    transition table) and issue its letter with the signer; then the ``signed_off`` history event.
    A refusal leaves the draft pending and raises ServiceError naming the rule."""
    from webapp.cases.actions import BY_NAME, perform

    step = _acting(draft, user)
    if not step["signoff"]:
        raise ServiceError("review steps remain", "尚有审核环节未完成，不能签发", rule="review.not_signoff")
    text = _clean_opinion(opinion, required=False) or "同意"
    case = draft.case
    action = BY_NAME[draft.action]
    form = rebuild_form(action, draft.formdata or {}, case, today)
    form.review_payload = {"signed_by": user.display_name, "signed_on": today.isoformat()}
    try:
        done = perform(action, case, form, user, today)
    except ServiceError as e:
        raise ServiceError(f"sign-off refused: {e.message}", f"签发未成功，拟办稿仍待签发：{e.message_zh}",
                           rule=e.rule, **e.context) from None
    _note(draft, "signed_off", today, user, by=user.display_name, opinion=text,
          event_seq=done.event.seq if done.event else None, event_type=done.event.type if done.event else None)
    draft.status, draft.signed_by_id, draft.signed_on = "signed", user.id, today
    draft.event_id = done.event.id if done.event else None
    db.session.flush()
    from .notify import notify_signed

    notify_signed(draft, user)
    return done


def withdraw(draft: ReviewDraft, user: User) -> None:
    if draft.drafter_id != user.id or draft.status not in ("pending", "returned"):
        raise ServiceError("cannot withdraw", "只有拟办人可以撤回未签发的拟办稿", rule="review.withdraw")
    draft.status = "withdrawn"
    db.session.flush()


# --- reading -------------------------------------------------------------------------------------

def pending_for(user: User, agency_ids: list[int] | None = None) -> list[ReviewDraft]:
    """The drafts waiting for ``user``'s step (待我审批), the oldest due first."""
    if user.agency_id is None:
        return []
    q = (select(ReviewDraft).join(Case, Case.id == ReviewDraft.case_id)
         .where(ReviewDraft.status == "pending", ReviewDraft.agency_id == user.agency_id)
         .order_by(Case.due_on.is_(None), Case.due_on, ReviewDraft.id))
    return [d for d in db.session.scalars(q) if may_act(d, user)]


def mine(user: User) -> list[ReviewDraft]:
    """The user's own drafts still open (pending or returned to them)."""
    return list(db.session.scalars(select(ReviewDraft).where(ReviewDraft.drafter_id == user.id,
                                                             ReviewDraft.status.in_(("pending", "returned")))
                                   .order_by(ReviewDraft.id)))


def history(draft: ReviewDraft) -> list[Any]:
    """The draft's steps as recorded in the case history (submit, approvals, returns, sign-off)."""
    return [e for e in draft.case.events if e.type in REVIEW_EVENT_TYPES and (e.payload or {}).get("draft") == draft.id]


def require_direct_allowed(action, case: Case, form: Any, user: User) -> None:
    """The case page's direct recording: refused where the act must go through its chain."""
    if getattr(form, "review_payload", None) is not None:
        return   # the sign-off itself
    if needs_review(case, action.name, form, user):
        raise ServiceError("this act needs review and sign-off", "本机关规定该事项须经审核、签发，请提交审核",
                           rule="review.required")
