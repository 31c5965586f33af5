"""An agency's opening balance (期初数（上年已公开报告）): the figures of the year before its first year
in the service, taken from its published report, so that its first report's chains hold.

Two figures of year Y-1 reach the report of Y: table 三's 结转下年度继续办理 by applicant kind (which
becomes 上年结转 of Y) and table 二's 现行有效件数 of 规章 and 行政规范性文件 (the start of the in-force
chain). They are stored as a ReportVersion of Y-1 marked ``opening`` (everything else zero, no case
list), so build_report reads them exactly as it reads a closed year: 上年结转 of Y is the frozen
carried_out, the ``carry_over`` check compares it with the applications the service holds that were
received before Y and open at its start (the carried-over applications, entered to be finished in
the service), and ``proactive_in_force`` starts from the entered in-force counts.

Allowed only for a year the service does not hold: no closed version of Y-1, and no application
of the agency received and ended by 31 December of Y-1 (an application still open then is one of
the carried-over ones). Changeable until the report of Y is marked final. Each entry and change
is audited with the old and new figures. Callers commit.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Case, ReportVersion, User
from webapp.reporting.services import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    COLUMNS,
    OUTCOMES,
    REPORT_FORMAT,
    ZERO_PROACTIVE,
)
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

OPENING_LABEL = "期初数（上年已公开报告）"
COLUMN_LABELS = {"natural_person": "自然人", "commercial": "商业企业", "research": "科研机构",
                 "public_interest": "社会公益组织", "legal_service": "法律服务机构", "other_org": "其他",
                 "total": "总计"}
IN_FORCE_BLOCKS = {"rules": "规章", "normative_documents": "行政规范性文件"}
ROW_ZH = "表三 结转下年度继续办理"
MAX_COUNT = 10_000_000


def _refuse(message: str, message_zh: str, rule: str) -> ServiceError:
    return ServiceError(message, message_zh, rule=f"opening.{rule}")


def cell_zh(part: str, key: str) -> str:
    """The Chinese name of one entered cell: ("carried_out", "total") -> 表三 结转下年度继续办理·总计."""
    if part == "carried_out":
        return f"{ROW_ZH}·{COLUMN_LABELS[key]}"
    return f"表二 {IN_FORCE_BLOCKS[key]}·现行有效件数"


# --- validation ----------------------------------------------------------------------------------

def _count(value: Any, where_zh: str) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        shown = "空白" if value in (None, "") else f"“{value}”"
        raise _refuse(f"{where_zh}: not a whole number >= 0", f"{where_zh}须为非负整数（填写的是{shown}）。",
                      "count")
    return value


def clean_figures(raw: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """{"carried_out": {7 columns}, "in_force": {"rules", "normative_documents"}} checked: every cell
    present and a whole number >= 0, no unknown cell, 总计 = the sum of the six applicant columns."""
    carried = raw.get("carried_out")
    in_force = raw.get("in_force")
    if not isinstance(carried, Mapping) or not isinstance(in_force, Mapping):
        raise _refuse("carried_out and in_force are required", "缺少表三结转下年度继续办理或表二现行有效件数。",
                      "structure")
    for part, given, want in (("carried_out", carried, ALL_COLUMNS), ("in_force", in_force, IN_FORCE_BLOCKS)):
        unknown = sorted(set(given) - set(want))
        if unknown:
            where = ROW_ZH if part == "carried_out" else "表二 现行有效件数"
            raise _refuse(f"unknown cells {unknown}", f"{where}中有国家格式中没有的栏目：{'、'.join(unknown)}。",
                          "structure")
    out = {"carried_out": {c: _count(carried.get(c), cell_zh("carried_out", c)) for c in ALL_COLUMNS},
           "in_force": {b: _count(in_force.get(b), cell_zh("in_force", b)) for b in IN_FORCE_BLOCKS}}
    row = out["carried_out"]
    parts = sum(row[c] for c in COLUMNS)
    if row["total"] != parts:
        raise _refuse(f"carried_out/total = {row['total']} != {parts}",
                      f"{cell_zh('carried_out', 'total')}填写为{row['total']}，与六类申请人之和{parts}不符。",
                      "total")
    return out


def figures_from_report_json(doc: Any, year: int) -> dict[str, dict[str, Any]]:
    """The opening figures from the service's own report JSON (``flask report build --format json``)
    of ``year``: one agency's report, in the national format."""
    if not isinstance(doc, Mapping) or doc.get("format") != REPORT_FORMAT:
        raise _refuse("not a report JSON", f"文件不是本系统导出的年度报告JSON（format应为{REPORT_FORMAT}）。",
                      "format")
    if doc.get("year") != year:
        raise _refuse(f"the report is of {doc.get('year')}, not {year}",
                      f"文件是{doc.get('year')}年度的报告，期初数应取自{year}年度的报告。", "year")
    agencies = doc.get("agencies")
    if not isinstance(agencies, list) or len(agencies) != 1:
        raise _refuse("not one agency's report", "文件应为单个机关的年度报告（不能是汇总报告）。", "consolidated")
    apps = doc.get("applications")
    pro = doc.get("proactive")
    if not isinstance(apps, Mapping) or not isinstance(pro, Mapping):
        raise _refuse("applications/proactive missing", "文件缺少表三或表二。", "structure")
    blocks = {}
    for b in IN_FORCE_BLOCKS:
        block = pro.get(b)
        if not isinstance(block, Mapping) or "in_force" not in block:
            raise _refuse(f"proactive/{b}/in_force missing", f"文件缺少{cell_zh('in_force', b)}。", "structure")
        blocks[b] = block["in_force"]
    carried = apps.get("carried_out")
    if not isinstance(carried, Mapping):
        raise _refuse("applications/carried_out missing", f"文件缺少{ROW_ZH}。", "structure")
    return {"carried_out": dict(carried), "in_force": blocks}


