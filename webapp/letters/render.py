"""Filling and laying out letters. See the package docstring."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.shared import Cm, Pt
from jinja2 import TemplateError
from sqlalchemy import select

from config import BASE_DIR
from webapp.docx_fonts import set_font
from webapp.domain.fees import FeeMethod
from webapp.domain.kinds import LetterKind
from webapp.domain.labels import LETTER_TITLES, outcome_phrase
from webapp.domain.outcomes import Outcome
from webapp.domain.policies import CONSULTATION_REPLY_DAYS
from webapp.domain.workflow import EventType, Party
from webapp.extensions import db
from webapp.models import Case, CaseEvent
from webapp.models.letters import LetterTemplate
from webapp.sandbox import SafeTemplates, message_zh, plain

log = logging.getLogger(__name__)

LETTER_DIR = BASE_DIR / "templates" / "letters"

LETTER_KINDS = tuple(LETTER_TITLES)

#: the workflow event whose recording sends each letter
LETTER_FOR_EVENT: dict[EventType, LetterKind] = {
    EventType.CORRECTION_REQUESTED: LetterKind.CORRECTION,
    EventType.CONSULTATION_STARTED: LetterKind.CONSULTATION,
    EventType.EXTENDED: LetterKind.EXTENSION,
    EventType.FEE_NOTICE: LetterKind.FEE,
    EventType.ANSWERED: LetterKind.ANSWER,
}
EVENT_FOR_LETTER = {v: k for k, v in LETTER_FOR_EVENT.items()}

FONT = "仿宋"
BODY_SIZE = Pt(16)     # 三号
TITLE_SIZE = Pt(22)    # 二号


def _date_zh(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


#: letters are rendered here (webapp/sandbox/)
LETTERS = SafeTemplates(keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True,
                        filters={"date_zh": _date_zh})


def _override(kind: str) -> str | None:
    body = db.session.scalar(select(LetterTemplate.body).where(LetterTemplate.kind == kind))
    return body if body and body.strip() else None


def letter_template_source(kind: str) -> str:
    """The template text of ``kind``: the administrator's override if there is one, else the file."""
    if kind not in LETTER_TITLES:
        raise KeyError(f"unknown letter kind {kind!r}")
    return _override(kind) or default_template_source(kind)


def template_problem(source: str) -> str | None:
    """Why an administrator's template text cannot be used (in Chinese), or None. Checks the syntax;
    what a template may reach is limited by the sandbox when it is rendered."""
    try:
        LETTERS.compile(source)
    except TemplateError as e:
        return message_zh(e)
    return None


def default_template_source(kind: str) -> str:
    """The shipped file (also for an administrator's "restore default")."""
    if kind not in LETTER_TITLES:
        raise KeyError(f"unknown letter kind {kind!r}")
    return Path(LETTER_DIR / f"{kind}.txt").read_text(encoding="utf-8")


# --- the data a letter can use -------------------------------------------------------------------

def outcome_ground(outcome: Outcome) -> str:
    ground = outcome.legal_ground
    if not ground:
        return ""
    return ground if ground.startswith("《") else f"《中华人民共和国政府信息公开条例》{ground}"


def latest_event(case: Case, type_: EventType) -> CaseEvent | None:
    found = [e for e in case.events if e.type == type_.value]
    return max(found, key=lambda e: e.seq) if found else None


def _agency_values(agency) -> dict[str, Any]:
    return {"name": agency.name, "code": agency.code, "kind": agency.kind, "address": agency.address or "",
            "postcode": agency.postcode or "", "phone": agency.phone or "", "email": agency.email or ""}


def _applicant_values(applicant) -> dict[str, Any]:
    """What a letter may print of its addressee (no ID number: a letter does not need it)."""
    from webapp.cases.services.applicants import APPLICANT_KINDS

    return {"name": applicant.name, "kind": applicant.kind,
            "kind_label": APPLICANT_KINDS.get(applicant.kind, applicant.kind),
            "address": applicant.address or "", "phone": applicant.phone or "", "email": applicant.email or ""}


def case_values(case: Case) -> dict[str, Any]:
    """The case as plain values: ``case`` for the templates (the paths templates used on the case
    object -- case.number, case.applicant.name, case.agency.name, case.items[].text -- are keys)."""
    agency, applicant = _agency_values(case.agency), _applicant_values(case.applicant)
    return {"number": case.number, "received_on": case.received_on, "due_on": case.due_on,
            "status": case.status, "channel": case.channel, "closed_on": case.closed_on, "outcome": case.outcome,
            "late": case.late, "extended": case.extended, "fee_amount": case.fee_amount,
            "form_wanted": case.form_wanted, "route_wanted": case.route_wanted,
            "items": [{"text": it.text, "outcome": it.outcome, "position": it.position} for it in case.items],
            "agency": agency, "applicant": applicant}


