"""The blueprint ``reports`` and what its pages share: labels, the scope of a user, the link of every figure,
sending a file."""

from __future__ import annotations

import io
import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    request,
    send_file,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import select

from webapp.domain.labels import outcome_text
from webapp.extensions import db
from webapp.models import Agency, ReportVersion, User
from webapp.reporting.services import closeout
from webapp.reporting.services.report_docs import narrative_for, profile_of
from webapp.security import actable_agency_ids, can, visible_agency_ids

bp = Blueprint("reports", __name__, url_prefix="/reports")

PER_PAGE = 200
INDEX_YEARS = 8
FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
PROACTIVE_BLOCKS = ("rules", "normative_documents")
PROACTIVE_COLS = ("issued", "repealed", "in_force")


# --- labels ----------------------------------------------------------------------------------------

def _labels():
    from webapp.reporting.render import labels

    return labels


def column_label(col: str) -> str:
    return dict(_labels().TABLE3_COLUMNS).get(col, col)


def kind_label(kind: str | None) -> str:
    if kind == "other_org":
        return "法人或其他组织·其他"
    cols = dict(_labels().TABLE3_COLUMNS)
    if kind == "natural_person":
        return cols[kind]
    return f"法人或其他组织·{cols[kind]}" if kind in cols else (kind or "—")


def outcome_label(code: str | None) -> str:
    return outcome_text(code) or "—"     # the one wording (domain/labels.py)


APPEAL_RESULT_ZH = {"upheld": "结果维持", "corrected": "结果纠正", "other": "其他结果", "pending": "尚未审结",
                    "total": "总计"}
APPEAL_GROUP_ZH = {"review": "行政复议", "litigation_direct": "行政诉讼（未经复议直接起诉）",
                   "litigation_after_review": "行政诉讼（复议后起诉）"}


# --- scope -----------------------------------------------------------------------------------------

def _year_ok(year: int) -> None:
    if not 2000 <= year <= 2100:
        abort(404)


def _agency(code: str, change: bool = False) -> Agency:
    """The agency of the URL if the user may see it (or change its report); 404 otherwise, so that
    another agency's reports are not confirmed."""
    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    allowed = actable_agency_ids() if change else visible_agency_ids()
    if agency is None or agency.id not in allowed:
        abort(404)
    return agency


def _visible_agencies() -> list[Agency]:
    ids = visible_agency_ids()
    return list(db.session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code))) if ids else []


def _consolidated_agencies() -> tuple[list[Agency], dict[str, list[str]]]:
    """The agencies of a consolidated page (?agency=CODE repeated, default every visible agency),
    and the query arguments that select them again."""
    visible = _visible_agencies()
    codes = [c for c in request.args.getlist("agency") if c]
    if not codes or any(c.upper() == "ALL" for c in codes):
        if not visible:
            abort(404)
        return visible, {}
    by_code = {a.code: a for a in visible}
    if any(c not in by_code for c in codes):
        abort(404)
    chosen = sorted({by_code[c] for c in codes}, key=lambda a: a.code)
    return chosen, {"agency": [a.code for a in chosen]}


#: The clerk UI's case page: the endpoint named in the brief, or the one the cases blueprint has.
CASE_ENDPOINTS = ("cases.case_view", "cases.show")


def _case_url(case_id: int) -> str | None:
    """The case page, once the cases blueprint has registered it (None before)."""
    for endpoint in CASE_ENDPOINTS:
        if endpoint not in current_app.view_functions:
            continue
        rule = next(iter(current_app.url_map.iter_rules(endpoint)), None)
        if rule is not None and len(rule.arguments) == 1:
            return url_for(endpoint, **{next(iter(rule.arguments)): case_id})
    return None


def _cell_urls(agency: Agency | None, year: int, args: dict[str, list[str]]):
    """cell_url for render_html: every figure links to the list behind it."""

    def cell_url(table: str, row: str, col: str | None) -> str | None:
        if agency is not None:
            base: dict[str, Any] = {"code": agency.code, "year": year}
            prefix = "reports."
        else:
            base = {"year": year, **args}
            prefix = "reports.consolidated_"
        if table == "applications" and col is not None:
            return url_for(prefix + "cell_cases", row=row, col=col, **base)
        if table == "appeals" and col is not None:
            return url_for(prefix + "cell_appeals", group=row, result=col, **base)
        if table == "proactive" and agency is not None:
            if row in PROACTIVE_BLOCKS and col in PROACTIVE_COLS:
                return url_for("reports.cell_documents", block=row, col=col, **base)
            if can("report.edit") and agency.id in actable_agency_ids():
                return url_for("reports.proactive_ledger", **base) + "#year-counts"
        return None

    return cell_url


def _render_html(report: dict, agencies: list[Agency], year: int, cell_url) -> Markup:
    from webapp.reporting import render

    html = render.render_html(report, profile_of(agencies), narrative_for(agencies, year, report), cell_url=cell_url)
    return Markup(html)  # the renderer's template escapes every text


def _check_view(report: dict, agency: Agency | None, year: int, args: dict) -> list[dict[str, Any]]:
    """The checks with their failing cells named and linked."""
    cell_url = _cell_urls(agency, year, args)
    failures = {f["name"]: f for f in closeout.describe_failures(report.get("checks", []))}
    out = []
    for c in report.get("checks", []):
        f = failures.get(c["name"])
        cells = []
        if f:
            for key, name in zip(f["cells"], f["cell_names"], strict=True):
                parts = key.split("/")
                url = cell_url(parts[0], parts[1], parts[2] if len(parts) > 2 else None)
                cells.append({"name": name, "url": url})
        out.append({"name": c["name"], "label": closeout.CHECK_LABELS_ZH.get(c["name"], c["name"]),
                    "ok": c["ok"], "detail": c.get("detail", ""), "cells": cells})
    return out


def _send(data: bytes, fmt: str, filename: str) -> Response:
    return send_file(io.BytesIO(data), mimetype=FORMATS[fmt], as_attachment=fmt != "json",
                     download_name=filename)


def _render_version(version: ReportVersion, agency: Agency, fmt: str) -> bytes:
    """A frozen version in a format: its tables; the narrative frozen with it once final, else the
    narrative in force."""
    from webapp.reporting import render

    report = version.data
    if fmt == "json":
        return (json.dumps(report, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    profile = profile_of([agency])
    narrative = dict(version.narrative) if version.narrative else narrative_for([agency], version.year, report)
    if fmt == "docx":
        return render.render_docx(report, profile, narrative)
    if fmt == "pdf":
        return render.render_pdf(report, profile, narrative)
    return render.render_xlsx(report, profile)


def _users(ids: set[int | None]) -> dict[int, User]:
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
