"""A register file -> the interchange document -> the SAME import_document as a JSON import (every
case through the rules, all or nothing, idempotent by agency code + 编号).

Two shapes are read:
- a full register (this service's export: an 事件 sheet): the document is rebuilt from the sheets;
- a register of one row per case (a foreign 台账, a CSV, the template): each case's history is built
  from its dates (received -> correction notice / reply -> consultation -> extension -> fee notice /
  paid -> answer with its outcome), events on one date kept in that order.
Every problem names the sheet, the row and the column, in Chinese.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from webapp.cases.services.interchange import FORMAT, import_document
from webapp.errors import ServiceError
from webapp.extensions import db

from . import fields as F
from .export import (
    APPEALS_SHEET,
    DOC_SHEET,
    EVENTS_SHEET,
    ITEMS_SHEET,
    PROACTIVE_SHEET,
)
from .reading import FIRST_SHEET, Sheets

MAX_PROBLEMS = 200
REQUIRED = ("ref", "received_on", "name")
#: the rule of a refusal -> the field (column) it is about
RULE_FIELDS = {"applicant.kind": "kind", "applicant.name": "name", "applicant.id_number": "id_number",
               "applicant.uscc": "id_number", "applicant.phone": "phone", "applicant.email": "email",
               "applicant.address": "address", "case.ref": "ref", "case.duplicate": "ref", "items": "items"}


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def text(self) -> str:
        where = self.sheet + (f" 第{self.row}行" if self.row else "") + (f" {self.column}" if self.column else "")
        return f"{where}：{self.message}"


class RegisterError(ServiceError):
    """The register is refused; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0].text() if problems else ""
        more = f"（另有 {len(problems) - 1} 处问题）" if len(problems) > 1 else ""
        super().__init__(first + more, first + more, rule="register.invalid")


@dataclass
class Built:
    """The document built from a register, and where each of its parts came from."""
    doc: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    case_rows: dict[str, int] = field(default_factory=dict)                 # ref -> row on 台账
    event_cells: dict[tuple[str, int], tuple[str, int, str]] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)                   # field key -> header text

    def locate(self, e: ServiceError) -> Problem:
        """Where a refusal of import_document lies in the file."""
        ref, idx = e.context.get("case_ref"), e.context.get("event_index")
        msg = e.message_zh
        if msg.startswith("case ") and ": " in msg:      # an English message (no Chinese one given)
            msg = msg.split(": ", 1)[1]
        if ref is not None and idx is not None and (ref, idx) in self.event_cells:
            sheet, row, col = self.event_cells[(ref, idx)]
            return Problem(sheet, row, col, msg)
        key = RULE_FIELDS.get(e.rule) or RULE_FIELDS.get(e.rule.split(".")[0])
        if ref in self.case_rows:
            return Problem(FIRST_SHEET, self.case_rows[ref], self.columns.get(key) if key else None, msg)
        return Problem(FIRST_SHEET, None, None, msg)


def _headers(rows: list[list[Any]]) -> list[str]:
    return [F.read_text(h) for h in rows[0]] if rows else []