@dataclass(frozen=True)
class LetterFacts:
    """Everything a letter is filled from, as plain values: the case (``case_values``), the
    letter's event (its payload, date and due dates), the calendar and the agency's policies."""

    case: dict[str, Any]
    payload: dict[str, Any]
    on: date | None = None
    due_before: date | None = None
    due_after: date | None = None
    cal: Any = None
    policies: Any = None


def _base_values(kind: str, f: LetterFacts) -> dict[str, Any]:
    c = f.case
    return {"kind": kind, "title": LETTER_TITLES[kind], "case": c, "number": c["number"],
            "agency": c["agency"], "applicant": c["applicant"], "applicant_kind": c["applicant"]["kind_label"],
            "items": [it["text"] for it in c["items"]], "received_on": _date_zh(c["received_on"]),
            "letter_date": _date_zh(f.on), "event": f.payload, "event_on": f.on,
            # 签发 (webapp/review): who signed the act off, and when (empty when recorded directly)
            "signer_name": str(f.payload.get("signed_by") or ""),
            "signed_date": _date_zh(date.fromisoformat(f.payload["signed_on"])) if f.payload.get("signed_on") else ""}


def _correction_values(f: LetterFacts) -> dict[str, Any]:
    p = f.payload
    reply_by = date.fromisoformat(p["reply_by"]) if p.get("reply_by") else None
    return {"what": p.get("what", ""), "reply_by": _date_zh(reply_by)}


def _consultation_values(f: LetterFacts) -> dict[str, Any]:
    p, on = f.payload, f.on
    party = p.get("party", Party.THIRD_PARTY.value)
    return {"party": party, "party_label": Party(party).label_zh, "addressee": p.get("addressee", ""),
            "text": p.get("text", ""),
            "reply_due": _date_zh(f.cal.add_workdays(on, CONSULTATION_REPLY_DAYS)) if on else "",
            "reply_days": CONSULTATION_REPLY_DAYS}


def _extension_values(f: LetterFacts) -> dict[str, Any]:
    p = f.payload
    return {"days": p.get("days"), "reason": p.get("reason", ""), "approved_by": p.get("approved_by", ""),
            "old_due": _date_zh(f.due_before), "new_due": _date_zh(f.due_after)}


def _fee_values(f: LetterFacts) -> dict[str, Any]:
    p, on, policies = f.payload, f.on, f.policies
    method_label = {FeeMethod.PER_ITEM.value: "按件计收", FeeMethod.PER_PAGE.value: "按量计收"}.get(p.get("method"), "")
    return {"amount": p.get("amount_yuan"), "basis": p.get("basis", ""), "method_label": method_label,
            "quantity": p.get("quantity"), "payment_days": policies.fee_payment_days,
            "pay_by": _date_zh(f.cal.add_workdays(on, policies.fee_payment_days)) if on else "",
            "pauses_clock": policies.fee_pauses_clock}


def _answer_values(f: LetterFacts) -> dict[str, Any]:
    p, items = f.payload, f.case["items"]
    codes = p.get("item_outcomes") or [p.get("outcome")] * len(items)
    answered = []
    for it, code in zip(items, codes, strict=False):
        o = Outcome(code) if code else None
        answered.append({"text": it["text"], "outcome": o.value if o else "",
                         "outcome_text": outcome_phrase(o) if o else "", "ground": outcome_ground(o) if o else ""})
    overall = Outcome(p["outcome"]) if p.get("outcome") else None
    return {"answered": answered, "text": p.get("text", ""),
            "outcome_text": outcome_phrase(overall) if overall else "", "late": f.case["late"]}


#: the one context builder of each kind of letter (from plain facts to plain values)
_KIND_VALUES = {"correction": _correction_values, "consultation": _consultation_values,
                "extension": _extension_values, "fee": _fee_values, "answer": _answer_values}


def context_from_facts(kind: str, facts: LetterFacts, **extra: Any) -> dict[str, Any]:
    """The template context of letter ``kind``: plain values only (webapp/sandbox/ checks it)."""
    if kind not in LETTER_TITLES:
        raise KeyError(f"unknown letter kind {kind!r}")
    ctx = _base_values(kind, facts)
    ctx.update(_KIND_VALUES[kind](facts))
    ctx.update(extra)
    return plain(ctx)


def letter_context(case: Case, kind: str, event: CaseEvent | None = None, **extra: Any) -> dict[str, Any]:
    """Everything a letter template may use (documented in templates/letters/_README.txt), as plain
    values read from ``case`` and ``event`` (default: the case's latest event of the letter's type)."""
    from webapp.cases.services.calendar import current_calendar

    if kind not in LETTER_TITLES:
        raise KeyError(f"unknown letter kind {kind!r}")
    if event is None:
        event = latest_event(case, EVENT_FOR_LETTER[kind])
    facts = LetterFacts(case=case_values(case), payload=dict(event.payload or {}) if event is not None else {},
                        on=event.on if event is not None else None,
                        due_before=event.due_before if event is not None else None,
                        due_after=event.due_after if event is not None else None,
                        cal=current_calendar(), policies=case.agency.policy())
    return context_from_facts(kind, facts, **extra)