def figures_from_json_bytes(data: bytes, year: int) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _refuse("not JSON", "文件不是有效的JSON（UTF-8）。", "format") from None
    return figures_from_report_json(doc, year)


# --- the .xlsx template --------------------------------------------------------------------------

SHEET = "期初数"
HEADER_ROW, VALUE_ROW, IN_FORCE_ROW = 5, 6, 9     # table 三 header / figures; table 二 from row 9


def template_xlsx(agency: Agency, year: int, figures: Mapping[str, Mapping[str, int]] | None = None) -> bytes:
    """A workbook to fill in: year and agency, table 三 结转下年度继续办理 by applicant kind, table 二
    现行有效件数 (the figures given, or blanks)."""
    from openpyxl import Workbook

    from webapp.spreadsheet import put

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    put(ws, 1, 1, f"{OPENING_LABEL}：请按{year}年度已公开的政府信息公开工作年度报告填写，只填写数字")
    put(ws, 2, 1, "年度")
    put(ws, 2, 2, year)
    put(ws, 3, 1, "机关")
    put(ws, 3, 2, f"{agency.code} {agency.name}")
    put(ws, HEADER_ROW, 1, ROW_ZH)
    for i, col in enumerate(ALL_COLUMNS):
        put(ws, HEADER_ROW, 2 + i, COLUMN_LABELS[col])
        if figures:
            put(ws, VALUE_ROW, 2 + i, int(figures["carried_out"][col]))
    put(ws, VALUE_ROW, 1, "四、结转下年度继续办理")
    put(ws, IN_FORCE_ROW - 1, 1, "表二")
    put(ws, IN_FORCE_ROW - 1, 2, "现行有效件数")
    for i, (b, label) in enumerate(IN_FORCE_BLOCKS.items()):
        put(ws, IN_FORCE_ROW + i, 1, label)
        if figures:
            put(ws, IN_FORCE_ROW + i, 2, int(figures["in_force"][b]))
    ws.column_dimensions["A"].width = 26
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell_name(row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(col)}{row}"


