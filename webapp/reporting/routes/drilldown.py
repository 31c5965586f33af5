"""The cases, appeals and documents behind every figure of a report (one agency's or the consolidated one)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    abort,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Agency, Appeal, Case
from webapp.params import page_arg
from webapp.platform.template_helpers import status_zh
from webapp.reporting.services import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    ROWS,
    appeal_filters_for,
    closeout,
    drilldown,
)
from webapp.reporting.services import proactive_ledger as proactive
from webapp.reporting.services.cells import appeal_in_column
from webapp.security import actable_agency_ids, can, requires

from .common import (
    APPEAL_RESULT_ZH,
    PER_PAGE,
    _agency,
    _case_url,
    _consolidated_agencies,
    _year_ok,
    bp,
    column_label,
    kind_label,
    outcome_label,
)

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
    column = appeal_in_column(res_expr, result)
    if column is not None:
        q = q.where(column)
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
