"""The report's three tables as an Excel workbook, with a per-agency sheet for consolidated reports."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from webapp.domain.money import decimal_places
from webapp.reporting.render import content, tables
from webapp.reporting.render.labels import SECTION_HEADINGS, TABLE3_COLUMNS, TABLE3_ROWS
from webapp.spreadsheet import append_row, put, set_value

SHEETS = {"proactive": "表二 主动公开", "applications": "表三 依申请公开", "appeals": "表四 复议诉讼"}
PER_AGENCY_SHEET = "分机关明细"
#: The sheet row where each table starts: row 1 holds the title.
TABLE_TOP_ROW = 3

_FONT = Font(name="宋体", size=10.5)
_TITLE_FONT = Font(name="宋体", size=12, bold=True)
_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WIDTHS = {
    "proactive": [26, 18, 18, 18],
    "applications": [8, 12, 40] + [10] * 7,
    "appeals": [9] * 15,
}


def _write_grid(ws, grid: tables.Grid, title: str) -> None:
    put(ws, 1, 1, title).font = _TITLE_FONT
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=grid.ncols)
    top = TABLE_TOP_ROW
    for r in range(top, top + grid.nrows):
        for c in range(1, grid.ncols + 1):
            ws.cell(row=r, column=c).border = _BORDER  # continuation cells of a merge too
    for cell in grid.cells:
        target = ws.cell(row=top + cell.row, column=1 + cell.col)
        set_value(target, cell.value if cell.kind == "num" else cell.text)
        target.font = _FONT
        left = cell.kind == "note" or cell.level == 3 or (cell.level == 2 and cell.colspan > 1)
        target.alignment = Alignment(
            horizontal="left" if left else "center", vertical="center", wrap_text=True
        )
        if isinstance(cell.value, Decimal):
            # every decimal the figure has (万元 to the fen: up to 6), none added, none rounded away
            places = decimal_places(cell.value)
            target.number_format = "0." + "0" * places if places else "0"
        if cell.rowspan > 1 or cell.colspan > 1:
            ws.merge_cells(start_row=top + cell.row, start_column=1 + cell.col,
                           end_row=top + cell.last_row, end_column=1 + cell.last_col)
    for i, width in enumerate(_WIDTHS[grid.name], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    if grid.header_rows:
        ws.print_title_rows = f"{top}:{top + grid.header_rows - 1}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if grid.ncols > 4 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def row_label(key: str) -> str:
    """A table 三 row's full label, its levels separated by spaces."""
    _key, *levels = next(row for row in TABLE3_ROWS if row[0] == key)
    return " ".join(level for level in levels if level)


def _write_per_agency(ws, per_agency: list[tuple[str, dict]]) -> None:
    append_row(ws, ["机关", "项目", *(label for _col, label in TABLE3_COLUMNS)])
    for cell in ws[1]:
        cell.font = Font(name="宋体", size=10.5, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for name, report in per_agency:
        for key, *_levels in TABLE3_ROWS:
            figures = tables.table3_figures(report, key)
            append_row(ws, [name, row_label(key), *(figures[col] for col, _label in TABLE3_COLUMNS)])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.font = _FONT
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 60
    for i in range(3, 3 + len(TABLE3_COLUMNS)):
        ws.column_dimensions[get_column_letter(i)].width = 10
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions


def render_xlsx(report: dict, profile: dict, per_agency: list[tuple[str, dict]] | None = None) -> bytes:
    """Sheets 表二/表三/表四 laid out as the format (merged headers, figures as numbers); with
    `per_agency` [(agency name, report)], a sheet 分机关明细: one row per agency and table 三 row."""
    name = content.agency_name(report, profile)
    title = f"{name}{report['year']}年政府信息公开工作年度报告"
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = title
    for grid in tables.all_tables(report):
        ws = wb.create_sheet(SHEETS[grid.name])
        _write_grid(ws, grid, f"{title}　{SECTION_HEADINGS[grid.name]}")
    if per_agency:
        _write_per_agency(wb.create_sheet(PER_AGENCY_SHEET), per_agency)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
