"""The actions of the case page as one table: which form, which role, which workflow event, which
letter. ``perform(action, case, form, user)`` turns a valid form into one service call
(cases/services.record_event, cases/services/interchange.record_appeal, add_note) and, for an action that
sends a letter, stores the letter as an Attachment(kind='letter'). The caller commits, or rolls
back on ServiceError."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from webapp.cases.services import case_change, case_changed, fee_items_this_month, record_event
from webapp.cases.services.appeals import record_appeal
from webapp.cases.services.desk import assignable_users
from webapp.domain.fees import compute_fee, fee_basis_zh
from webapp.domain.kinds import AttachmentKind, LetterKind
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType, Party
from webapp.errors import ConflictError, ServiceError
from webapp.extensions import db
from webapp.letters import LETTER_FOR_EVENT, LETTER_TITLES, letter_filename, render_letter
from webapp.models import Case, CaseEvent, User

from .attachments import DOCX_TYPE, store_attachment
from .forms import (
    AnswerForm,
    AppealForm,
    AssignForm,
    ConsultationEndForm,
    ConsultationForm,
    CorrectionForm,
    ExtensionForm,
    FeeNoticeForm,
    NoteForm,
)

_E = EventType


@dataclass(frozen=True)
class CaseAction:
    name: str                    # URL segment, endpoint cases.act_<name>, form prefix
    title: str                   # the button and the panel heading
    permission: str              # security.PERMISSIONS action
    form: type
    event: EventType | None = None
    help: str = ""               # one line under the heading: the rule in a few words
    danger: bool = False         # ends the case: the button asks for confirmation

    @property
    def endpoint(self) -> str:
        return f"cases.act_{self.name}"

    @property
    def letter(self) -> LetterKind | None:
        """The letter its event sends (letters.LETTER_FOR_EVENT), if any."""
        return LETTER_FOR_EVENT.get(self.event) if self.event is not None else None


ACTIONS: tuple[CaseAction, ...] = (
    CaseAction("correction", "补正告知", "case.act", CorrectionForm, _E.CORRECTION_REQUESTED,
               "第三十条：一次性告知需要补正的事项，答复期限停止计算；应在收到申请后7个工作日内发出。"),
    CaseAction("correction_received", "收到补正", "case.act", NoteForm, _E.CORRECTION_RECEIVED,
               "答复期限自收到补正之日起重新计算（逾期后有正当理由补正的也可接收）。"),
    CaseAction("correction_lapsed", "确认逾期未补正", "case.confirm_lapse", NoteForm, _E.CORRECTION_LAPSED,
               "补正期限届满后方可确认；视为放弃申请，案件办结。", danger=True),
    CaseAction("consultation", "征求意见", "case.act", ConsultationForm, _E.CONSULTATION_STARTED,
               "第三十二条、第三十四条：征求意见期间不计入答复期限；第三方、其他机关15个工作日内答复。"),
    CaseAction("consultation_end", "征求意见结束", "case.act", ConsultationEndForm, _E.CONSULTATION_ENDED,
               "最后一份意见收到或答复期满之日，答复期限恢复计算。"),
    CaseAction("extension", "延期答复", "case.extend", ExtensionForm, _E.EXTENDED,
               "第三十三条：经负责人同意可延长一次，不超过20个工作日，须在答复期限届满前批准。"),
    CaseAction("fee_notice", "收费通知", "case.act", FeeNoticeForm, _E.FEE_NOTICE,
               "按《政府信息公开信息处理费管理办法》计算；申请人自收到通知次日起20个工作日内缴费。"),
    CaseAction("fee_paid", "已缴费", "case.act", NoteForm, _E.FEE_PAID, "缴费之日起答复期限继续计算。"),
    CaseAction("fee_lapsed", "确认逾期未缴费", "case.confirm_lapse", NoteForm, _E.FEE_LAPSED,
               "缴费期限届满后方可确认；视为放弃申请，案件办结。", danger=True),
    CaseAction("answer", "答复", "case.act", AnswerForm, _E.ANSWERED,
               "逐项选择办理结果；逾期答复也予记录，并标记为逾期。", danger=True),
    CaseAction("withdrawal", "撤回申请", "case.act", NoteForm, _E.WITHDRAWN,
               "申请人撤回申请，案件办结（统计为“其他”）。", danger=True),
    CaseAction("appeal", "复议诉讼", "case.appeal", AppealForm, None,
               "记录本机关作为被申请人或被告的行政复议、行政诉讼及其结果。"),
    CaseAction("assign", "分配承办人", "case.assign", AssignForm, None, ""),
)
BY_NAME = {a.name: a for a in ACTIONS}
#: a display-only form's meta: no CSRF field (make_form)
NO_CSRF = {"csrf": False}
EXTENSION_NEEDS_APPROVER = "须负责人批准"


def display_values(action: CaseAction, case: Case, today: date) -> dict[str, Any]:
    """What the action's form proposes when shown (today's date, the agency's correction period,
    the case's items, its assignee), and the case's version."""
    from webapp.cases.services.calendar import current_calendar

    values: dict[str, Any] = {"version": str(case.version)}
    if action.form is not AppealForm and action.form is not AssignForm:
        values["on"] = today
    if action.name == "correction":
        cal = current_calendar()
        values["reply_by"] = cal.add_workdays(today, case.agency.policy().correction_period_days)
    if action.name == "fee_notice":
        values["method"] = "per_item"
        values["quantity"] = len(case.items)
    if action.name == "assign":
        values["assigned_to"] = case.assigned_to_id or 0
    return values


def assign_choices(case: Case, assignees: list | None = None) -> dict[int, str]:
    """分配承办人's choices: the case agency's ``assignable_users`` (``assignees``: if read already,
    as the case page reads them with its panel rows), each with its role's wording."""
    from webapp.domain.labels import ROLE_ZH

    # (the wording looked up inline: a function call per clerk was a tenth of the list's work)
    return {u.id: f"{u.display_name}（{ROLE_ZH.get(u.role, u.role or '')}）"
            for u in (assignees if assignees is not None else assignable_users(case.agency_id))}