def figures_from_xlsx(data: bytes, year: int) -> dict[str, dict[str, Any]]:
    """The figures of a filled-in template; its labels must stand where the template put them."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise _refuse("not an xlsx", "文件不是有效的.xlsx工作簿。", "format") from None
    if SHEET not in wb.sheetnames:
        raise _refuse(f"no sheet {SHEET}", f"工作簿中没有“{SHEET}”工作表，请使用下载的模板填写。", "structure")
    ws = wb[SHEET]
    grid = {(r, c): v for r, row in enumerate(ws.iter_rows(min_row=1, max_row=IN_FORCE_ROW + 1, max_col=8,
                                                          values_only=True), 1)
            for c, v in enumerate(row, 1)}

    def label(r: int, c: int, want: str) -> None:
        got = grid.get((r, c))
        if (str(got).strip() if got is not None else "") != want:
            raise _refuse(f"{_cell_name(r, c)} should read {want}",
                          f"单元格{_cell_name(r, c)}应为“{want}”，请使用下载的模板填写，不要改动表头。", "structure")

    got_year = grid.get((2, 2))
    if str(got_year).strip() != str(year):
        raise _refuse(f"B2 year {got_year} != {year}", f"单元格B2的年度（{got_year}）与期初年度{year}不符。", "year")
    for i, col in enumerate(ALL_COLUMNS):
        label(HEADER_ROW, 2 + i, COLUMN_LABELS[col])
    for i, name in enumerate(IN_FORCE_BLOCKS.values()):
        label(IN_FORCE_ROW + i, 1, name)

    def value(r: int, c: int, what: str) -> int:
        return _count(grid.get((r, c)), f"单元格{_cell_name(r, c)}（{what}）")

    return {"carried_out": {col: value(VALUE_ROW, 2 + i, cell_zh("carried_out", col))
                            for i, col in enumerate(ALL_COLUMNS)},
            "in_force": {b: value(IN_FORCE_ROW + i, 2, cell_zh("in_force", b))
                         for i, b in enumerate(IN_FORCE_BLOCKS)}}


def figures_from_file(filename: str, data: bytes, year: int) -> dict[str, dict[str, Any]]:
    name = (filename or "").lower()
    if name.endswith(".json"):
        return figures_from_json_bytes(data, year)
    if name.endswith(".xlsx"):
        return figures_from_xlsx(data, year)
    raise _refuse("use a .json or .xlsx file", "请上传本系统导出的年度报告JSON（.json）或填好的模板（.xlsx）。",
                  "format")


# --- the stored opening balance ------------------------------------------------------------------

def opening_version(agency: Agency, year: int) -> ReportVersion | None:
    return db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                         ReportVersion.year == year, ReportVersion.opening.is_(True))
                             .order_by(ReportVersion.version.desc()).limit(1))


def figures_of(version: ReportVersion) -> dict[str, dict[str, int]]:
    data = version.data or {}
    return {"carried_out": {c: int(data["applications"]["carried_out"][c]) for c in ALL_COLUMNS},
            "in_force": {b: int(data["proactive"][b]["in_force"]) for b in IN_FORCE_BLOCKS}}


def _data(agency: Agency, year: int, figures: Mapping[str, Mapping[str, int]], source: str) -> dict[str, Any]:
    """A report JSON of ``year`` holding only the opening figures (every other cell zero)."""
    def row() -> dict[str, int]:
        return dict.fromkeys(ALL_COLUMNS, 0)

    proactive = {**ZERO_PROACTIVE, "rules": dict(ZERO_PROACTIVE["rules"]),
                 "normative_documents": dict(ZERO_PROACTIVE["normative_documents"])}
    for b in IN_FORCE_BLOCKS:
        proactive[b]["in_force"] = int(figures["in_force"][b])
    return {"format": REPORT_FORMAT, "year": year, "agencies": [{"code": agency.code, "name": agency.name}],
            "opening": {"label": OPENING_LABEL, "source": source},
            "proactive": proactive,
            "applications": {"new": row(), "carried_in": row(), "outcomes": {o: row() for o in OUTCOMES},
                             "total": row(), "carried_out": {c: int(figures["carried_out"][c]) for c in ALL_COLUMNS}},
            "appeals": {g: dict.fromkeys(APPEAL_RESULTS + ("total",), 0) for g in APPEAL_GROUPS},
            "fees_collected_yuan": "0", "checks": []}


def refusal(agency: Agency, year: int, today: date | None = None) -> ServiceError | None:
    """Why an opening balance of ``year`` cannot be entered or changed now (None: it can)."""
    today = today or today_shanghai()
    if not 2000 <= year < today.year:
        return _refuse(f"year {year} is not a past year", f"期初数只能录入已经结束的年度（{year}年度不是）。", "year")
    closed = db.session.scalar(select(func.count(ReportVersion.id)).where(
        ReportVersion.agency_id == agency.id, ReportVersion.year == year, ReportVersion.opening.is_(False)))
    if closed:
        return _refuse(f"{year} is closed in the service",
                       f"{agency.name}{year}年度已在本系统结账（有冻结的报告版本），该年度的数字来自案件记录，不能录入期初数。",
                       "closed")
    other = db.session.scalar(select(ReportVersion.year).where(
        ReportVersion.agency_id == agency.id, ReportVersion.year != year, ReportVersion.opening.is_(True)).limit(1))
    if other is not None:
        return _refuse(f"the agency's opening balance is of {other}",
                       f"{agency.name}已有{other}年度的期初数：期初数只录入开始使用本系统前一年度的数字，"
                       f"不能再录入{year}年度的。", "other_year")
    end = date(year, 12, 31)
    ended = db.session.scalar(select(func.count(Case.id)).where(
        Case.agency_id == agency.id, Case.received_on <= end, Case.closed_on.is_not(None), Case.closed_on <= end))
    if ended:
        return _refuse(f"{ended} applications ended by {end} are in the service",
                       f"{agency.name}在本系统中已有{ended}件在{year}年12月31日前办结的申请，{year}年度的数字由案件记录统计，"
                       f"不能录入期初数。", "cases")
    final_next = db.session.scalar(select(func.count(ReportVersion.id)).where(
        ReportVersion.agency_id == agency.id, ReportVersion.year == year + 1, ReportVersion.final.is_(True)))
    if final_next:
        return _refuse(f"the report of {year + 1} is final: the opening balance is locked",
                       f"{year + 1}年度报告已定稿，{year}年度期初数已锁定，不能再修改。", "locked")
    return None


def save_opening(agency: Agency, year: int, raw: Mapping[str, Any], actor: User | None = None,
                 source: str = "手工录入", today: date | None = None) -> tuple[ReportVersion, bool]:
    """Enter or change the opening balance of ``year``: (the version, whether anything changed).
    All or nothing: a refusal changes nothing."""
    problem = refusal(agency, year, today)
    if problem is not None:
        raise problem
    figures = clean_figures(raw)
    v = opening_version(agency, year)
    old = figures_of(v) if v is not None else None
    if old == figures:
        return v, False
    if v is None:
        v = ReportVersion(agency_id=agency.id, year=year, version=1, opening=True, cells={},
                          carried_out_case_ids=[], diff=[], reason=OPENING_LABEL,
                          created_by_id=actor.id if actor is not None else None)
        db.session.add(v)
    v.data = _data(agency, year, figures, source)
    db.session.flush()
    log_event("report.opening", user=actor, target_type="report_version", target_id=v.id,
              detail={"agency": agency.code, "year": year, "op": "enter" if old is None else "change",
                      "source": source, "old": old, "new": figures})
    return v, True
