"""Acting on a step of a draft: approve, return, sign off (the act is then recorded), withdraw."""

from __future__ import annotations

from datetime import date
from typing import Any

from webapp.domain.states import DRAFT_OPEN, DraftStatus
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import User
from webapp.models.review import ReviewDraft

from .drafts import _clean_opinion, _note, current_step, may_act, rebuild_form


def _acting(draft: ReviewDraft, user: User) -> dict[str, Any]:
    if draft.status != DraftStatus.PENDING:
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
    from ..notify import notify_step

    notify_step(draft)
    return draft


def return_(draft: ReviewDraft, user: User, opinion: str, today: date) -> ReviewDraft:
    """Return the draft to its drafter with an opinion (any step, the sign-off included)."""
    step = _acting(draft, user)
    text = _clean_opinion(opinion, required=True)
    _note(draft, "review_returned", today, user, step=step["title"], opinion=text)
    draft.status = DraftStatus.RETURNED
    db.session.flush()
    from ..notify import notify_returned

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
    draft.status, draft.signed_by_id, draft.signed_on = DraftStatus.SIGNED, user.id, today
    draft.event_id = done.event.id if done.event else None
    db.session.flush()
    from ..notify import notify_signed

    notify_signed(draft, user)
    return done


def withdraw(draft: ReviewDraft, user: User) -> None:
    if draft.drafter_id != user.id or draft.status not in DRAFT_OPEN:
        raise ServiceError("cannot withdraw", "只有拟办人可以撤回未签发的拟办稿", rule="review.withdraw")
    draft.status = DraftStatus.WITHDRAWN
    db.session.flush()
