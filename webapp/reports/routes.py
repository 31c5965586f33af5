"""The annual report pages (blueprint ``reports``). Thin: every figure comes from services/reports.py,
every change goes through services/{closeout,narratives,proactive}.py.

URLs: /reports/ (years x agencies), /reports/agency/CODE/YEAR (the report, every figure a link),
.../cases/ROW/COL and .../appeals/GROUP/RESULT (the cases behind a figure), .../report.FMT,
.../narrative, .../proactive, .../versions, .../close, .../finalize; /reports/consolidated/YEAR
(several agencies summed, ?agency=CODE repeated); /reports/trends (the last five years).
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import extract, func, select

from webapp.auth import status_zh
from webapp.domain.outcomes import GROUP_LABELS, Outcome
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, ProactiveYear, ReportVersion, User
from webapp.params import id_arg, page_arg
from webapp.security import actable_agency_ids, can, public, requires, visible_agency_ids
from webapp.services import closeout, drilldown, narratives, proactive
from webapp.services.errors import ServiceError
from webapp.services.money import decimal_str
from webapp.services.report_docs import narrative_for, profile_of, render_report
from webapp.services.reports import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    ROWS,
    _classify,
    appeal_filters_for,
    build_report,
    proactive_ledger_empty,
)
from webapp.services.yoy import GROUPS, year_on_year
from webapp.timeutil import today_shanghai

from . import charts
from .forms import DocumentForm, ProactiveYearForm, narrative_form_class

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
    from webapp.reports.render import labels

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
    if not code:
        return "—"
    try:
        return Outcome(code).report_row
    except ValueError:
        return code


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
    from webapp.reports import render

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
    from webapp.reports import render

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


# --- index -----------------------------------------------------------------------------------------

@bp.get("/")
@requires("report.view")
def index():
    agencies = _visible_agencies()
    ids = [a.id for a in agencies]
    today = today_shanghai()
    first = today.year
    if ids:
        oldest = db.session.scalar(select(func.min(Case.received_on)).where(Case.agency_id.in_(ids)))
        oldest_ledger = db.session.scalar(select(func.min(ProactiveYear.year)).where(ProactiveYear.agency_id.in_(ids)))
        oldest_version = db.session.scalar(select(func.min(ReportVersion.year))
                                           .where(ReportVersion.agency_id.in_(ids)))   # an opening balance
        first = min([y for y in (oldest.year if oldest else None, oldest_ledger, oldest_version) if y]
                    + [today.year - 1])
    years = list(range(today.year, max(first, today.year - INDEX_YEARS + 1) - 1, -1))
    latest: dict[tuple[int, int], ReportVersion] = {}
    if ids:
        for v in db.session.scalars(select(ReportVersion).where(ReportVersion.agency_id.in_(ids),
                                                                ReportVersion.year.in_(years))
                                    .order_by(ReportVersion.version)):
            latest[(v.agency_id, v.year)] = v
    received: dict[tuple[int, int], int] = {}
    if ids:
        ry = extract("year", Case.received_on)
        for aid, y, n in db.session.execute(
                select(Case.agency_id, ry, func.count()).where(Case.agency_id.in_(ids),
                                                               Case.received_on >= date(years[-1], 1, 1))
                .group_by(Case.agency_id, ry)):
            received[(aid, int(y))] = n
    grid = []
    for a in agencies:
        cells = []
        for y in years:
            v = latest.get((a.id, y))
            if v is None:
                status = {"state": "draft", "label": "草稿"}
            elif v.opening:
                status = {"state": "opening", "label": "期初数"}
            elif v.final:
                status = {"state": "final", "label": f"定稿 v{v.version}"}
            else:
                status = {"state": "closed", "label": f"已结账 v{v.version}"}
            cells.append({"year": y, "status": status, "received": received.get((a.id, y), 0),
                          "url": url_for("reports.report", code=a.code, year=y)})
        grid.append({"agency": a, "cells": cells})
    return render_template("reports/index.html", years=years, grid=grid,
                           consolidated=len(agencies) > 1, today=today)


@bp.get("/report.css")
@public
def report_css():
    from webapp.reports.render import report_css as css

    return Response(css(), mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"})


# --- one agency's report ---------------------------------------------------------------------------

@bp.get("/agency/<code>/<int:year>")
@requires("report.view")
def report(code: str, year: int):
    _year_ok(year)
    agency = _agency(code)
    rep = build_report([agency], year)
    html = _render_html(rep, [agency], year, _cell_urls(agency, year, {}))
    last = closeout.latest_version(agency, year)
    changed = closeout.version_diff(last, rep, last.cells) if last is not None and not last.opening else []
    may_change = agency.id in actable_agency_ids()
    return render_template(
        "reports/report.html", agency=agency, year=year, report=rep, html=html,
        checks=_check_view(rep, agency, year, {}), status=closeout.version_status(agency, year),
        last=last, changed=changed, ledger_empty=proactive_ledger_empty([agency.id], year),
        empty_note=proactive.EMPTY_LEDGER_NOTE, may_change=may_change, formats=list(FORMATS),
        year_over=year < today_shanghai().year)


@bp.get("/agency/<code>/<int:year>/report.<fmt>")
@requires("report.view")
def download(code: str, year: int, fmt: str):
    _year_ok(year)
    agency = _agency(code)
    if fmt not in FORMATS:
        abort(404)
    number = id_arg("version")
    if number is not None:
        version = db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                                ReportVersion.year == year,
                                                                ReportVersion.version == number))
        if version is None:
            abort(404)
        return _send(_render_version(version, agency, fmt), fmt, f"{agency.code}-{year}-v{number}.{fmt}")
    return _send(render_report([agency], year, fmt), fmt, f"{agency.code}-{year}.{fmt}")


# --- drill-down ------------------------------------------------------------------------------------

def _page() -> int:
    return page_arg()


def _page_url(page: int) -> str:
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k != "page"}
    return url_for(request.endpoint, **(request.view_args or {}), **args, page=page)


def _why(case: Case, year: int, row: str, outcome: str | None = None, frozen: bool = False) -> str:
    """Why the case is counted in that row of table 三 (report.md counting rules)."""
    start = date(year, 1, 1)
    received = case.received_on.isoformat() if case.received_on else "—"
    if row == "new":
        return f"{received}收到申请，属{year}年新收"
    if row == "carried_in" and frozen:
        return f"{received}收到申请，列入{year - 1}年度结账时冻结的结转名单，属上年结转"
    if row == "carried_in":
        return f"{received}收到申请，{start.isoformat()}时尚未办结，属上年结转"
    if row == "carried_out":
        if case.closed_on is None:
            return f"{year}年12月31日时尚未办结（当前：{status_zh(case.status)}），结转下年度"
        return f"{year}年12月31日时尚未办结（{case.closed_on.isoformat()}办结），结转下年度"
    ended = case.closed_on.isoformat() if case.closed_on else "—"
    outcome = outcome or case.outcome
    if row == "total":
        return f"{ended}办结（{outcome_label(outcome)}），计入本年度办理结果总计"
    return f"{ended}办结，办理结果为{outcome_label(outcome)}"


def _cases_page(agencies: list[Agency], year: int, row: str, col: str, scope: dict[str, Any]):
    _year_ok(year)
    if row not in ROWS or col not in ALL_COLUMNS:
        abort(404)
    page = _page()
    total, entries = drilldown.entries_in_cell(agencies, year, row, col, limit=PER_PAGE,
                                               offset=(page - 1) * PER_PAGE)
    codes = {a.id: a for a in agencies}
    items = []
    for e in entries:
        c = e.case
        items.append({"case": c, "item": e.item, "url": _case_url(c.id), "agency": codes.get(c.agency_id),
                      "received_on": c.received_on, "closed_on": c.closed_on, "outcome": outcome_label(e.outcome),
                      "kind": kind_label(c.applicant_kind), "status": status_zh(c.status),
                      "why": _why(c, year, row, e.outcome, e.frozen)})
    row_label = closeout.cell_label(f"applications/{row}/{col}")
    opening_note = ""
    if row == "carried_in":
        opened = drilldown.opening_carried_in([a.id for a in agencies], year)
        if opened:
            n = sum(v[col] for v in opened.values())
            opening_note = (f"{'本格' if len(opened) == len(agencies) else '其中'}{n}件来自期初数（上年已公开报告）："
                            f"{year - 1}年度已公开的年度报告中“结转下年度继续办理”的数字，本系统中没有对应的案件清单。")
    pages = max(1, -(-total // PER_PAGE))
    by_item = bool(drilldown.split_by_unit(agencies)[1])
    return render_template("reports/cell.html", kind="cases", agencies=agencies, year=year, items=items,
                           total=total, page=page, pages=pages, title=row_label, by_item=by_item,
                           prev_url=_page_url(page - 1) if page > 1 else None,
                           next_url=_page_url(page + 1) if page < pages else None,
                           column=column_label(col), scope=scope, per_page=PER_PAGE, opening_note=opening_note,
                           col_note=(f"申请人类型为{column_label(col)}" if col != "total" else "全部申请人类型"))


def _appeals_page(agencies: list[Agency], year: int, group: str, result: str, scope: dict[str, Any]):
    _year_ok(year)
    if group not in APPEAL_GROUPS or result not in APPEAL_RESULTS + ("total",):
        abort(404)
    ids = [a.id for a in agencies]
    res_expr, cond = appeal_filters_for(agencies, year)      # each agency by its own appeal-year policy
    q = (select(Appeal, Case, res_expr).join(Case, Appeal.case_id == Case.id)
         .where(Case.agency_id.in_(ids), cond, Appeal.kind == group))
    if result != "total":
        q = q.where(res_expr == result)
    rows = db.session.execute(q.order_by(Appeal.filed_on, Case.id)).all()
    codes = {a.id: a for a in agencies}
    items = []
    for appeal, case, res in rows:
        as_of = f"{year}年12月31日"
        if res == "pending":
            why = f"{appeal.filed_on.isoformat()}提起，截至{as_of}尚未审结"
        else:
            why = (f"{appeal.filed_on.isoformat()}提起，{appeal.decided_on.isoformat()}审结，"
                   f"{APPEAL_RESULT_ZH.get(res, res)}")
        items.append({"case": case, "appeal": appeal, "url": _case_url(case.id), "agency": codes.get(case.agency_id),
                      "received_on": case.received_on, "closed_on": case.closed_on,
                      "outcome": outcome_label(case.outcome), "kind": kind_label(case.applicant_kind),
                      "result": APPEAL_RESULT_ZH.get(res, res), "why": why})
    policies = {a.policy().appeal_year for a in agencies}
    rule = ("按提起年度统计，结果以当年12月31日为准" if policies == {"filed"} else
            "按审结年度统计" if policies == {"decided"} else "各机关按本机关的统计口径（提起年度或审结年度）")
    return render_template("reports/cell.html", kind="appeals", agencies=agencies, year=year, items=items,
                           total=len(items), page=1, pages=1, scope=scope, per_page=len(items) or 1, by_item=False,
                           prev_url=None, next_url=None,
                           title=closeout.cell_label(f"appeals/{group}/{result}"), column="", col_note=rule)


@bp.get("/agency/<code>/<int:year>/cases/<row>/<col>")
@requires("report.view")
def cell_cases(code: str, year: int, row: str, col: str):
    agency = _agency(code)
    return _cases_page([agency], year, row, col, {"agency": agency})


@bp.get("/agency/<code>/<int:year>/appeals/<group>/<result>")
@requires("report.view")
def cell_appeals(code: str, year: int, group: str, result: str):
    agency = _agency(code)
    return _appeals_page([agency], year, group, result, {"agency": agency})


@bp.get("/agency/<code>/<int:year>/documents/<block>/<col>")
@requires("report.view")
def cell_documents(code: str, year: int, block: str, col: str):
    _year_ok(year)
    agency = _agency(code)
    try:
        docs = proactive.documents_in_cell(agency, year, block, col)
    except ValueError:
        abort(404)
    typed = not proactive.has_documents(agency)
    return render_template("reports/documents.html", agency=agency, year=year, docs=docs, typed=typed,
                           title=closeout.cell_label(f"proactive/{block}/{col}"), kinds=proactive.DOCUMENT_KINDS,
                           may_edit=can("report.edit") and agency.id in actable_agency_ids())


# --- narrative -------------------------------------------------------------------------------------

@bp.route("/agency/<code>/<int:year>/narrative", methods=["GET", "POST"])
@requires("report.edit")
def narrative(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    form_class = narrative_form_class()
    history = narratives.history(agency, year)
    shown = None
    if request.method == "POST":
        form = form_class()
        if form.validate_on_submit():
            sections = {k: getattr(form, k).data or "" for k in narratives.narrative_keys()}
            try:
                row, added = narratives.save(agency, year, sections, current_user._get_current_object(),
                                             note=form.note.data or "")
            except ServiceError as e:
                db.session.rollback()
                flash(e.message_zh, "error")
            else:
                db.session.commit()
                flash(f"已保存为第{row.version}版。" if added else "文字没有变化，未生成新版本。",
                      "success" if added else "info")
                return redirect(url_for("reports.narrative", code=code, year=year))
    else:
        report_data = build_report([agency], year)
        number = id_arg("v")
        if request.args.get("draft"):
            data = narratives.draft(agency, year, report_data, fields=True)
        elif number is not None:
            shown = next((n for n in history if n.version == number), None)
            if shown is None:
                abort(404)
            data = dict(shown.sections)
        else:
            data = narratives.current(agency, year, report_data, filled=False)
        form = form_class(data=data)
    users = _users({n.edited_by_id for n in history})
    changes = {}
    for older, newer in zip(history[1:], history, strict=False):
        changes[newer.id] = narratives.changed_keys(older.sections, newer.sections)
    if history:
        changes[history[-1].id] = narratives.changed_keys(None, history[-1].sections)
    labels = narratives.section_labels()
    last = closeout.latest_version(agency, year)
    return render_template("reports/narrative.html", agency=agency, year=year, form=form, history=history,
                           users=users, changes=changes, labels=labels, shown=shown,
                           keys=narratives.narrative_keys(), final=last if last is not None and last.final else None,
                           fields=narratives.fields(agency, year))


def _users(ids: set[int | None]) -> dict[int, User]:
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


# --- proactive ledger ------------------------------------------------------------------------------

def _ledger_page(agency: Agency, year: int, form: ProactiveYearForm, doc_form: DocumentForm, status: int = 200):
    rep = build_report([agency], year)
    docs = proactive.documents(agency)
    end = date(year, 12, 31)
    check = next((c for c in rep["checks"] if c["name"] == "proactive_in_force"), None)
    return render_template(
        "reports/proactive.html", agency=agency, year=year, form=form, doc_form=doc_form,
        docs=[{"doc": d, "in_force": proactive.in_force_at(d, end),
               "issued_here": d.issued_on is not None and d.issued_on.year == year,
               "repealed_here": d.repealed_on is not None and d.repealed_on.year == year} for d in docs],
        derived=bool(docs), figures=rep["proactive"], check=check,
        failures=closeout.describe_failures([check]) if check else [],
        empty=proactive_ledger_empty([agency.id], year), empty_note=proactive.EMPTY_LEDGER_NOTE,
        kinds=proactive.DOCUMENT_KINDS), status


@bp.route("/agency/<code>/<int:year>/proactive", methods=["GET", "POST"])
@requires("report.edit")
def proactive_ledger(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    if request.method == "POST":
        form = ProactiveYearForm()
        if form.validate_on_submit():
            data = {k: getattr(form, k).data for k in (*proactive.COUNTS, *proactive.DOC_COUNTS, "fees_10k_yuan",
                                                         "categories")}
            try:
                proactive.save_year(agency, year, data, current_user._get_current_object())
            except ServiceError as e:
                db.session.rollback()
                flash(e.message_zh, "error")
                return _ledger_page(agency, year, form, DocumentForm(formdata=None), 400)
            db.session.commit()
            flash(f"{year}年度主动公开台账已保存。", "success")
            return redirect(url_for("reports.proactive_ledger", code=code, year=year))
        return _ledger_page(agency, year, form, DocumentForm(formdata=None), 400)
    row = proactive.year_row(agency, year)
    data: dict[str, Any] = {}
    if row is not None:
        for k in (*proactive.COUNTS, *proactive.DOC_COUNTS):
            data[k] = str(getattr(row, k) or 0)
        data["fees_10k_yuan"] = decimal_str(row.fees_10k_yuan)
        data["categories"] = proactive.format_categories(row.categories)
    form = ProactiveYearForm(formdata=None, data=data)
    return _ledger_page(agency, year, form, DocumentForm(formdata=None))


def _doc_data(form: DocumentForm) -> dict[str, Any]:
    return {"kind": form.kind.data, "title": form.title.data, "doc_number": form.doc_number.data or "",
            "issued_on": form.issued_on.data, "repealed_on": form.repealed_on.data}


@bp.post("/agency/<code>/<int:year>/proactive/documents")
@requires("report.edit")
def document_add(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    doc_form = DocumentForm()
    if doc_form.validate_on_submit():
        try:
            proactive.add_document(agency, _doc_data(doc_form), current_user._get_current_object())
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
        else:
            db.session.commit()
            flash("文件已加入台账。", "success")
            return redirect(url_for("reports.proactive_ledger", code=code, year=year) + "#documents")
    return _ledger_page(agency, year, ProactiveYearForm(formdata=None), doc_form, 400)


@bp.route("/agency/<code>/<int:year>/proactive/documents/<int:doc_id>", methods=["GET", "POST"])
@requires("report.edit")
def document_edit(code: str, year: int, doc_id: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    doc = next((d for d in proactive.documents(agency) if d.id == doc_id), None)
    if doc is None:
        abort(404)
    form = DocumentForm(obj=doc) if request.method == "GET" else DocumentForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            proactive.update_document(agency, doc_id, _doc_data(form), current_user._get_current_object())
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
        else:
            db.session.commit()
            flash("文件已修改。", "success")
            return redirect(url_for("reports.proactive_ledger", code=code, year=year) + "#documents")
    return render_template("reports/document_edit.html", agency=agency, year=year, form=form, doc=doc)


@bp.post("/agency/<code>/<int:year>/proactive/documents/<int:doc_id>/delete")
@requires("report.edit")
def document_delete(code: str, year: int, doc_id: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    try:
        proactive.delete_document(agency, doc_id, current_user._get_current_object())
    except ServiceError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash("文件已从台账删除。", "success")
    return redirect(url_for("reports.proactive_ledger", code=code, year=year) + "#documents")


# --- close-out, final, versions ---------------------------------------------------------------------

@bp.post("/agency/<code>/<int:year>/close")
@requires("report.close")
def close(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    try:
        version, created = closeout.close_agency_year(agency, year, current_user._get_current_object())
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
    else:
        db.session.commit()
        if created and version.version == 1:
            flash(f"{year}年度已结账，生成第1版。", "success")
        elif created:
            flash(f"已生成第{version.version}版，变动{len(version.diff)}处。", "success")
        else:
            flash(f"数据与第{version.version}版相同，未生成新版本。", "info")
    return redirect(url_for("reports.report", code=code, year=year))


@bp.post("/agency/<code>/<int:year>/finalize")
@requires("report.finalize")
def finalize(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    number = id_arg("version", request.form)
    version = closeout.latest_version(agency, year)
    if version is None:
        flash("请先结账生成版本，再标记定稿。", "error")
        return redirect(url_for("reports.report", code=code, year=year))
    if number is not None and number != version.version:
        version = db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                                ReportVersion.year == year,
                                                                ReportVersion.version == number))
        if version is None:
            abort(404)
    try:
        closeout.mark_final(version, current_user._get_current_object())
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
    else:
        db.session.commit()
        flash(f"第{version.version}版已标记为定稿。", "success")
    return redirect(url_for("reports.report", code=code, year=year))


@bp.get("/agency/<code>/<int:year>/versions")
@requires("report.view")
def versions(code: str, year: int):
    _year_ok(year)
    agency = _agency(code)
    rows = list(reversed(closeout.versions(agency, year)))
    users = _users({v.created_by_id for v in rows} | {v.finalized_by_id for v in rows})
    return render_template("reports/versions.html", agency=agency, year=year, versions=rows, users=users,
                           case_url=_case_url, formats=list(FORMATS))


# --- consolidated ----------------------------------------------------------------------------------

def _per_agency_summary(agencies: list[Agency], year: int) -> list[dict[str, Any]]:
    """new / carried in / ended / carried out per agency, one query."""
    is_new, ended, where = _classify(year)
    ended_flag = ended.is_not(None)
    q = (select(Case.agency_id, is_new, ended_flag, func.count())
         .where(Case.agency_id.in_([a.id for a in agencies]), where)
         .group_by(Case.agency_id, is_new, ended_flag))
    figures = {a.id: {"new": 0, "carried_in": 0, "total": 0, "carried_out": 0} for a in agencies}
    for aid, new, done, n in db.session.execute(q):
        f = figures[aid]
        f["new" if new else "carried_in"] += n
        f["total" if done else "carried_out"] += n
    return [{"agency": a, **figures[a.id]} for a in agencies]


@bp.get("/consolidated/<int:year>")
@requires("report.view")
def consolidated(year: int):
    _year_ok(year)
    agencies, args = _consolidated_agencies()
    rep = build_report(agencies, year)
    html = _render_html(rep, agencies, year, _cell_urls(None, year, args))
    return render_template("reports/consolidated.html", year=year, agencies=agencies, args=args, html=html,
                           checks=_check_view(rep, None, year, args), visible=_visible_agencies(),
                           summary=_per_agency_summary(agencies, year), formats=list(FORMATS),
                           ledger_empty=proactive_ledger_empty([a.id for a in agencies], year),
                           empty_note=proactive.EMPTY_LEDGER_NOTE)


@bp.get("/consolidated/<int:year>/report.<fmt>")
@requires("report.view")
def consolidated_download(year: int, fmt: str):
    _year_ok(year)
    if fmt not in FORMATS:
        abort(404)
    agencies, _args = _consolidated_agencies()
    return _send(render_report(agencies, year, fmt), fmt, f"consolidated-{year}.{fmt}")


@bp.get("/consolidated/<int:year>/cases/<row>/<col>")
@requires("report.view")
def consolidated_cell_cases(year: int, row: str, col: str):
    agencies, args = _consolidated_agencies()
    return _cases_page(agencies, year, row, col, {"args": args})


@bp.get("/consolidated/<int:year>/appeals/<group>/<result>")
@requires("report.view")
def consolidated_cell_appeals(year: int, group: str, result: str):
    agencies, args = _consolidated_agencies()
    return _appeals_page(agencies, year, group, result, {"args": args})


# --- year on year ----------------------------------------------------------------------------------

@bp.get("/trends")
@requires("report.view")
def trends():
    visible = _visible_agencies()
    if not visible:
        abort(404)
    code = request.args.get("agency") or (current_user.agency.code if current_user.agency_id
                                          and any(a.id == current_user.agency_id for a in visible) else "ALL")
    if code.upper() == "ALL":
        agencies, scope_name = visible, ("全部可见机关（汇总）" if len(visible) > 1 else visible[0].name)
    else:
        agencies = [a for a in visible if a.code == code]
        if not agencies:
            abort(404)
        scope_name = agencies[0].name
    last_year = request.args.get("year", type=int) or today_shanghai().year
    _year_ok(last_year)
    figures = year_on_year([a.id for a in agencies], last_year)
    months = [f"{m}月" for m in range(1, 13)]
    group_names = [GROUP_LABELS[g].split("）", 1)[1] for g in GROUPS]
    chart_list = [
        charts.line_chart("每月收到申请数", "件", months, [(str(f.year), f.months) for f in figures],
                          title_fmt="{series}年{x}：{v}件"),
        charts.stacked_chart("办理结果（按类别）", "件", [f"{f.year}年" for f in figures],
                             [(name, [f.outcomes[g] for f in figures]) for g, name in zip(GROUPS, group_names,
                                                                                           strict=True)]),
        charts.bar_chart("按时答复率", "%", [(f"{f.year}年", f.on_time_rate) for f in figures], top=100, suffix="%"),
        charts.bar_chart("答复用时中位数（工作日，不含中止天数）", "个工作日",
                         [(f"{f.year}年", f.median_days) for f in figures]),
    ]
    return render_template("reports/trends.html", figures=figures, charts=chart_list, months=months,
                           group_names=group_names, groups=GROUPS, visible=visible, code=code,
                           scope_name=scope_name, last_year=last_year)

from . import opening as _opening  # noqa: E402,F401  (the opening-balance page registers on bp)
