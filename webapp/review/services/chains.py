"""The review chains (审核/签发) of an agency per kind of act, and which chain a proposed act goes through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from webapp.domain.kinds import ReviewKind, Role
from webapp.domain.outcomes import Outcome
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.models.review import ReviewChain, ReviewDraft

#: chain kind -> its name on the pages
KINDS: dict[ReviewKind, str] = {k: k.label_zh for k in ReviewKind}
#: case action -> the kinds its drafts may be
ACTION_KINDS: dict[str, tuple[ReviewKind, ...]] = {
    "answer": (ReviewKind.ANSWER_DISCLOSURE, ReviewKind.ANSWER_ADVERSE, ReviewKind.ANSWER_OTHER),
    "extension": (ReviewKind.EXTENSION,),
    "fee_notice": (ReviewKind.FEE_NOTICE,),
    "correction": (ReviewKind.CORRECTION,),
}
ADVERSE_GROUPS = frozenset({"withheld", "unavailable", "not_processed"})
MAX_STEPS = 5
OPINION_LIMIT = 1000
REVIEW_EVENT_TYPES = ("review_submitted", "review_approved", "review_returned", "signed_off")
SIGNOFF_TITLE = "签发"


@dataclass(frozen=True)
class Chain:
    kind: ReviewKind
    enabled: bool
    steps: tuple[dict[str, Any], ...]     # review steps before the sign-off


def default_chain(kind: ReviewKind) -> Chain:
    """No row: answers and notices are recorded directly (as before chains existed); an extension is
    always signed off by an approver (Art. 33), so a clerk may request it."""
    return Chain(kind, kind == ReviewKind.EXTENSION, ())


def chain_for(agency_id: int, kind: ReviewKind | str) -> Chain:
    if kind not in KINDS:
        raise KeyError(kind)
    kind = ReviewKind(kind)
    from webapp.request_memo import per_request

    # a page view asks for several kinds (the case page: one per action): the agency's rows in one read
    rows = per_request(_memo_key(agency_id), lambda: {r.kind: r for r in db.session.scalars(
        select(ReviewChain).where(ReviewChain.agency_id == agency_id))})
    row = rows.get(kind)
    if row is None:
        return default_chain(kind)
    return Chain(kind, bool(row.enabled) or kind == ReviewKind.EXTENSION, tuple(dict(s) for s in row.steps or ()))


def _memo_key(agency_id: int) -> tuple[str, int]:
    return ("review_chains", agency_id)


def no_chain_rows(agency_id: int) -> None:
    """The agency has no chain row (read along with something else: the case page's panel rows):
    chain_for gives every kind its default for the rest of the page view, without a read."""
    from webapp.request_memo import remember

    remember(_memo_key(agency_id), {})


def chains(agency_id: int) -> dict[str, Chain]:
    return {k: chain_for(agency_id, k) for k in KINDS}


def set_chain(agency: Agency, kind: ReviewKind | str, enabled: bool, steps: list[Mapping[str, Any]],
              actor: User | None) -> Chain:
    """Set one chain of ``agency``. Each step: a title and an optional reviewer (an active clerk or
    approver of the agency). The extension's chain cannot be switched off (Art. 33)."""
    from webapp.trust.audit import log_event

    if kind not in KINDS:
        raise ServiceError(f"unknown chain kind {kind!r}", "审批类型无效", rule="review.kind")
    kind = ReviewKind(kind)
    if kind == ReviewKind.EXTENSION and not enabled:
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
            if (user is None or user.agency_id != agency.id or not user.active
                    or user.role not in (Role.CLERK, Role.APPROVER)):
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

def answer_kind(outcomes: list[str]) -> ReviewKind:
    """Adverse when any item is withheld, unavailable or not processed; disclosure when every item is
    disclosed (in full or in part); otherwise 'other'."""
    groups = {Outcome(o).group for o in outcomes}
    if groups & ADVERSE_GROUPS:
        return ReviewKind.ANSWER_ADVERSE
    if groups <= {"disclosed", "partial"}:
        return ReviewKind.ANSWER_DISCLOSURE
    return ReviewKind.ANSWER_OTHER


def kind_of(action_name: str, form: Any) -> ReviewKind:
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
    return bool(chain.steps) or user.role != Role.APPROVER


def may_have_chain(case: Case, action_name: str) -> bool:
    """For the case page: whether the action's form should post to the review (drafting) route."""
    if action_name not in ACTION_KINDS or action_name == "extension":
        return False
    return any(chain_for(case.agency_id, k).enabled for k in ACTION_KINDS[action_name])


def current_step(draft: ReviewDraft) -> dict[str, Any]:
    """The step the draft waits for: a review step (title, reviewer_id) or the sign-off."""
    steps = draft.steps or []
    if draft.step < len(steps):
        return {**steps[draft.step], "signoff": False, "index": draft.step}
    return {"title": SIGNOFF_TITLE, "reviewer_id": None, "signoff": True, "index": len(steps)}


def require_direct_allowed(action, case: Case, form: Any, user: User) -> None:
    """The case page's direct recording: refused where the act must go through its chain."""
    if getattr(form, "review_payload", None) is not None:
        return   # the sign-off itself
    if needs_review(case, action.name, form, user):
        raise ServiceError("this act needs review and sign-off", "本机关规定该事项须经审核、签发，请提交审核",
                           rule="review.required")
