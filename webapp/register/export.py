"""The register as .xlsx: the interchange document (webapp/cases/services/interchange.py) laid out in
sheets, so that importing the file rebuilds the same document.

- 台账: one row per case in the columns offices keep (fields.FIELDS), plus the derived 状态 / 答复期限 /
  是否逾期 (informative; ignored on import);
- 事件: every event of every case with its parameters (JSON, as in the interchange document);
- 事项: every item with its outcome; 复议诉讼: appeals; 主动公开: the proactive ledger;
- 文档: the document's format, agency and as-of date.
Every cell goes through webapp/spreadsheet.py (text stays text); dates are written as dates.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from webapp.cases.services.applicants import APPLICANT_KINDS
from webapp.domain.labels import outcome_register_label
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Channel
from webapp.spreadsheet import put

from .fields import DERIVED, FIELDS

EVENTS_SHEET, ITEMS_SHEET, APPEALS_SHEET, PROACTIVE_SHEET, DOC_SHEET = "事件", "事项", "复议诉讼", "主动公开", "文档"
EVENT_HEADERS = ("编号", "序号", "事件", "日期", "参数")
ITEM_HEADERS = ("编号", "序号", "内容", "结果")
APPEAL_HEADERS = ("编号", "类型", "申请日期", "结果", "决定日期")
PROACTIVE_HEADERS = ("年度", "项目", "数值")
DOC_HEADERS = ("项目", "值")
STATUS_LABELS = {"registered": "办理中", "awaiting_correction": "待补正", "consulting": "征求意见中",
                 "awaiting_fee": "待缴费", "closed": "已办结"}
EVENT_ZH = {"received": "收到申请", "correction_requested": "补正告知", "correction_received": "收到补正",
            "correction_lapsed": "逾期不补正", "consultation_started": "征求意见", "consultation_ended": "意见返回",
            "extended": "延期", "fee_notice": "收费通知", "fee_paid": "缴费", "fee_lapsed": "逾期未缴费",
            "answered": "答复", "withdrawn": "撤回"}
ENDING_LABELS = {"correction_lapsed": "逾期不补正", "fee_lapsed": "逾期未缴费", "withdrawn": "撤回"}


outcome_label = outcome_register_label   # the one table of wordings (domain/labels.py)


def _write(ws, row: int, values) -> None:
    for col, v in enumerate(values, start=1):
        cell = put(ws, row, col, v)
        if isinstance(v, date):
            cell.number_format = "yyyy-mm-dd"


def _header(ws, headers, widths=None) -> None:
    _write(ws, 1, headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, w in enumerate(widths or (), start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = w


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def register_row(c: dict[str, Any]) -> list[Any]:
    """One case of an interchange export as the 台账 row."""
    a = c["applicant"]
    v: dict[str, Any] = {
        "ref": c["ref"], "name": a.get("name"), "kind": APPLICANT_KINDS.get(a.get("kind"), a.get("kind")),
        "id_number": a.get("id_number") or a.get("uscc"), "phone": a.get("phone"), "email": a.get("email"),
        "address": a.get("address"), "items": "\n".join(i["text"] for i in c["items"]),
    }
    for e in c["events"]:
        t, on = e["type"], _d(e["on"])
        if t == "received":
            v["received_on"], v["channel"] = on, Channel(e["channel"]).label_zh
        elif t == "correction_requested" and "correction_on" not in v:
            v["correction_on"], v["correction_reply_by"] = on, _d(e.get("reply_by"))
        elif t == "correction_received":
            v["correction_received_on"] = on
        elif t == "consultation_started" and "consultation_started_on" not in v:
            v["consultation_started_on"] = on
            v["consultation_party"] = "第三方" if e.get("party") == "third_party" else "其他机关"
        elif t == "consultation_ended":
            v["consultation_ended_on"] = on
        elif t == "extended":
            v["extended_on"], v["extended_days"] = on, e.get("days")
        elif t == "fee_notice":
            v["fee_notice_on"], v["fee_amount"] = on, e.get("amount_yuan")
        elif t == "fee_paid":
            v["fee_paid_on"] = on
        elif t == "answered":
            v["answered_on"], v["outcome"] = on, outcome_label(e["outcome"])
        elif t in ENDING_LABELS:
            v["answered_on"], v["outcome"] = on, ENDING_LABELS[t]
    late = c.get("late")
    derived = [STATUS_LABELS.get(c.get("status"), c.get("status")), _d(c.get("due_on")),
               None if late is None else ("是" if late else "否")]
    return [v.get(f.key) for f in FIELDS] + derived


def workbook_bytes(doc: dict[str, Any]) -> bytes:
    """The interchange document ``doc`` (export_document's) as a register workbook."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    _header(ws, [f.label for f in FIELDS] + list(DERIVED), [14, 12, 10, 12, 10, 20, 14, 18, 24, 40])
    for r, c in enumerate(doc["cases"], start=2):
        _write(ws, r, register_row(c))
        ws.cell(r, 10).alignment = Alignment(wrap_text=True, vertical="top")
    ev = wb.create_sheet(EVENTS_SHEET)
    _header(ev, EVENT_HEADERS, [14, 6, 22, 12, 50])
    r = 2
    for c in doc["cases"]:
        for i, e in enumerate(c["events"]):
            params = {k: x for k, x in e.items() if k not in ("type", "on")}
            _write(ev, r, [c["ref"], i, e["type"], _d(e["on"]),
                           json.dumps(params, ensure_ascii=False) if params else None])
            r += 1
    it = wb.create_sheet(ITEMS_SHEET)
    _header(it, ITEM_HEADERS, [14, 6, 60, 30])
    r = 2
    for c in doc["cases"]:
        for i, item in enumerate(c["items"]):
            _write(it, r, [c["ref"], i, item["text"], item.get("outcome")])
            r += 1
    ap = wb.create_sheet(APPEALS_SHEET)
    _header(ap, APPEAL_HEADERS, [14, 24, 12, 10, 12])
    for r, a in enumerate(doc.get("appeals", []), start=2):
        _write(ap, r, [a["case_ref"], a["kind"], _d(a["filed_on"]), a.get("result"), _d(a.get("decided_on"))])
    pr = wb.create_sheet(PROACTIVE_SHEET)
    _header(pr, PROACTIVE_HEADERS, [8, 36, 14])
    r = 2
    for year, data in doc.get("proactive", {}).items():
        for key, value in _flatten(data):
            _write(pr, r, [year, key, value])
            r += 1
    meta = wb.create_sheet(DOC_SHEET)
    _header(meta, DOC_HEADERS, [16, 40])
    for r, (k, x) in enumerate((("format", doc["format"]), ("agency.code", doc["agency"]["code"]),
                                ("agency.name", doc["agency"]["name"]), ("as_of", doc.get("as_of"))), start=2):
        _write(meta, r, [k, x])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _flatten(data: dict[str, Any], prefix: str = ""):
    for k, v in data.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def template_bytes() -> bytes:
    """The empty register to fill in, with a second sheet explaining every column."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    _header(ws, [f.label for f in FIELDS], [14, 12, 10, 12, 10, 20, 14, 18, 24, 40])
    rules = wb.create_sheet("填写说明")
    _header(rules, ("列名", "也可写作", "填写规则"), [16, 40, 80])
    rows: list[tuple[str, str, str]] = [(f.label, "、".join(f.synonyms), f.rule) for f in FIELDS]
    rows.append(("", "", ""))
    rows.append(("日期格式", "", "2024-03-01、2024/3/1、2024.3.1、2024年3月1日、20240301，或 Excel 日期单元格"))
    rows.append(("渠道", "", "、".join(c.label_zh for c in Channel)))
    rows.append(("申请人类型", "", "、".join(APPLICANT_KINDS.values())))
    rows.append(("办理结果", "", "、".join(outcome_label(o.value) for o in Outcome)
                 + "、撤回"))
    rows.append(("导入规则", "", "整表导入：任何一行有错则全部不导入；"
                 "以“编号”识别同一件申请，重复导入同一台账不作改动；"
                 "每件申请按各日期依次记录（收到→补正告知→补正→征求意见→延期→收费→缴费→答复），"
                 "与在系统中逐步办理的校验相同"))
    for r, row in enumerate(rows, start=2):
        _write(rules, r, row)
        rules.cell(r, 3).alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
