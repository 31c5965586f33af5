"""The case list's search as a .xlsx ledger (台账), in the usual columns.

Every text is written as a string cell (data_type "s"): a name such as "=HYPERLINK(...)" stays text,
never a formula. The applicant's ID number is masked as on the list (the full value is opened on the
case page, logged). Internal comments are not part of the ledger."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from webapp.cases.services import overdue_row
from webapp.cases.services.applicants import APPLICANT_KINDS, mask_id
from webapp.domain.workflow import Channel
from webapp.models import Case

from .view import outcome_text

COLUMNS = ["编号", "收到日期", "渠道", "申请人", "证件号码", "类型", "申请内容", "状态", "答复期限", "答复日期",
           "办理结果", "是否逾期", "承办人"]
WIDTHS = [22, 12, 10, 18, 22, 12, 40, 12, 12, 12, 24, 10, 12]
EXPORT_LIMIT = 10000
CHANNELS = {c.value: c.label_zh for c in Channel}


def _late(c: Case, today: date) -> str:
    if c.closed_on is not None:
        return "是" if c.late else "否"
    if overdue_row(c, today):
        return "是（未答复）"
    return "否"


def ledger_row(c: Case, today: date, status_zh) -> list[str]:
    a = c.applicant
    items = "；".join(i.text for i in c.items)
    channel = CHANNELS.get(c.channel or "", c.channel or "")
    return [c.number, c.received_on.isoformat() if c.received_on else "", channel,
            a.name, mask_id(a.identity), APPLICANT_KINDS.get(c.applicant_kind, c.applicant_kind), items,
            status_zh(c.status), c.due_on.isoformat() if c.due_on else "",
            c.closed_on.isoformat() if c.closed_on else "", outcome_text(c.outcome), _late(c, today),
            c.assigned_to.display_name if c.assigned_to else ""]


def _text(cell, value: str) -> None:
    cell.value = value
    cell.data_type = "s"   # text, even when it starts with "=" (openpyxl would take it for a formula)


def render_ledger(cases: list[Case], today: date, status_zh, title: str = "依申请公开台账") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    for col, name in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=col)
        _text(cell, name)
        cell.font = Font(bold=True)
        ws.column_dimensions[cell.column_letter].width = WIDTHS[col - 1]
    for r, c in enumerate(cases, start=2):
        for col, value in enumerate(ledger_row(c, today, status_zh), start=1):
            cell = ws.cell(row=r, column=col)
            _text(cell, value)
            if col == 7:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    wb.properties.title = title
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