#: a case that exists only here, for checking an administrator's template before it is saved
SAMPLE_CASE: dict[str, Any] = {
    "number": "SAMPLE-2024-0001", "received_on": date(2024, 6, 3), "due_on": date(2024, 7, 1),
    "status": "registered", "channel": "online", "closed_on": None, "outcome": None, "late": False,
    "extended": False, "fee_amount": None, "form_wanted": "paper", "route_wanted": "post",
    "items": [{"text": "本机关2023年度部门预算", "outcome": None, "position": 0},
              {"text": "某项目立项批复文件", "outcome": None, "position": 1}],
    "agency": {"name": "示例区某局", "code": "SAMPLE", "kind": "department", "address": "示例区人民路1号",
               "postcode": "100000", "phone": "010-12345678", "email": "gk@example.gov.cn"},
    "applicant": {"name": "张三", "kind": "natural_person", "kind_label": "自然人", "address": "示例区某路1号",
                  "phone": "13800000000", "email": "zhangsan@example.com"},
}
SAMPLE_PAYLOADS: dict[str, dict[str, Any]] = {
    "correction": {"reply_by": "2024-06-21", "what": "请写明所需文件的名称或文号。"},
    "consultation": {"party": Party.THIRD_PARTY.value, "addressee": "某某有限公司",
                     "text": "请提出是否同意公开的意见。"},
    "extension": {"days": 20, "reason": "需要调取档案", "approved_by": "负责人"},
    "fee": {"amount_yuan": "100", "method": FeeMethod.PER_ITEM.value, "quantity": 2, "basis": "按件计收：2件"},
    "answer": {"outcome": Outcome.DISCLOSED.value, "item_outcomes": [Outcome.DISCLOSED.value, Outcome.PARTIAL.value],
               "text": "所申请信息见附件。"},
}


def sample_letter_context(kind: str) -> dict[str, Any]:
    """The context of letter ``kind`` for SAMPLE_CASE (no database row is read or written; the
    calendar is the default rules' one)."""
    from webapp.domain.calendar import WorkCalendar
    from webapp.domain.policies import Policies

    facts = LetterFacts(case=SAMPLE_CASE, payload=SAMPLE_PAYLOADS[kind], on=date(2024, 6, 5),
                        due_before=date(2024, 7, 1), due_after=date(2024, 7, 29), cal=WorkCalendar.default(),
                        policies=Policies())
    return context_from_facts(kind, facts)


def render_letter_text(case: Case, kind: str, event: CaseEvent | None = None, **extra: Any) -> str:
    """Fill the letter (webapp/sandbox/: plain values, bounded time and size). An administrator's
    override that fails (syntax, the sandbox refusing what it tries, a limit) is logged and the
    shipped template is used, so that no action fails for it."""
    ctx = letter_context(case, kind, event, **extra)
    override = _override(kind)
    if override is not None:
        try:
            return LETTERS.render(override, ctx)
        except TemplateError:
            log.exception("letter template override %r failed; using the shipped template", kind)
    return LETTERS.render(default_template_source(kind), ctx)


# --- layout ----------------------------------------------------------------------------------------

def _set_font(run, size=None, bold: bool | None = None) -> None:
    set_font(run, FONT)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold


def text_to_docx(text: str) -> bytes:
    """Lay out a filled letter. The first non-empty line is the title (centred, bold). Then, per line:
    ``^ text`` centred, ``> text`` right-aligned, ``= text`` without indent (the salutation),
    ``---`` an empty line, anything else a paragraph indented by two characters."""
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    set_font(normal, FONT)
    normal.font.size = BODY_SIZE
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = Pt(28)
    normal.paragraph_format.space_after = Pt(0)

    lines = [ln.rstrip() for ln in text.splitlines()]
    title_done = False
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        p = doc.add_paragraph()
        if not title_done:
            title_done = True
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.space_after = Pt(16)
            p.paragraph_format.line_spacing = Pt(36)
            _set_font(p.add_run(line), TITLE_SIZE, bold=True)
            continue
        if line == "---":
            _set_font(p.add_run(""), BODY_SIZE)
            continue
        if line.startswith("^"):
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            line = line[1:].strip()
        elif line.startswith(">"):
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            line = line[1:].strip()
        elif line.startswith("="):
            line = line[1:].strip()
        else:
            p.paragraph_format.first_line_indent = Pt(32)   # two characters of 三号
            p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        _set_font(p.add_run(line), BODY_SIZE)
    doc.core_properties.title = next((ln.strip() for ln in lines if ln.strip()), "")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render_letter(case: Case, kind: str, event: CaseEvent | None = None, **extra: Any) -> bytes:
    """The .docx of letter ``kind`` for ``case`` (for ``event``, default the latest of its type)."""
    return text_to_docx(render_letter_text(case, kind, event, **extra))


def letter_filename(case: Case, kind: str) -> str:
    return f"{case.number}-{LETTER_TITLES[kind]}.docx"
