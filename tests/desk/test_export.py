"""The case list's search as a .xlsx ledger: the usual columns, masked ID, text never a formula."""

from __future__ import annotations

import io
import zipfile
from datetime import date

from openpyxl import load_workbook

from tests.factories import id_number, person
from webapp.extensions import db
from webapp.models import AuditLog, Case

FORMULA_NAME = '=HYPERLINK("http://evil.example/","点此")'


def test_export_columns_and_formula_kept_as_text(app, world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3), applicant=person(FORMULA_NAME), items=["@SUM(1+1)", "2023年预算"])
    new_case(world.a, date(2024, 5, 6), applicant=person("李四", body="37030519900101002"))
    new_case(world.b, date(2024, 6, 3))   # another agency's: not in the export
    client = login(world.a.clerk)
    resp = client.get("/cases/export.xlsx?date_from=2024-06-01&sort=received")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert resp.headers["Cache-Control"] == "private, no-store"
    data = resp.get_data()
    ws = load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == ["编号", "收到日期", "渠道", "申请人", "证件号码", "类型", "申请内容", "状态", "答复期限",
                       "答复日期", "办理结果", "是否逾期", "承办人"]
    with app.app_context():
        number = db.session.get(Case, cid).number
    masked = id_number()[:4] + "**********" + id_number()[-4:]
    assert rows[1:] == [[number, "2024-06-03", "当面提交", FORMULA_NAME, masked, "自然人", "@SUM(1+1)；2023年预算",
                         "办理中", "2024-07-02", None, None, "否", "临淄区商务局经办人"]]
    cell = ws.cell(row=2, column=4)
    assert cell.data_type == "s"
    assert ws.cell(row=2, column=7).data_type == "s"
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    with app.app_context():
        log = db.session.query(AuditLog).filter_by(action="cases.exported").one()
        assert log.detail["count"] == 1


def test_export_of_an_invalid_search_is_refused(world, login):
    client = login(world.a.clerk)
    resp = client.get("/cases/export.xlsx?date_from=2024-06-10&date_to=2024-06-01")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/cases?")
