"""Text never becomes a formula in a spreadsheet the service writes (issue #12.4): an agency named
like a formula is text in every .xlsx cell it reaches, a CSV field beginning with = + - @ gets a
leading quote, and numbers - negative ones too - stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from webapp.reporting.render.workbook import PER_AGENCY_SHEET, SHEETS
from webapp.reporting.services.report_docs import render_report
from webapp.spreadsheet import append_row, csv_field, put, write_csv_rows

FORMULA_NAME = '=HYPERLINK("http://x","y")'


def _reload(wb: Workbook):
    out = io.BytesIO()
    wb.save(out)
    return load_workbook(io.BytesIO(out.getvalue()))


def test_agency_named_like_a_formula_is_text_in_every_xlsx_cell(make_agency):
    evil = make_agency("EVIL", FORMULA_NAME)
    other = make_agency("OTH", "其他局")
    for agencies in ([evil], [evil, other]):
        wb = load_workbook(io.BytesIO(render_report(agencies, 2024, "xlsx")))
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        for name in SHEETS.values():
            title = wb[name]["A1"]
            if len(agencies) == 1:
                assert title.data_type == "s"
                assert title.value.startswith(FORMULA_NAME + "2024年政府信息公开工作年度报告")
    ws = wb[PER_AGENCY_SHEET]
    named = [c for c in ws["A"] if c.value == FORMULA_NAME]
    assert named and {c.data_type for c in named} == {"s"}
    assert ws["C2"].data_type == "n" and ws["C2"].value == 0


def test_xlsx_helper_keeps_text_as_text_and_numbers_as_numbers():
    wb = Workbook()
    ws = wb.active
    append_row(ws, [FORMULA_NAME, -3, Decimal("-1.50"), "-5", "+1", "@x"])
    put(ws, 2, 1, -2.5)
    got = _reload(wb).active
    assert [(c.data_type, c.value) for c in got[1]] == [
        ("s", FORMULA_NAME), ("n", -3), ("n", -1.5), ("s", "-5"), ("s", "+1"), ("s", "@x")]
    assert (got["A2"].data_type, got["A2"].value) == ("n", -2.5)


def test_csv_text_beginning_like_a_formula_gets_a_leading_quote():
    assert csv_field(FORMULA_NAME) == "'" + FORMULA_NAME
    assert [csv_field(v) for v in ("+1", "-1", "@a", "\tx", "\rx", "甲=乙", "", None, -3, Decimal("-1.5"))] == [
        "'+1", "'-1", "'@a", "'\tx", "'\rx", "甲=乙", "", "", -3, Decimal("-1.5")]
    out = io.StringIO()
    write_csv_rows(out, [["机关", "数量"], [FORMULA_NAME, -3]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["机关", "数量"], ["'" + FORMULA_NAME, "-3"]]
