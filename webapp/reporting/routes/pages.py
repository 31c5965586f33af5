"""The report pages: the index (years x agencies), one agency's report and its downloads, the consolidated
report, the year-on-year page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Response,
    abort,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import extract, func, select

from webapp.domain.outcomes import GROUP_LABELS
from webapp.extensions import db
from webapp.models import Agency, Case, ProactiveYear, ReportVersion
from webapp.params import id_arg
from webapp.reporting.services import (
    closeout,
    proactive_ledger_empty,
)
from webapp.reporting.services import proactive_ledger as proactive
from webapp.reporting.services.report_cache import cached_report
from webapp.reporting.services.report_docs import render_report
from webapp.reporting.services.yoy import GROUPS, year_on_year
from webapp.security import actable_agency_ids, public, requires
from webapp.timeutil import today_shanghai

from .. import charts
from .common import (
    FORMATS,
    INDEX_YEARS,
    _agency,
    _cell_urls,
    _check_view,
    _consolidated_agencies,
    _render_html,
    _render_version,
    _send,
    _visible_agencies,
    _year_ok,
    bp,
)

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
    from webapp.reporting.render import report_css as css

    return Response(css(), mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"})


# --- one agency's report ---------------------------------------------------------------------------

@bp.get("/agency/<code>/<int:year>")
@requires("report.view")
def report(code: str, year: int):
    _year_ok(year)
    agency = _agency(code)
    rep = cached_report([agency], year)
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
    return _send(render_report([agency], year, fmt, cached=True), fmt, f"{agency.code}-{year}.{fmt}")


# --- consolidated ----------------------------------------------------------------------------------

def _per_agency_summary(agencies: list[Agency], counted: dict[int, dict[str, int]]) -> list[dict[str, Any]]:
    """new / carried in / ended / carried out per agency, as build_report counted them."""
    zero = {"new": 0, "carried_in": 0, "total": 0, "carried_out": 0}
    return [{"agency": a, **counted.get(a.id, zero)} for a in agencies]


@bp.get("/consolidated/<int:year>")
@requires("report.view")
def consolidated(year: int):
    _year_ok(year)
    agencies, args = _consolidated_agencies()
    counted: dict[int, dict[str, int]] = {}
    rep = cached_report(agencies, year, per_agency=counted)
    html = _render_html(rep, agencies, year, _cell_urls(None, year, args))
    return render_template("reports/consolidated.html", year=year, agencies=agencies, args=args, html=html,
                           checks=_check_view(rep, None, year, args), visible=_visible_agencies(),
                           summary=_per_agency_summary(agencies, counted), formats=list(FORMATS),
                           ledger_empty=proactive_ledger_empty([a.id for a in agencies], year),
                           empty_note=proactive.EMPTY_LEDGER_NOTE)


@bp.get("/consolidated/<int:year>/report.<fmt>")
@requires("report.view")
def consolidated_download(year: int, fmt: str):
    _year_ok(year)
    if fmt not in FORMATS:
        abort(404)
    agencies, _args = _consolidated_agencies()
    return _send(render_report(agencies, year, fmt, cached=True), fmt, f"consolidated-{year}.{fmt}")


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
