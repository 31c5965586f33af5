"""The annual report in its formats: JSON from reporting/services/, documents through the
renderers of webapp/reporting/render, with the agency profile and the year's narrative."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import select

from webapp.domain.kinds import AgencyKind
from webapp.extensions import db
from webapp.models import Agency, Narrative
from webapp.reporting.services import build_report

from .proactive_ledger import categories_for
from .report_cache import cached_report


def profile_of(agencies: Sequence[Agency]) -> dict[str, str]:
    if len(agencies) == 1:
        a = agencies[0]
        return {"name": a.name, "address": a.address, "postcode": a.postcode, "phone": a.phone, "email": a.email}
    govs = [a for a in agencies if a.kind == AgencyKind.GOVERNMENT]
    lead = govs[0] if govs else agencies[0]
    return {"name": f"{lead.name}等{len(agencies)}个机关（汇总）", "address": lead.address,
            "postcode": lead.postcode, "phone": lead.phone, "email": lead.email}


def latest_narrative(agency: Agency, year: int) -> Narrative | None:
    return db.session.scalar(select(Narrative).where(Narrative.agency_id == agency.id, Narrative.year == year)
                             .order_by(Narrative.version.desc()).limit(1))


def narrative_for(agencies: Sequence[Agency], year: int, report: dict[str, Any],
                  filled: bool = True) -> dict[str, str]:
    """The narrative in force: the latest saved text over the draft; ``filled``: with its data fields
    (``{{新收申请数}}``...) replaced by this report's figures, as every document shows it."""
    from webapp.reporting.render import default_narrative
    from webapp.reporting.render.content import agency_name
    from webapp.reporting.render.narrative import fill_fields

    cats = categories_for([a.id for a in agencies], year)
    profile = profile_of(agencies)
    draft = default_narrative(report, profile, cats or None, fields=True)
    if len(agencies) == 1:
        saved = latest_narrative(agencies[0], year)
        if saved is not None:
            draft.update({k: v for k, v in saved.sections.items() if isinstance(v, str)})
    if not filled:
        return draft
    name = agency_name(report, profile)
    return {k: fill_fields(v, report, name, cats or None) for k, v in draft.items()}


def render_report(agencies: Sequence[Agency], year: int, fmt: str,
                  cell_url: Callable[..., str | None] | None = None, cached: bool = False) -> bytes:
    """The report in ``fmt``; ``cached``: its figures through the report cache (the pages' downloads;
    the same figures, report_cache.py; a download leaves no mark: the background refresh keeps the
    pages viewed ready, report_refresh.py), else computed (``flask report``, the backup)."""
    build = partial(cached_report, mark=False) if cached else build_report
    report = build(agencies, year)
    if fmt == "json":
        return (json.dumps(report, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    from webapp.reporting import render

    profile = profile_of(agencies)
    narrative = narrative_for(agencies, year, report)
    if fmt == "html":
        if cell_url is not None:       # a fragment for a page of the service, figures linked
            return render.render_html(report, profile, narrative, cell_url=cell_url).encode("utf-8")
        return render.render_html_document(report, profile, narrative).encode("utf-8")
    if fmt == "docx":
        return render.render_docx(report, profile, narrative)
    if fmt == "pdf":
        return render.render_pdf(report, profile, narrative)
    if fmt == "xlsx":
        per_agency = None
        if len(agencies) > 1:
            per_agency = [(a.name, build([a], year)) for a in agencies]
        return render.render_xlsx(report, profile, per_agency=per_agency)
    raise ValueError(fmt)
