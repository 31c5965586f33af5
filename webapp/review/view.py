"""What the review pages show: the clock of a case under review, the letter preview, the sheet."""

from __future__ import annotations

from datetime import date
from typing import Any

from webapp.domain.clock import Status
from webapp.domain.outcomes import application_outcome
from webapp.models import Case, CaseEvent, User
from webapp.models.review import ReviewDraft

from .services import KINDS, current_step, history

EVENT_TITLES = {"review_submitted": "拟办（提交审核）", "review_approved": "审核同意", "review_returned": "退回",
                "signed_off": "签发"}
ACTION_TITLES = {"answer": "答复", "extension": "延期答复", "fee_notice": "收费通知", "correction": "补正告知"}
LETTER_KIND = {"answer": "answer", "extension": "extension", "fee_notice": "fee", "correction": "correction"}


def clock_text(case: Case, today: date, cal) -> tuple[str, int | None]:
    """The statutory clock as the review queues show it (stored columns): text, working days left."""
    if case.status == Status.CLOSED:
        return "已办结", None
    if case.paused_since is not None or case.due_on is None:
        return "答复期限暂停计算", None
    if case.due_on < today:
        n = cal.workdays_between(case.due_on, today)
        return f"已逾期{n}个工作日（{case.due_on.isoformat()}）", -n
    n = cal.workdays_between(today, case.due_on) if case.due_on > today else 0
    return (f"还剩{n}个工作日（{case.due_on.isoformat()}）" if n else f"今日届满（{case.due_on.isoformat()}）"), n


def preview_event(draft: ReviewDraft, today: date) -> CaseEvent:
    """A transient event (never added to the case) carrying what the draft proposes, for the letter."""
    s = dict(draft.summary or {})
    case = draft.case
    payload: dict[str, Any] = {}
    due_after = None
    if draft.action == "answer":
        codes = [it["outcome"] for it in s.get("items", [])]
        payload = {"item_outcomes": codes, "outcome": application_outcome(codes, s.get("main_ground") or None).value}
        if s.get("text"):
            payload["text"] = s["text"]
    elif draft.action == "extension":
        from webapp.cases.services.calendar import current_calendar

        payload = {"days": s.get("days"), "reason": s.get("reason", "")}
        if case.due_on and s.get("days"):
            due_after = current_calendar().add_workdays(case.due_on, int(s["days"]))
    elif draft.action == "fee_notice":
        payload = {"amount_yuan": s.get("amount"), "method": s.get("method"), "quantity": s.get("quantity"),
                   "basis": s.get("basis", "")}
    elif draft.action == "correction":
        payload = {"what": s.get("what", "")}
        if s.get("reply_by"):
            payload["reply_by"] = s["reply_by"]
    return CaseEvent(type=draft.action, on=today, payload=payload, due_before=case.due_on, due_after=due_after)


def letter_preview(draft: ReviewDraft, today: date) -> str:
    from webapp.letters import render_letter_text

    try:
        return render_letter_text(draft.case, LETTER_KIND[draft.action], event=preview_event(draft, today))
    except Exception as e:  # a preview must never stop the review
        return f"（文书预览失败：{e}）"


def opinions(draft: ReviewDraft) -> list[dict[str, Any]]:
    """Each recorded step: what, who, when, the opinion (the case history is the record)."""
    out = []
    for e in history(draft):
        p = e.payload or {}
        out.append({"type": e.type, "title": EVENT_TITLES.get(e.type, e.type), "step": p.get("step", ""),
                    "name": e.actor_name, "on": e.on, "opinion": p.get("opinion", ""), "round": p.get("round")})
    return out


def draft_context(draft: ReviewDraft, today: date, cal, user: User | None = None) -> dict[str, Any]:
    case = draft.case
    text, left = clock_text(case, today, cal)
    steps = [*(dict(s) for s in (draft.steps or [])), {"title": "签发", "reviewer_id": None}]
    names = {}
    if user is not None:
        from webapp.extensions import db

        for s in steps:
            if s.get("reviewer_id"):
                u = db.session.get(User, s["reviewer_id"])
                names[s["reviewer_id"]] = u.display_name if u else ""
    return {"draft": draft, "case": case, "kind_title": KINDS.get(draft.kind, draft.kind),
            "action_title": ACTION_TITLES.get(draft.action, draft.action),
            "days_left": left, "clock": text, "step": current_step(draft), "steps": steps, "reviewer_names": names,
            "opinions": opinions(draft), "summary": draft.summary or {}}
