"""Issue 15: a foreign register (one row per case, Chinese headers) imported from .xlsx and .csv:
refused with sheet/row/column and nothing recorded; fixed, five cases with exact derived fields;
GBK CSV; re-import changes nothing."""

import json

from sqlalchemy import func, select

from tests.register.foreign import EXPECTED, csv_bytes, xlsx
from webapp.extensions import db
from webapp.models import Agency, AuditLog, Case, CaseEvent, CaseItem


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Agency, Case, CaseEvent))


def exported(cli) -> dict:
    res = cli.invoke(args=["cases", "export", "--agency", "WB", "--as-of", "2024-06-30"])
    assert res.exit_code == 0, res.output
    return {c["ref"]: c for c in json.loads(res.stdout)["cases"]}


def test_bad_date_refused_naming_sheet_row_column(app, cli, tmp_path):
    f = tmp_path / "台账.xlsx"
    f.write_bytes(xlsx(bad_date=True))
    res = cli.invoke(args=["cases", "import", str(f), "--agency", "WB"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == \
        "error: nothing imported: 2024年台账 第3行 收文日期：日期格式无法识别“2024.13.01”"
    assert counts(app) == (0, 0, 0)
    with app.app_context():
        assert db.session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) == "cli.cases_import_refused"


def test_fixed_register_imports_five_cases_with_derived_fields(app, cli, tmp_path):
    f = tmp_path / "台账.xlsx"
    f.write_bytes(xlsx())
    res = cli.invoke(args=["cases", "import", str(f), "--agency", "WB"])
    assert res.exit_code == 0, res.output
    assert "5 new cases" in res.output
    got = exported(cli)
    assert list(got) == ["WB-003", "WB-001", "WB-004", "WB-002", "WB-005"]   # by date received
    for ref, want in EXPECTED.items():
        assert {k: got[ref][k] for k in want} == want, ref
    assert [e["type"] for e in got["WB-003"]["events"]] == [
        "received", "correction_requested", "correction_received", "answered"]
    assert got["WB-003"]["events"][0] == {"type": "received", "on": "2024-02-26", "channel": "post"}
    assert got["WB-004"]["events"][1] == {"type": "extended", "on": "2024-03-20", "days": 3}
    assert got["WB-005"]["events"][1] == {"type": "withdrawn", "on": "2024-03-06"}
    assert got["WB-001"]["applicant"] == {"kind": "natural_person", "name": "张三", "id_number": "370305199001011231",
                                          "phone": "13800000000"}
    assert [i["text"] for i in got["WB-002"]["items"]] == ["某项目环评批复", "某项目验收报告"]

    # re-importing the same register changes nothing
    before = counts(app)
    with app.app_context():
        hashes = list(db.session.scalars(select(CaseEvent.hash).order_by(CaseEvent.id)))
    res = cli.invoke(args=["cases", "import", str(f), "--agency", "WB"])
    assert res.exit_code == 0, res.output
    assert "0 new cases, 0 events added, 5 unchanged" in res.output
    assert counts(app) == before == (1, 5, 12)
    with app.app_context():
        assert list(db.session.scalars(select(CaseEvent.hash).order_by(CaseEvent.id))) == hashes


def test_gbk_csv_imports(app, cli, tmp_path):
    f = tmp_path / "register.csv"
    data = csv_bytes("gb18030")
    f.write_bytes(data)
    res = cli.invoke(args=["cases", "import", str(f), "--agency", "WB"])
    assert res.exit_code == 0, res.output
    got = exported(cli)
    for ref, want in EXPECTED.items():
        assert {k: got[ref][k] for k in want} == want, ref
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CaseItem)) == 6
    assert got["WB-002"]["applicant"]["name"] == "李四"


def test_utf8_bom_csv_imports_the_same(app, cli, tmp_path):
    f = tmp_path / "register.csv"
    f.write_bytes(b"\xef\xbb\xbf" + csv_bytes("utf-8"))
    res = cli.invoke(args=["cases", "import", str(f), "--agency", "WB"])
    assert res.exit_code == 0, res.output
    assert {r: {k: c[k] for k in EXPECTED[r]} for r, c in exported(cli).items()} == EXPECTED


def test_a_register_without_agency_is_refused(app, cli, tmp_path):
    f = tmp_path / "台账.xlsx"
    f.write_bytes(xlsx())
    res = cli.invoke(args=["cases", "import", str(f)])
    assert res.exit_code == 1
    assert "未指明机关" in res.output
    assert counts(app) == (0, 0, 0)
