"""The narrative sections of an agency's annual report (一、五、六), kept per year and versioned:
every save that changes something is a new Narrative row; the latest row is the text in force.
With nothing saved, the text is the draft of webapp.reporting.render.default_narrative, which
states the year's figures in the usual wording. Callers commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Narrative, User
from webapp.reporting.services import build_report
from webapp.timeutil import now_utc
from webapp.trust.audit import log_event

from .report_docs import latest_narrative, narrative_for

SECTION_LIMIT = 20000


def narrative_keys() -> list[str]:
    from webapp.reporting.render.labels import NARRATIVE_KEYS

    return list(NARRATIVE_KEYS)


def section_labels() -> dict[str, str]:
    """Narrative key -> the heading it stands under, for the edit form."""
    from webapp.reporting.render.labels import NARRATIVE_PARTS, SECTION_HEADINGS

    out = {}
    for key, section, runin in NARRATIVE_PARTS:
        head = SECTION_HEADINGS[section]
        out[key] = f"{head} {runin.rstrip('。：')}" if runin else (
            head if key == "overview" else f"{head}（其余事项）")
    return out


def draft(agency: Agency, year: int, report: dict[str, Any] | None = None, fields: bool = False) -> dict[str, str]:
    """The generated draft (no saved text applied); ``fields``: its figure sentences as data fields."""
    from webapp.reporting.render import default_narrative

    from .proactive_ledger import categories_for
    from .report_docs import profile_of

    report = report or build_report([agency], year)
    cats = categories_for([agency.id], year)
    return default_narrative(report, profile_of([agency]), cats or None, fields=fields)


def current(agency: Agency, year: int, report: dict[str, Any] | None = None, filled: bool = True) -> dict[str, str]:
    """The text in force: the latest saved version over the draft; ``filled=False``: as edited, with
    its data fields (the editor shows that)."""
    report = report or build_report([agency], year)
    return narrative_for([agency], year, report, filled=filled)


def fields(agency: Agency, year: int, report: dict[str, Any] | None = None) -> dict[str, str]:
    """The data fields a narrative may use, with their values for this year (for the editor)."""
    from webapp.reporting.render.narrative import field_values

    from .proactive_ledger import categories_for
    from .report_docs import profile_of

    report = report or build_report([agency], year)
    return field_values(report, profile_of([agency]), categories_for([agency.id], year) or None)


def history(agency: Agency, year: int) -> list[Narrative]:
    return list(db.session.scalars(select(Narrative).where(Narrative.agency_id == agency.id, Narrative.year == year)
                                   .order_by(Narrative.version.desc())))


def changed_keys(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    old = old or {}
    return [k for k in narrative_keys() if (old.get(k) or "") != (new.get(k) or "")]


def save(agency: Agency, year: int, sections: Mapping[str, Any], actor: User | None = None,
         note: str = "") -> tuple[Narrative, bool]:
    """Save the narrative as a new version: (the version in force, whether one was added).

    Unknown keys and unknown data fields are refused; a text identical to the version in force adds
    nothing."""
    from webapp.reporting.render.narrative import unknown_fields

    keys = narrative_keys()
    unknown = set(sections) - set(keys)
    if unknown:
        raise ServiceError(f"unknown narrative sections: {', '.join(sorted(unknown))}",
                           "年度报告文字部分包含未知的栏目", rule="narrative.keys")
    clean: dict[str, str] = {}
    for k in keys:
        v = sections.get(k, "")
        if v is None:
            v = ""
        if not isinstance(v, str):
            raise ServiceError(f"narrative {k} must be text", "年度报告文字须为文本", rule="narrative.invalid")
        v = v.replace("\r\n", "\n").strip()
        bad = unknown_fields(v)
        if bad:
            names = "、".join("{{" + b + "}}" for b in bad)
            raise ServiceError(f"narrative {k}: unknown data fields {', '.join(bad)}",
                               f"“{section_labels().get(k, k)}”中有未知的数据字段：{names}", rule="narrative.field")
        if len(v) > SECTION_LIMIT:
            raise ServiceError(f"narrative {k} is longer than {SECTION_LIMIT} characters",
                               f"每一栏文字不超过{SECTION_LIMIT}字", rule="narrative.too_long")
        clean[k] = v
    last = latest_narrative(agency, year)
    if last is not None and not changed_keys(last.sections, clean):
        return last, False
    row = Narrative(agency_id=agency.id, year=year, version=(last.version + 1) if last else 1,
                    sections=clean, edited_by_id=actor.id if actor is not None else None,
                    edited_at=now_utc(), note=(note or "").strip()[:500])
    db.session.add(row)
    db.session.flush()
    log_event("report.narrative", user=actor, target_type="narrative", target_id=row.id,
              detail={"agency": agency.code, "year": year, "version": row.version,
                      "changed": changed_keys(last.sections if last else None, clean)})
    return row, True
