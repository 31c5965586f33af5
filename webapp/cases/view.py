"""What the case page shows: header, applicant (masked or full), items, deadlines with their
explanations, the timeline of events, letters and attachments, and the action forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any

from flask import current_app, get_template_attribute
from markupsafe import Markup, escape

from webapp.admin.services.calendar_admin import DEADLINE_LABELS_ZH
from webapp.cases.services import case_clock
from webapp.cases.services.applicants import APPLICANT_KINDS, applicant_hints, mask_address, mask_id, mask_phone
from webapp.cases.services.calendar import current_calendar
from webapp.domain.clock import Status
from webapp.domain.kinds import FormWanted, RouteWanted
from webapp.domain.labels import outcome_text
from webapp.domain.workflow import Channel, EventType, Party
from webapp.letters import LETTER_FOR_EVENT, LETTER_TITLES
from webapp.models import (
    Case,
    CaseEvent,
)
from webapp.platform.csrf_token import page_token
from webapp.platform.template_helpers import status_zh
from webapp.security import actable_agency_ids, may_download_attachment

from . import case_html
from .action_forms import page_form, page_forms_html
from .actions import ACTIONS, fee_preview, visible_actions
from .case_urls import CaseUrls
from .forms import APPEAL_KIND_CHOICES, APPEAL_RESULT_CHOICES
from .page_reads import case_events

#: labels of the record-keeping events (CaseEvent.type outside the workflow)
NOTE_LABELS = {
    "deadline_moved": "期限变更", "appeal_recorded": "复议诉讼", "notice_sent": "通知申请人",
    "assigned": "分配", "routed": "分办", "note": "备注", "remark": "备注",
    "supervision_notice": "督办通知", "supervision_reply": "督办回复",
    "signed_for": "签收", "returned_to_router": "退回分办机关",
}
CHANNEL_LABELS = {c.value: c.label_zh for c in Channel}
FORM_WANTED = {f.value: f.label_zh for f in FormWanted}
ROUTE_WANTED = {r.value: r.label_zh for r in RouteWanted}
APPEAL_KINDS = dict(APPEAL_KIND_CHOICES)
APPEAL_RESULTS = dict(APPEAL_RESULT_CHOICES)
FEE_METHODS = {"per_item": "按件计收", "per_page": "按量计收"}


#: record-keeping events of other packages: type -> "module" with LABELS and summary(type, payload)
EVENT_PACKAGES = {"delivered": "webapp.delivery.history", "delivery_returned": "webapp.delivery.history",
                  "archived": "webapp.archive.history"}


def _event_package(type_: str):
    import importlib

    name = EVENT_PACKAGES.get(type_)
    return importlib.import_module(name) if name else None


#: the workflow's event types by their code (a look-up, not an Enum call and its ValueError per event)
WORKFLOW_TYPES: dict[str, EventType] = {t.value: t for t in EventType}


def event_label(type_: str) -> str:
    et = WORKFLOW_TYPES.get(type_)
    if et is not None:
        return et.label_zh
    pkg = _event_package(type_)
    return pkg.LABELS[type_] if pkg is not None else NOTE_LABELS.get(type_, type_)


def _d(v: Any) -> str:
    return v if isinstance(v, str) else (v.isoformat() if isinstance(v, date) else str(v))


#: notice kinds (notify/applicant_notices.py) in Chinese
NOTICE_KINDS = {"confirmation": "受理通知", "correction": "补正告知", "extension": "延期答复告知",
                "fee": "收费通知", "answer": "答复"}
#: other recorded fields shown in the timeline; anything not named here or above (internal keys
#: such as dedupe_key, outbox_id, event_seq) is not shown
EXTRA_LABELS = {"quantity": "件数或页数", "earlier_items": "本月此前已计件数"}


def _notice_summary(p: dict[str, Any], mail_states: dict[int, Any]) -> list[tuple[str, str]]:
    out = [("通知", NOTICE_KINDS.get(p.get("kind"), "申请人通知"))]
    sms_only = p.get("channel") == "sms"     # the applicant chose SMS (webapp/sms/)
    if p.get("to"):
        out.append(("短信号码" if sms_only else "收件邮箱", p["to"]))
    if p.get("letters"):
        out.append(("附件", f"文书{len(p['letters'])}份"))
    state = mail_states.get(p.get("outbox_id"))
    out.append(("短信状态" if sms_only else "邮件状态", state.text if state is not None else "—"))
    if p.get("sms_outbox_id"):
        sms = mail_states.get(p["sms_outbox_id"])
        out.append(("短信状态", sms.text if sms is not None else "—"))
    return out


def payload_summary(ev: CaseEvent, mail_states: dict[int, Any] | None = None) -> list[tuple[str, str]]:
    """The event's recorded fields as (label, value) pairs in Chinese; for a notice, the state of
    its mail read from the outbox (``mail_states``: outbox id -> notify.mail_status.MailState)."""
    p = dict(ev.payload or {})
    out: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            out.append((label, value if isinstance(value, str) else _d(value)))

    pkg = _event_package(ev.type)
    if pkg is not None:
        return pkg.summary(ev.type, p)
    if ev.type == "deadline_moved":
        add("原因", p.get("reason"))
        for name, (a, b) in (p.get("changes") or {}).items():
            add(DEADLINE_LABELS_ZH.get(name, name), f"{a or '—'} → {b or '—'}")
        return out
    if ev.type == "appeal_recorded":
        add("类型", APPEAL_KINDS.get(p.get("kind"), p.get("kind")))
        add("立案日期", p.get("filed_on"))
        add("结果", APPEAL_RESULTS.get(p.get("result"), p.get("result")))
        add("审结日期", p.get("decided_on"))
        add("备注", p.get("note"))
        return out
    if ev.type == "notice_sent":
        return _notice_summary(p, mail_states or {})
    if ev.type == "routed":
        add("分办自", p.get("from_name"))
        add("分办至", p.get("to_name"))
        add("网上申请编号", p.get("submission"))
        add("分办说明", p.get("note"))
        return out
    if ev.type in ("signed_for", "returned_to_router"):   # 签收 (handovers/services.py)
        add("签收机关" if ev.type == "signed_for" else "退回机关",
            p.get("to_name") if ev.type == "signed_for" else p.get("from_name"))
        add("退回至", p.get("to_name") if ev.type == "returned_to_router" else None)
        add("退回理由", p.get("reason"))
        if ev.type == "signed_for":
            add("等待签收", f"{p.get('waited_workdays')}个工作日（{p.get('waited_hours')}小时）")
        return out
    if ev.type in ("supervision_notice", "supervision_reply"):
        add("督办内容", p.get("message"))
        add("回复期限", p.get("reply_by"))
        add("回复内容", p.get("reply"))
        return out
    if ev.type == "remark":      # a document's note event (cases/services/interchange_notes.py)
        add("备注", p.get("text"))
        return out
    if ev.type == "assigned":
        add("原承办人", p.get("from") or "（未分配）")
        add("现承办人", p.get("to"))
        return out
    if "channel" in p:
        add("收件渠道", CHANNEL_LABELS.get(p["channel"], p["channel"]))
    add("需补正内容", p.get("what"))
    add("补正期限", p.get("reply_by"))
    if "party" in p:
        try:
            add("征求对象", Party(p["party"]).label_zh)
        except ValueError:
            add("征求对象", p["party"])
    add("受函方", p.get("addressee"))
    add("征求事项", p.get("text") if ev.type == EventType.CONSULTATION_STARTED.value else None)
    if p.get("days") is not None:
        add("延长", f"{p['days']}个工作日")
    add("批准人", p.get("approved_by"))
    add("延期理由", p.get("reason"))
    if p.get("method"):
        add("计收方式", FEE_METHODS.get(p["method"], p["method"]))
    if p.get("amount_yuan") is not None:
        add("金额", f"{Decimal(str(p['amount_yuan'])):,.2f}元")
    add("计费依据", p.get("basis"))
    if p.get("item_outcomes"):
        add("各项结果", "；".join(outcome_text(o) for o in p["item_outcomes"]))
    if p.get("outcome"):
        add("办理结果", outcome_text(p["outcome"]))
    add("答复内容", p.get("text") if ev.type == EventType.ANSWERED.value else None)
    add("备注", p.get("note"))
    shown = {"channel", "what", "reply_by", "party", "addressee", "text", "days", "approved_by", "reason",
             "method", "amount_yuan", "basis", "item_outcomes", "outcome", "note", "quantity",
             "earlier_items"}
    for key, value in p.items():
        if key not in shown and key in EXTRA_LABELS and not isinstance(value, (dict, list)):
            add(EXTRA_LABELS[key], value)
    return out


_SEQ = attrgetter("seq")


@dataclass
class TimelineRow:
    event: CaseEvent
    label: str
    summary: list[tuple[str, str]]
    workflow: bool
    letter_kind: str | None


def timeline(case: Case, events: list | None = None) -> list[TimelineRow]:
    """The case's timeline; ``events``: its events if read already (case_events), else ``case.events``."""
    from webapp.notify.mail_status import states

    events = case.events if events is None else events
    mail_states = states(i for ev in events if ev.type == "notice_sent"
                         for i in ((ev.payload or {}).get("outbox_id"), (ev.payload or {}).get("sms_outbox_id")) if i)
    rows = []
    for ev in sorted(events, key=_SEQ):
        et = WORKFLOW_TYPES.get(ev.type)
        rows.append(TimelineRow(ev, et.label_zh if et is not None else event_label(ev.type),
                                payload_summary(ev, mail_states), et is not None,
                                LETTER_FOR_EVENT.get(et) if et is not None else None))
    return rows


