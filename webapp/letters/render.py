"""Filling and laying out letters. See the package docstring."""

from __future__ import annotations

import io
import logging
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select

from config import BASE_DIR
from webapp.domain.fees import FeeMethod
from webapp.domain.outcomes import Outcome
from webapp.domain.policies import CONSULTATION_REPLY_DAYS
from webapp.domain.workflow import EventType, Party
from webapp.extensions import db
from webapp.models import Case, CaseEvent
from webapp.models.letters import LetterTemplate

log = logging.getLogger(__name__)

LETTER_DIR = BASE_DIR / "templates" / "letters"

#: kind -> the letter's title
LETTER_TITLES: dict[str, str] = {
    "correction": "补正告知书",
    "consultation": "征求意见函",
    "extension": "延期答复告知书",
    "fee": "收费通知书",
    "answer": "政府信息公开申请答复书",
}
LETTER_KINDS = tuple(LETTER_TITLES)

#: the workflow event whose recording sends each letter
LETTER_FOR_EVENT: dict[EventType, str] = {
    EventType.CORRECTION_REQUESTED: "correction",
    EventType.CONSULTATION_STARTED: "consultation",
    EventType.EXTENDED: "extension",
    EventType.FEE_NOTICE: "fee",
    EventType.ANSWERED: "answer",
}
EVENT_FOR_LETTER = {v: k for k, v in LETTER_FOR_EVENT.items()}

FONT = "仿宋"
BODY_SIZE = Pt(16)     # 三号
TITLE_SIZE = Pt(22)    # 二号

_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False, trim_blocks=True,
                            lstrip_blocks=True)


def _date_zh(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


_env.filters["date_zh"] = _date_zh


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
        _env.parse(source)
    except TemplateSyntaxError as e:
        return f"模板第{e.lineno}行有语法错误：{e.message}"
    return None


def default_template_source(kind: str) -> str:
    """The shipped file (also for an administrator's "restore default")."""
    if kind not in LETTER_TITLES:
        raise KeyError(f"unknown letter kind {kind!r}")
    return Path(LETTER_DIR / f"{kind}.txt").read_text(encoding="utf-8")


# --- the data a letter can use -------------------------------------------------------------------

def outcome_phrase(outcome: Outcome) -> str:
    """How an answer letter words an outcome: 予以公开 / 不予公开（属于国家秘密） / ..."""
    label = outcome.label_zh.split("．", 1)[-1]
    group = {"withheld": "不予公开", "unavailable": "无法提供", "not_processed": "不予处理",
             "other": "其他处理"}.get(outcome.group)
    if group is None:
        return label
    return f"{group}（{label}）"


def outcome_ground(outcome: Outcome) -> str:
    ground = outcome.legal_ground
    if not ground:
        return ""
    return ground if ground.startswith("《") else f"《中华人民共和国政府信息公开条例》{ground}"


def latest_event(case: Case, type_: EventType) -> CaseEvent | None:
    found = [e for e in case.events if e.type == type_.value]
    return max(found, key=lambda e: e.seq) if found else None


def letter_context(case: Case, kind: str, event: CaseEvent | None = None, **extra: Any) -> dict[str, Any]:
    """Everything a letter template may use (documented in each templates/letters/*.txt)."""
    from webapp.services.applicants import APPLICANT_KINDS
    from webapp.services.calendar import current_calendar

    if kind not in LETTER_TITLES:
        raise KeyError(f"unknown letter kind {kind!r}")
    if event is None:
        event = latest_event(case, EVENT_FOR_LETTER[kind])
    payload = dict(event.payload or {}) if event is not None else {}
    on = event.on if event is not None else None
    cal = current_calendar()
    policies = case.agency.policy()
    applicant = case.applicant
    ctx: dict[str, Any] = {
        "kind": kind, "title": LETTER_TITLES[kind], "case": case, "number": case.number,
        "agency": case.agency, "applicant": applicant,
        "applicant_kind": APPLICANT_KINDS.get(applicant.kind, applicant.kind),
        "items": [it.text for it in case.items],
        "received_on": _date_zh(case.received_on), "letter_date": _date_zh(on),
        "event": payload, "event_on": on,
        # 签发 (webapp/review): who signed the act off, and when (plain values; empty when recorded directly)
        "signer_name": str(payload.get("signed_by") or ""),
        "signed_date": _date_zh(date.fromisoformat(payload["signed_on"])) if payload.get("signed_on") else "",
    }
    if kind == "correction":
        reply_by = date.fromisoformat(payload["reply_by"]) if payload.get("reply_by") else None
        ctx.update(what=payload.get("what", ""), reply_by=_date_zh(reply_by))
    elif kind == "consultation":
        party = payload.get("party", Party.THIRD_PARTY.value)
        ctx.update(party=party, party_label=Party(party).label_zh, addressee=payload.get("addressee", ""),
                   text=payload.get("text", ""),
                   reply_due=_date_zh(cal.add_workdays(on, CONSULTATION_REPLY_DAYS)) if on else "",
                   reply_days=CONSULTATION_REPLY_DAYS)
    elif kind == "extension":
        ctx.update(days=payload.get("days"), reason=payload.get("reason", ""),
                   approved_by=payload.get("approved_by", ""),
                   old_due=_date_zh(event.due_before) if event else "",
                   new_due=_date_zh(event.due_after) if event else "")
    elif kind == "fee":
        method = payload.get("method")
        ctx.update(amount=payload.get("amount_yuan"), basis=payload.get("basis", ""),
                   method_label={FeeMethod.PER_ITEM.value: "按件计收",
                                 FeeMethod.PER_PAGE.value: "按量计收"}.get(method, ""),
                   quantity=payload.get("quantity"), payment_days=policies.fee_payment_days,
                   pay_by=_date_zh(cal.add_workdays(on, policies.fee_payment_days)) if on else "",
                   pauses_clock=policies.fee_pauses_clock)
    elif kind == "answer":
        codes = payload.get("item_outcomes") or [payload.get("outcome")] * len(case.items)
        answered = []
        for it, code in zip(case.items, codes, strict=False):
            o = Outcome(code) if code else None
            answered.append({"text": it.text, "outcome": o.value if o else "",
                             "outcome_text": outcome_phrase(o) if o else "",
                             "ground": outcome_ground(o) if o else ""})
        overall = Outcome(payload["outcome"]) if payload.get("outcome") else None
        ctx.update(answered=answered, text=payload.get("text", ""),
                   outcome_text=outcome_phrase(overall) if overall else "", late=case.late)
    ctx.update(extra)
    return ctx


def render_letter_text(case: Case, kind: str, event: CaseEvent | None = None, **extra: Any) -> str:
    """Fill the letter. An administrator's override that fails (syntax, or the sandbox refusing what
    it tries to reach) is logged and the shipped template is used, so that no action fails for it."""
    ctx = letter_context(case, kind, event, **extra)
    override = _override(kind)
    if override is not None:
        try:
            return _env.from_string(override).render(**ctx)
        except TemplateError:
            log.exception("letter template override %r failed; using the shipped template", kind)
    return _env.from_string(default_template_source(kind)).render(**ctx)


# --- layout ----------------------------------------------------------------------------------------

def _set_font(run, size=None, bold: bool | None = None) -> None:
    run.font.name = FONT
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)
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
    normal.font.name = FONT
    normal.font.size = BODY_SIZE
    rpr = normal.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)
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
