"""`flask cases import` takes real ID numbers and USCCs (the district code is never a reason to
refuse), one e-mail address per applicant, and money exactly to the fen; every report output then
carries the fee total of table 二 digit for digit (JSON, HTML, docx, xlsx, PDF)."""

from __future__ import annotations

import copy
import io
import json
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, ProactiveYear

PIDU_1980 = "510117198003151234"        # 郫都区 exists since 2016; python-stdnum refuses this number
SHUANGLIU_1990 = "51012219900101002X"   # 双流县, abolished 2015
RURAL_COLLECTIVE = "N2330106MA0000011N"  # registration office N: python-stdnum wants 8 digits first

DOC = {
    "format": "disclosure-case-history/1",
    "agency": {"code": "IDM", "name": "示范区商务局"},
    "cases": [
        {"ref": "2024-1", "applicant": {"kind": "natural_person", "name": "王五", "id_number": PIDU_1980.lower(),
                                        "email": "Wang.Wu@Example.COM"},
         "items": [{"text": "2023年度部门预算"}],
         "events": [{"type": "received", "on": "2024-03-04", "channel": "in_person"},
                    {"type": "fee_notice", "on": "2024-03-11", "amount_yuan": "1700.50"}]},
        {"ref": "2024-2", "applicant": {"kind": "natural_person", "name": "赵六", "id_number": SHUANGLIU_1990},
         "items": [{"text": "某项目批复"}],
         "events": [{"type": "received", "on": "2024-03-05", "channel": "in_person"}]},
        {"ref": "2024-3", "applicant": {"kind": "other_org", "name": "某村股份经济合作社", "uscc": RURAL_COLLECTIVE},
         "items": [{"text": "集体土地征收批复"}],
         "events": [{"type": "received", "on": "2024-03-06", "channel": "in_person"}]},
    ],
    "appeals": [],
    "proactive": {"2024": {"rules": {"issued": 0, "repealed": 0, "in_force": 0},
                           "normative_documents": {"issued": 0, "repealed": 0, "in_force": 0},
                           "licensing_decisions": 3, "penalty_decisions": 0, "coercion_decisions": 0,
                           "fees_10k_yuan": "0.012345"}},
}


def test_the_numbers_are_what_they_say():
    from stdnum.cn import ric, uscc

    assert ric.calc_check_digit(PIDU_1980) == "4" and not ric.is_valid(PIDU_1980)
    assert ric.calc_check_digit(SHUANGLIU_1990) == "X"
    assert uscc.calc_check_digit(RURAL_COLLECTIVE) == "N" and not uscc.is_valid(RURAL_COLLECTIVE)


def counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Agency, Case, Applicant, ProactiveYear))


def run_import(cli, tmp_path, doc):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return cli.invoke(args=["cases", "import", str(path)])


@pytest.fixture
def imported(app, cli, tmp_path):
    res = run_import(cli, tmp_path, DOC)
    assert res.exit_code == 0, res.output
    return res


def test_import_accepts_real_numbers_and_keeps_them(app, imported):
    with app.app_context():
        got = {c.id: (c.applicant.id_number, c.applicant.uscc, c.applicant.email)
               for c in db.session.scalars(select(Case).order_by(Case.id))}
        fee = db.session.scalar(select(Case.fee_amount).where(Case.fee_amount.is_not(None)))
        fees_row = db.session.scalar(select(ProactiveYear.fees_10k_yuan))
    assert sorted(got.values(), key=str) == sorted([
        (PIDU_1980, None, "Wang.Wu@example.com"), (SHUANGLIU_1990, None, ""), (None, RURAL_COLLECTIVE, "")],
        key=str)
    assert fee == Decimal("1700.50")
    assert fees_row == Decimal("0.012345")


def _report(cli, fmt: str, tmp_path) -> bytes:
    if fmt in ("json", "html"):
        res = cli.invoke(args=["report", "build", "--agency", "IDM", "--year", "2024", "--format", fmt])
        assert res.exit_code == 0, res.output
        return res.stdout.encode("utf-8")
    out = tmp_path / f"report.{fmt}"
    res = cli.invoke(args=["report", "build", "--agency", "IDM", "--year", "2024", "--format", fmt, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out.read_bytes()


def test_every_output_carries_the_fee_total_to_the_fen(imported, cli, tmp_path):
    report = json.loads(_report(cli, "json", tmp_path))
    assert report["proactive"]["fees_10k_yuan"] == "0.012345"

    html = _report(cli, "html", tmp_path).decode("utf-8")
    assert ">0.012345<" in html and "0.0123<" not in html

    document = Document(io.BytesIO(_report(cli, "docx", tmp_path)))
    table2 = document.tables[0]
    fee_row = next(r for r in table2.rows if r.cells[0].text == "行政事业性收费")
    assert fee_row.cells[1].text == "0.012345"
    # the narrative's 一（一） sentence as well
    assert any("收取行政事业性收费0.012345万元" in p.text for p in document.paragraphs)

    wb = load_workbook(io.BytesIO(_report(cli, "xlsx", tmp_path)))
    [fee_cell] = [c for row in wb["表二 主动公开"].iter_rows() for c in row
                  if isinstance(c.value, (int, float, Decimal)) and not isinstance(c.value, bool) and c.value
                  and c.value < 1]
    assert (fee_cell.value, fee_cell.number_format) == (0.012345, "0.000000")

    assert _report(cli, "pdf", tmp_path).startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "0.012345" in text


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["proactive"]["2024"].__setitem__("fees_10k_yuan", "0.0123456"),
     "行政事业性收费金额最多6位小数（单位：万元，精确到分）"),
    (lambda d: d["cases"][0]["events"][1].__setitem__("amount_yuan", "1700.505"),
     "金额最多2位小数（单位：元，精确到分）"),
    (lambda d: d["cases"][0]["events"][1].__setitem__("amount_yuan", 1700.505),
     "金额最多2位小数（单位：元，精确到分）"),
    (lambda d: d["cases"][1]["applicant"].__setitem__("email", "a@b.com,root"),
     "电子邮箱格式不正确"),
    (lambda d: d["cases"][1]["applicant"].__setitem__("id_number", "99" + SHUANGLIU_1990[2:]),
     "居民身份证号码前两位不是省级行政区划代码"),
    # a fee beyond what case.fee_amount holds (12 digits, 2 decimals): refused, never cut or rounded
    (lambda d: d["cases"][0]["events"][1].__setitem__("amount_yuan", "123456789012345.67"),
     "金额过大：须小于10,000,000,000元"),
    # a new agency's profile is checked as on the admin page: one e-mail address
    (lambda d: d["agency"].__setitem__("email", "gk@x.gov.cn, root@y.cn"), "机关信息：电子邮箱格式不正确"),
])
def test_import_refuses_what_is_not_exact_and_records_nothing(app, cli, tmp_path, change, message):
    from webapp.cases.services.interchange import import_document

    doc = copy.deepcopy(DOC)
    change(doc)
    res = run_import(cli, tmp_path, doc)
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert counts(app) == (0, 0, 0, 0)
    with app.app_context():            # the Chinese message, as the import page shows it
        with pytest.raises(Exception) as e:
            import_document(doc, date(2024, 6, 10))
        db.session.rollback()
    assert message in e.value.message_zh