def make_form(action: CaseAction, case: Case, today: date, formdata: Any = None, *, csrf: bool = True,
              values: dict[str, Any] | None = None, choices: dict[int, str] | None = None) -> Any:
    """The action's form, bound to the request (formdata=None: Flask-WTF reads request.form) or,
    for display, filled with proposals (``display_values``', or ``values``).
    ``csrf=False`` (display only): made without its CSRF field, which the page writes with
    platform/widgets.hidden_html (the same input and token); the form that receives the post is
    made here with it, and checks it. ``choices``: the assignment's ``assign_choices`` if made already."""
    kwargs: dict[str, Any] = {"prefix": action.name}
    if formdata is False:   # display only
        kwargs["formdata"] = None
        if not csrf:
            kwargs["meta"] = NO_CSRF
        kwargs.update(values if values is not None else display_values(action, case, today))
    form = action.form(**kwargs)
    if isinstance(form, AnswerForm):
        while len(form.outcomes) < len(case.items):
            form.outcomes.append_entry()
        while len(form.outcomes) > len(case.items) and formdata is False:
            form.outcomes.pop_entry()
    if isinstance(form, AssignForm):
        form.assigned_to.choices = choices if choices is not None else assign_choices(case)
    return form


def fee_preview(case: Case, method: str, quantity: int) -> dict[str, Any]:
    earlier = fee_items_this_month(case.applicant, case.received_on, exclude_case=case) \
        if method == "per_item" else 0
    return {"earlier": earlier, "amount": compute_fee(method, quantity, earlier),
            "basis": fee_basis_zh(method, quantity, earlier)}


def _check_version(case: Case, form) -> int:
    try:
        expected = int(form.version.data)
    except (TypeError, ValueError):
        raise ConflictError("missing case version", "缺少案件版本号，请刷新页面后重试。",
                            rule="case.conflict") from None
    if case.version != expected:
        raise case_changed()
    return expected


@dataclass
class Done:
    message: str
    event: CaseEvent | None = None
    letter_kind: str | None = None


def perform(action: CaseAction, case: Case, form: Any, user: User, today: date) -> Done:
    """Record the action; raise ServiceError (incl. ConflictError) to refuse. The caller commits."""
    expected = _check_version(case, form)
    from webapp.review.services.chains import require_direct_allowed  # review chains (docs/review.md)

    require_direct_allowed(action, case, form, user)
    handler: Callable[..., Done] = _SPECIAL.get(action.name, _record_workflow)
    done = handler(action, case, form, user, today, expected)
    if done.event is not None and case.version == expected:
        _touch(case)
    if action.letter and done.event is not None:
        data = render_letter(case, action.letter, event=done.event)
        store_attachment(case, letter_filename(case, action.letter), data, DOCX_TYPE, kind=AttachmentKind.LETTER,
                         user=user)
        done.letter_kind = action.letter
        done.message += f"已生成《{LETTER_TITLES[action.letter]}》，可在本页下载。"
    return done