def applicant_view(case: Case, full: bool) -> dict[str, str]:
    a = case.applicant
    return {
        "name": a.name, "kind": APPLICANT_KINDS.get(a.kind, a.kind),
        "id_number": (a.id_number or "") if full else mask_id(a.id_number),
        "uscc": a.uscc or "",
        "id_document": a.id_document if full else ("已登记" if a.id_document else ""),
        "phone": a.phone if full else mask_phone(a.phone),
        "email": a.email if full else ("已登记" if a.email else ""),
        "address": a.address if full else mask_address(a.address),
    }


def case_page_context(case: Case, today: date, can, *, show_personal: bool = False,
                      bound: dict[str, Any] | None = None, open_action: str | None = None,
                      assignees: list | None = None) -> dict[str, Any]:
    """What cases/case.html shows. ``assignees``: the assignment form's list if read already
    (panel_rows)."""
    cal = current_calendar()
    policies = case.agency.policy()
    events = case_events(case)
    clock = case_clock(case, cal, events=events)
    status = Status(case.status) if case.status else None
    deadlines = clock.deadlines(cal, policies, today) if status is not None else []
    bound = bound or {}
    actions = []
    # a government's desk sees its departments' cases but acts only on its own (security.py)
    read_only = case.agency_id not in actable_agency_ids()
    shown = [] if read_only else visible_actions(case, status, can, events)
    urls = CaseUrls(case.id)
    base = urls(f"cases.act_{ACTIONS[0].name}").removesuffix(ACTIONS[0].name) if shown else ""
    # the request's CSRF token, asked once: the display forms' (hidden_html; they have no field for it)
    csrf = page_token() if current_app.config.get("WTF_CSRF_ENABLED", True) else None
    for action, disabled in shown:
        form, hidden, fields = page_form(action, case, today, csrf, bound.get(action.name), assignees)
        actions.append((action, form, hidden, disabled, action.name == open_action, fields, base + action.name))
    by_letter: dict[Any, list] = {}      # each letter's events (one pass, not one per kind of letter)
    for ev in events:
        et = WORKFLOW_TYPES.get(ev.type)
        kind = LETTER_FOR_EVENT.get(et) if et is not None else None
        if kind is not None:
            by_letter.setdefault(kind, []).append(ev)
    # each letter's events and their dates as the page lists them ("、" between: what the template's
    # map(attribute='on') | join('、') wrote, about 15 Python calls a letter)
    letters = [{"kind": kind, "title": title, "events": evs, "dates": "、".join([str(ev.on) for ev in evs])}
               for kind, title in LETTER_TITLES.items() if kind in by_letter
               for evs in (sorted(by_letter[kind], key=_SEQ),)]
    fee = fee_preview(case, "per_item", len(case.items)) if any(
        a[0].name == "fee_notice" for a in actions) else None
    return {
        "case": case, "clock": clock, "status": status, "deadlines": deadlines, "today": today,
        "timeline": timeline(case, events), "applicant": applicant_view(case, show_personal),
        "applicant_hints": applicant_hints(case.applicant),
        "show_personal": show_personal, "page_forms": page_forms_html(csrf),
        "downloadable": {a.id for a in case.attachments if may_download_attachment(case, a)},
        "own_agency": not read_only,
        "actions": actions, "letters": letters, "fee": fee,
        "channel_label": CHANNEL_LABELS.get(case.channel or "", case.channel or "—"),
        "form_wanted": FORM_WANTED.get(case.form_wanted, case.form_wanted),
        "route_wanted": ROUTE_WANTED.get(case.route_wanted, case.route_wanted),
        "outcome_text": outcome_text, "correction_notice_late": clock.correction_notice_late,
        "appeal_kinds": APPEAL_KINDS, "appeal_results": APPEAL_RESULTS, "read_only": read_only,
        "all_actions": ACTIONS, "can": can,    # the page's ``can``: the caller's (its user resolved once)
        "csrf": csrf, "urls": urls, "case_html": case_html,
        "status_badge": status_badge, "action_fields": _action_fields,
    }


def status_badge(code: Any) -> Markup:
    """cases/_macros.html's ``status_badge(code)``, as it writes it (a macro call was about 20 Python calls)."""
    return Markup(f'<span class="status status-{escape(code or "none")}">{escape(status_zh(code))}</span>')


def _action_fields(*args: Any) -> Any:
    """cases/_action_fields.html's ``action_fields`` (an action whose fields are not written in
    Python: action_forms.page_form), from its template's module (made once per app), looked up only
    when a page calls it."""
    return get_template_attribute("cases/_action_fields.html", "action_fields")(*args)