def _records(rows: list[list[Any]]):
    """(row number, {header: value}) for every non-blank data row."""
    heads = _headers(rows)
    for n, row in enumerate(rows[1:], start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        yield n, {h: (row[i] if i < len(row) else None) for i, h in enumerate(heads) if h}


def build(sheets: Sheets, agency_code: str | None, agency_name: str | None = None,
          mapping: dict[str, str] | None = None) -> Built:
    """The interchange document of ``sheets``; ``mapping`` (header -> field key) for a one-row register,
    else the headers are recognised by their usual names."""
    meta = {}
    if DOC_SHEET in sheets:
        meta = {F.read_text(k): F.read_text(v) for _n, r in _records(sheets[DOC_SHEET])
                for k, v in [(r.get("项目"), r.get("值"))]}
    code = meta.get("agency.code") or agency_code
    name = agency_name or meta.get("agency.name") or code
    b = Built({"format": FORMAT, "agency": {"code": code or "", "name": name or ""}, "cases": [], "appeals": [],
               "proactive": {}})
    if agency_code and meta.get("agency.code") and meta["agency.code"] != agency_code:
        b.problems.append(Problem(DOC_SHEET, None, None, f"本台账属于机关“{meta['agency.code']}”，"
                                                         f"不能导入到“{agency_code}”"))
        return b
    if not code:
        b.problems.append(Problem(DOC_SHEET, None, None, "未指明机关（命令行请加 --agency 机关代码）"))
        return b
    if meta.get("format") and meta["format"] != FORMAT:
        b.problems.append(Problem(DOC_SHEET, None, None, f"不支持的格式“{meta['format']}”"))
    first = next(iter(sheets), None)
    rows = sheets.get(FIRST_SHEET) or (sheets[first] if first else [])
    sheet_name = FIRST_SHEET if FIRST_SHEET in sheets else (first or FIRST_SHEET)
    heads = _headers(rows)
    mapping = {h: k for h, k in (mapping if mapping is not None else F.guess_mapping(heads)).items()
               if h in heads and k in F.FIELD_BY_KEY}
    b.columns = {k: h for h, k in mapping.items()}
    missing = [F.FIELD_BY_KEY[k].label for k in REQUIRED if k not in b.columns]
    if missing:
        b.problems.append(Problem(sheet_name, 1, None, f"缺少必需的列：{'、'.join(missing)}"))
        return b
    full = EVENTS_SHEET in sheets
    events_by_ref, items_by_ref = (_event_rows(sheets, b), _item_rows(sheets, b)) if full else ({}, {})
    for n, rec in _records(rows):
        if len(b.problems) >= MAX_PROBLEMS:
            break
        _case(b, sheet_name, n, rec, events_by_ref if full else None, items_by_ref)
    if full:
        known = set(b.case_rows)
        for ref, evs in events_by_ref.items():
            if ref not in known:
                b.problems.append(Problem(EVENTS_SHEET, evs[0][0], "编号", f"台账中没有编号为“{ref}”的申请"))
        _appeals(sheets, b)
        _proactive(sheets, b)
    return b


def _cell(b: Built, sheet: str, n: int, rec: dict[str, Any], key: str, reader=F.read_text):
    head = b.columns.get(key)
    if head is None:
        return None
    try:
        return reader(rec.get(head))
    except F.CellError as e:
        b.problems.append(Problem(sheet, n, head, e.args[0]))
        return None


def _case(b: Built, sheet: str, n: int, rec: dict[str, Any], events_by_ref, items_by_ref) -> None:
    ref = _cell(b, sheet, n, rec, "ref")
    if not ref:
        b.problems.append(Problem(sheet, n, b.columns["ref"], "编号不能为空"))
        return
    if ref in b.case_rows:
        b.problems.append(Problem(sheet, n, b.columns["ref"], f"编号“{ref}”重复（又见第{b.case_rows[ref]}行）"))
        return
    b.case_rows[ref] = n
    kind = _cell(b, sheet, n, rec, "kind", F.read_kind) or "natural_person"
    applicant: dict[str, Any] = {"kind": kind, "name": _cell(b, sheet, n, rec, "name")}
    for key in ("id_number", "phone", "email", "address"):
        v = _cell(b, sheet, n, rec, key)
        if v:
            applicant["uscc" if key == "id_number" and kind != "natural_person" else key] = v
    case: dict[str, Any] = {"ref": ref, "applicant": applicant}
    if events_by_ref is not None:
        case["items"] = items_by_ref.get(ref, [])
        case["events"] = []
        for i, (row, ev) in enumerate(events_by_ref.get(ref, [])):
            case["events"].append(ev)
            b.event_cells[(ref, i)] = (EVENTS_SHEET, row, "事件")
    else:
        text = _cell(b, sheet, n, rec, "items") or ""
        case["items"] = [{"text": line.strip()} for line in text.splitlines() if line.strip()]
        case["events"] = _events_from_dates(b, sheet, n, rec, ref)
    b.doc["cases"].append(case)


def _events_from_dates(b: Built, sheet: str, n: int, rec: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    d = {k: _cell(b, sheet, n, rec, k, F.read_date) for k in F.DATE_FIELDS}
    steps: list[tuple[date, str, dict[str, Any]]] = []   # (date, column key, event)

    def add(key: str, etype: str, **kw) -> None:
        if d.get(key) is not None:
            steps.append((d[key], key, {"type": etype, "on": d[key].isoformat(),
                                        **{k: v for k, v in kw.items() if v is not None}}))

    if d["received_on"] is None:
        if b.columns["received_on"] not in rec or not F.read_text(rec.get(b.columns["received_on"])):
            b.problems.append(Problem(sheet, n, b.columns["received_on"], "收到日期不能为空"))
        return []
    channel = _cell(b, sheet, n, rec, "channel", F.read_channel) or "other"
    add("received_on", "received", channel=channel)
    add("correction_on", "correction_requested",
        reply_by=d["correction_reply_by"].isoformat() if d.get("correction_reply_by") else None)
    add("correction_received_on", "correction_received")
    add("consultation_started_on", "consultation_started",
        party=_cell(b, sheet, n, rec, "consultation_party", F.read_party) or "third_party")
    add("consultation_ended_on", "consultation_ended")
    add("extended_on", "extended", days=_cell(b, sheet, n, rec, "extended_days", F.read_days))
    amount = _cell(b, sheet, n, rec, "fee_amount", F.read_amount)
    if d.get("fee_notice_on") is not None and amount is None:
        b.problems.append(Problem(sheet, n, b.columns.get("fee_amount") or b.columns["fee_notice_on"],
                                  "有收费通知日期时须填写收费金额"))
    add("fee_notice_on", "fee_notice",
        amount_yuan=(int(amount) if amount == amount.to_integral_value() else float(amount))
        if isinstance(amount, Decimal) else None)
    add("fee_paid_on", "fee_paid")
    outcome = _cell(b, sheet, n, rec, "outcome", F.read_outcome)
    if (outcome is None) != (d.get("answered_on") is None):
        col = b.columns.get("outcome" if outcome is None else "answered_on") or b.columns.get("answered_on") \
            or b.columns.get("outcome")
        b.problems.append(Problem(sheet, n, col, "答复日期与办理结果须一同填写"))
    elif outcome is not None:
        if outcome in F.ENDING_EVENTS:
            add("answered_on", F.ENDING_EVENTS[outcome])
        else:
            add("answered_on", "answered", outcome=outcome)
    # by date; on one date in the order of a case's course (the order above)
    steps = [s for _i, s in sorted(enumerate(steps), key=lambda p: (p[1][0], p[0]))]
    for i, (_d, key, _e) in enumerate(steps):
        b.event_cells[(ref, i)] = (sheet, n, b.columns[key])
    return [e for _d, _k, e in steps]


def _event_rows(sheets: Sheets, b: Built) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    out: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for n, r in _records(sheets[EVENTS_SHEET]):
        ref = F.read_text(r.get("编号"))
        try:
            on = F.read_date(r.get("日期"))
        except F.CellError as e:
            b.problems.append(Problem(EVENTS_SHEET, n, "日期", e.args[0]))
            continue
        ev: dict[str, Any] = {"type": F.read_text(r.get("事件")), "on": on.isoformat() if on else None}
        raw = F.read_text(r.get("参数"))
        if raw:
            try:
                params = json.loads(raw)
                if not isinstance(params, dict):
                    raise ValueError
            except ValueError:
                b.problems.append(Problem(EVENTS_SHEET, n, "参数", f"参数须为 JSON 对象“{raw[:60]}”"))
                continue
            ev.update({k: v for k, v in params.items() if k not in ("type", "on")})
        out[ref].append((n, ev))
    return out


def _item_rows(sheets: Sheets, b: Built) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _n, r in _records(sheets.get(ITEMS_SHEET, [])):
        item: dict[str, Any] = {"text": F.read_text(r.get("内容"))}
        if F.read_text(r.get("结果")):
            item["outcome"] = F.read_text(r.get("结果"))
        out[F.read_text(r.get("编号"))].append(item)
    return out


def _appeals(sheets: Sheets, b: Built) -> None:
    for n, r in _records(sheets.get(APPEALS_SHEET, [])):
        try:
            filed, decided = F.read_date(r.get("申请日期")), F.read_date(r.get("决定日期"))
        except F.CellError as e:
            b.problems.append(Problem(APPEALS_SHEET, n, "日期", e.args[0]))
            continue
        ap: dict[str, Any] = {"case_ref": F.read_text(r.get("编号")), "kind": F.read_text(r.get("类型")),
                              "filed_on": filed.isoformat() if filed else None}
        if F.read_text(r.get("结果")):
            ap["result"] = F.read_text(r.get("结果"))
        if decided:
            ap["decided_on"] = decided.isoformat()
        b.doc["appeals"].append(ap)


def _proactive(sheets: Sheets, b: Built) -> None:
    for _n, r in _records(sheets.get(PROACTIVE_SHEET, [])):
        node = b.doc["proactive"].setdefault(F.read_text(r.get("年度")), {})
        *path, last = F.read_text(r.get("项目")).split(".")
        for p in path:
            node = node.setdefault(p, {})
        v = r.get("数值")
        node[last] = int(v) if isinstance(v, float) and v.is_integer() else v


# --- check and commit -----------------------------------------------------------------------------

def check(b: Built, today: date) -> list[Problem]:
    """Every problem of the register: the cells, then the rules case by case (import_document
    collecting each refused case and going on), then the appeals and the ledger when every case
    passed; all rolled back. Nothing is recorded."""
    if b.problems:
        return b.problems
    errors: list[ServiceError] = []
    outer = db.session.begin_nested()
    try:
        import_document(b.doc, today, problems=errors, max_problems=MAX_PROBLEMS)
    except ServiceError as e:
        errors.append(e)
    finally:
        outer.rollback()
    return [b.locate(e) for e in errors]


def commit(b: Built, today: date) -> dict[str, int]:
    """Import the register through import_document, all or nothing; the caller commits. Raises
    RegisterError naming where the problem lies."""
    if b.problems:
        raise RegisterError(b.problems)
    sp = db.session.begin_nested()
    try:
        stats = import_document(b.doc, today)
    except ServiceError as e:
        sp.rollback()
        raise RegisterError([b.locate(e)]) from None
    sp.commit()
    return stats
