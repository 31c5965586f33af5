"""Issue 15: the register (.xlsx) carries the whole history: export -> import into an empty database ->
export gives byte-equal JSON, for every valid example of tests/data/examples."""

import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.conftest import empty_tables
from tests.data import EXAMPLES as EX
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseEvent

VALID = sorted(p for p in EX.glob("*.json") if not p.name.endswith(".expected.json")
               and json.loads(p.with_name(p.stem + ".expected.json").read_text(encoding="utf-8"))["valid"])


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Agency, Case, CaseEvent, Appeal))


def test_two_valid_examples():
    assert [p.stem for p in VALID] == ["seed-agency-2023", "small-year"]


@pytest.mark.parametrize("doc", VALID, ids=lambda p: p.stem)
def test_xlsx_round_trip(doc, app, cli, tmp_path):
    code = json.loads(doc.read_text(encoding="utf-8"))["agency"]["code"]
    assert cli.invoke(args=["cases", "import", str(doc)]).exit_code == 0
    before = cli.invoke(args=["cases", "export", "--agency", code, "--as-of", "2026-12-01"])
    assert before.exit_code == 0
    out = tmp_path / "register.xlsx"
    res = cli.invoke(args=["cases", "export", "--agency", code, "--as-of", "2026-12-01", "--format", "xlsx",
                           "--out", str(out)])
    assert res.exit_code == 0, res.output
    n_before = counts(app)
    wb = load_workbook(out)
    assert wb.sheetnames == ["台账", "事件", "事项", "复议诉讼", "主动公开", "文档"]
    assert wb["台账"].max_row - 1 == n_before[1] == len(json.loads(before.stdout)["cases"])
    assert wb["事件"].max_row - 1 == len([e for c in json.loads(before.stdout)["cases"] for e in c["events"]])

    empty_tables(app)
    assert counts(app) == (0, 0, 0, 0)
    res = cli.invoke(args=["cases", "import", str(out)])
    assert res.exit_code == 0, res.output
    after = cli.invoke(args=["cases", "export", "--agency", code, "--as-of", "2026-12-01"])
    assert after.stdout == before.stdout
    # idempotent: the same register again changes nothing
    n_after = counts(app)
    res = cli.invoke(args=["cases", "import", str(out)])
    assert res.exit_code == 0, res.output
    assert f"0 new cases, 0 events added, {n_before[1]} unchanged" in res.output
    assert counts(app) == n_after


def test_a_tampered_register_is_refused_naming_the_event_row(app, cli, tmp_path):
    doc = EX / "small-year.json"
    code = json.loads(doc.read_text(encoding="utf-8"))["agency"]["code"]
    assert cli.invoke(args=["cases", "import", str(doc)]).exit_code == 0
    out = tmp_path / "register.xlsx"
    assert cli.invoke(args=["cases", "export", "--agency", code, "--as-of", "2026-12-01", "--format", "xlsx",
                            "--out", str(out)]).exit_code == 0
    wb = load_workbook(out)
    ws = wb["事件"]
    ref = ws.cell(3, 1).value
    assert ws.cell(3, 2).value == 1 and ws.cell(2, 1).value == ref
    received = ws.cell(2, 4).value
    ws.cell(3, 4).value = received.replace(year=received.year - 1)      # the second event before the receipt
    wb.save(out)
    empty_tables(app)
    res = cli.invoke(args=["cases", "import", str(out)])
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("error: nothing imported: 事件 第3行 事件：") and \
        last.endswith(f"：日期早于上一事件（{received.date().isoformat()}）"), last
    assert counts(app) == (0, 0, 0, 0)
