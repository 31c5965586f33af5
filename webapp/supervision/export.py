"""The supervision table as .xlsx for the office's monthly report. Text is written as text (never
read as a formula), numbers as numbers."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from .queries import FIGURES, Row


def _text(ws, row: int, col: int, value: str) -> None:
    """A text cell that stays text: a leading '=' is not a formula."""
    cell = ws.cell(row=row, column=col)
    cell.value = value
    cell.data_type = "s"


def render_xlsx(title: str, today: date, rows: list[Row], total: Row) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "督办统计"
    _text(ws, 1, 1, title)
    _text(ws, 2, 1, f"统计日期：{today.isoformat()}（本年：{today.year}年1月1日至统计日期）")
    headings = ["机关", *FIGURES.values()]
    for col, h in enumerate(headings, start=1):
        _text(ws, 4, col, h)
    for i, r in enumerate([*rows, total], start=5):
        _text(ws, i, 1, r.name)
        for col, key in enumerate(FIGURES, start=2):
            v = r.value(key)
            cell = ws.cell(row=i, column=col)
            if v is None:
                _text(ws, i, col, "—")
            elif key == "on_time_rate":
                cell.value = round(v, 4)
                cell.number_format = "0.0%"
            elif key in ("median_days", "signing_hours"):
                cell.value = v
                cell.number_format = "0.0"
            else:
                cell.value = v
    ws.column_dimensions["A"].width = 30
    for col in range(2, len(headings) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