def _record_workflow(action: CaseAction, case: Case, form: Any, user: User, today: date,
                     expected: int) -> Done:
    on = form.on.data
    kw: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    event = Event(type=action.event, on=on)
    if action.name == "correction":
        event = Event(type=action.event, on=on, reply_by=form.reply_by.data)
        extra["what"] = form.what.data.strip()
    elif action.name == "consultation":
        event = Event(type=action.event, on=on, party=Party(form.party.data))
        extra.update(addressee=form.addressee.data.strip(), text=form.text.data.strip())
    elif action.name == "extension":
        event = Event(type=action.event, on=on, days=form.days.data)
        extra["reason"] = form.reason.data.strip()
    elif action.name == "fee_notice":
        fee = fee_preview(case, form.method.data, form.quantity.data)
        event = Event(type=action.event, on=on, amount_yuan=fee["amount"])
        extra.update(method=form.method.data, quantity=form.quantity.data, earlier_items=fee["earlier"],
                     basis=fee["basis"])
    elif action.name == "answer":
        outcomes = [f.data for f in form.outcomes]
        for code in outcomes:
            try:
                Outcome(code)
            except ValueError:
                raise ServiceError(f"unknown outcome {code!r}", "办理结果无效", rule="answered.outcome") from None
        kw.update(item_outcomes=outcomes, main_ground=form.main_ground.data or None)
        if form.text.data and form.text.data.strip():
            extra["text"] = form.text.data.strip()
    extra.update(getattr(form, "review_payload", None) or {})   # signed_by, signed_on at sign-off
    note = getattr(form, "note", None)
    if note is not None and note.data and note.data.strip():
        kw["note"] = note.data.strip()
    ev = record_event(case, event, user, today=today, expected_version=expected, extra_payload=extra or None,
                      **kw)
    return Done(f"已记录：{action.title}（{on.isoformat()}）。", ev)


def _appeal(action: CaseAction, case: Case, form: AppealForm, user: User, today: date, expected: int) -> Done:
    filed, decided, result = form.filed_on.data, form.decided_on.data, form.result.data
    before = len(case.events)
    appeal = record_appeal(case, form.kind.data, filed, result, decided, actor=user, today=today)
    note = (form.note.data or "").strip()
    if note:
        appeal.note = note
    ev = case.events[-1] if len(case.events) > before else None
    return Done("已记录复议诉讼情况。" if ev is not None else "复议诉讼情况没有变化。", ev)


def _assign(action: CaseAction, case: Case, form: AssignForm, user: User, today: date, expected: int) -> Done:
    from webapp.cases.services.desk import assign_cases

    target = db.session.get(User, form.assigned_to.data)
    if target is not None and case.assigned_to_id == target.id:
        return Done(f"承办人仍为{target.display_name}。")
    changed = assign_cases([case], target, user, today)
    return Done(f"已将案件分配给{target.display_name}。", case.events[-1] if changed else None)


def _touch(case: Case) -> None:
    """Bump the case's version for a change that wrote no case column (an appeal, a note, an event
    that moved no derived date), so that every recorded change invalidates pages showing the old
    version, and two requests racing on one case meet in the version check instead of in the
    event-sequence constraint."""
    from sqlalchemy.orm.attributes import flag_modified

    with case_change():
        flag_modified(case, "note")


_SPECIAL: dict[str, Callable[..., Done]] = {"appeal": _appeal, "assign": _assign}


def visible_actions(case: Case, status, can, events: list | None = None) -> list[tuple[CaseAction, str | None]]:
    """The actions to show on the page, each with the reason it is disabled (or None). ``events``: the
    case's events if read already (cases/page_reads.case_events), else ``case.events``.

    Workflow actions appear only when the domain's transition table allows their event in the
    case's state (allowed_events) and the user's role may perform them; the extension is shown to
    clerks too, disabled, because it needs an approver.
    """
    from webapp.domain.workflow import allowed_events

    allowed = set(allowed_events(status))
    events = case.events if events is None else events
    out: list[tuple[CaseAction, str | None]] = []
    for action in ACTIONS:
        if action.event is not None:
            if status is None or action.event not in allowed:
                continue
            if action.name == "extension" and case.extended:
                continue
            if action.name == "correction" and (case.extended or _has(events, _E.CORRECTION_REQUESTED)):
                continue
            if action.name == "fee_notice" and _has(events, _E.FEE_NOTICE):
                continue
        if not can(action.permission):
            if action.name == "extension" and can("case.act"):
                out.append((action, EXTENSION_NEEDS_APPROVER))
            continue
        out.append((action, None))
    return out


def _has(events: list, type_: EventType) -> bool:
    return any(e.type == type_.value for e in events)
