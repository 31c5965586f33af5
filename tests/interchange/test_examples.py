"""The command-line contract of docs/interchange.md against tests/data/examples (import, export, report)."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.data import EXAMPLES as EX
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseEvent

DOCS = sorted(p for p in EX.glob("*.json") if not p.name.endswith(".expected.json"))


def expected(doc: Path) -> dict:
    return json.loads(doc.with_name(doc.stem + ".expected.json").read_text(encoding="utf-8"))


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Agency, Case, CaseEvent, Appeal))


def test_examples_are_present():
    assert len(DOCS) == 4


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.stem)
def test_example(doc, app, cli):
    exp = expected(doc)
    res = cli.invoke(args=["cases", "import", str(doc)])
    if not exp["valid"]:
        assert res.exit_code != 0
        line = res.output.strip().splitlines()[-1]
        assert exp["case_ref"] in line and exp["rule"] in line and f"event {exp['event_index']}" in line
        assert "Traceback" not in res.output
        assert counts(app) == (0, 0, 0, 0)   # all or nothing: the valid cases are not recorded either
        return
    assert res.exit_code == 0, res.output
    code = exp["agency"]
    for x in exp["exports"]:
        out = cli.invoke(args=["cases", "export", "--agency", code, "--as-of", x["as_of"]])
        assert out.exit_code == 0, out.output
        got = {c["ref"]: c for c in json.loads(out.stdout)["cases"]}
        for ref, want in x["cases"].items():
            assert {k: got[ref][k] for k in want} == want, (x["as_of"], ref)
        # cases received after as_of are not listed
        assert all(c["events"][0]["on"] <= x["as_of"] for c in got.values())
    for year, want in exp["reports"].items():
        out = cli.invoke(args=["report", "build", "--agency", code, "--year", year, "--format", "json"])
        assert out.exit_code == 0, out.output
        got = json.loads(out.stdout)   # the report JSON is the only thing on stdout
        assert got["format"] == want["format"] and got["year"] == want["year"]
        assert got["agencies"] == want["agencies"]
        assert got["proactive"] == {**want["proactive"], "fees_10k_yuan": got["proactive"]["fees_10k_yuan"]}
        assert Decimal(got["proactive"]["fees_10k_yuan"]) == Decimal(want["proactive"]["fees_10k_yuan"])
        assert got["applications"] == want["applications"]
        assert got["appeals"] == want["appeals"]
        assert Decimal(got["fees_collected_yuan"]) == Decimal(want["fees_collected_yuan"])
        assert [c["name"] for c in got["checks"]] == [c["name"] for c in want["checks"]]
        assert all(c["ok"] for c in got["checks"]), got["checks"]


def test_reimport_changes_nothing(app, cli):
    doc = EX / "small-year.json"
    assert cli.invoke(args=["cases", "import", str(doc)]).exit_code == 0
    before = counts(app)
    with app.app_context():
        hashes = list(db.session.scalars(select(CaseEvent.hash).order_by(CaseEvent.id)))
    res = cli.invoke(args=["cases", "import", str(doc)])
    assert res.exit_code == 0, res.output
    assert "0 new cases, 0 events added, 15 unchanged" in res.output
    assert counts(app) == before == (1, 15, 43 + 2, 2)
    with app.app_context():
        assert list(db.session.scalars(select(CaseEvent.hash).order_by(CaseEvent.id))) == hashes


def test_reimport_without_reply_by_changes_nothing(app, cli, tmp_path):
    """reply_by is optional on a correction notice: the service records the computed date, and the
    same file imported again still matches what was recorded."""
    doc = json.loads((EX / "small-year.json").read_text(encoding="utf-8"))
    dropped = 0
    for case in doc["cases"]:
        for ev in case["events"]:
            if ev["type"] == "correction_requested" and "reply_by" in ev:
                del ev["reply_by"]
                dropped += 1
    assert dropped > 0
    f = tmp_path / "no-reply-by.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert cli.invoke(args=["cases", "import", str(f)]).exit_code == 0
    before = counts(app)
    res = cli.invoke(args=["cases", "import", str(f)])
    assert res.exit_code == 0, res.output
    assert "0 new cases, 0 events added, 15 unchanged" in res.output
    assert counts(app) == before


def test_reimport_never_undoes_an_appeal_decided_since(app, cli, tmp_path):
    """The file has a lawsuit pending; the office later records its result. Importing the old file
    again keeps the result; a file with another result for it is refused, and nothing changes."""
    from webapp.cases.services.interchange import record_appeal

    doc = EX / "small-year.json"
    assert cli.invoke(args=["cases", "import", str(doc)]).exit_code == 0
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.ref == "2024-0009"))
        record_appeal(case, "litigation_direct", date(2024, 11, 18), "corrected", date(2025, 3, 3))
        db.session.commit()
    before = counts(app)
    res = cli.invoke(args=["cases", "import", str(doc)])
    assert res.exit_code == 0, res.output
    assert counts(app) == before
    with app.app_context():
        ap = db.session.scalar(select(Appeal).where(Appeal.kind == "litigation_direct"))
        assert (ap.result, ap.decided_on) == ("corrected", date(2025, 3, 3))
    other = json.loads(doc.read_text(encoding="utf-8"))
    other["appeals"][1].update(result="upheld", decided_on="2025-03-03")
    f = tmp_path / "other-result.json"
    f.write_text(json.dumps(other, ensure_ascii=False), encoding="utf-8")
    res = cli.invoke(args=["cases", "import", str(f)])
    assert res.exit_code != 0 and "appeal.conflict" in res.output
    assert counts(app) == before


def test_export_then_import_round_trips(app, cli, tmp_path):
    assert cli.invoke(args=["cases", "import", str(EX / "small-year.json")]).exit_code == 0
    first = cli.invoke(args=["cases", "export", "--agency", "SL-ZFB", "--as-of", "2025-12-31"]).stdout
    with app.app_context():
        # wipe and re-import the export itself (the purge setting lets the append-only trigger through)
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL disclosure.allow_purge = 'on'"))
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    f = tmp_path / "export.json"
    f.write_text(first, encoding="utf-8")
    res = cli.invoke(args=["cases", "import", str(f)])
    assert res.exit_code == 0, res.output
    again = cli.invoke(args=["cases", "export", "--agency", "SL-ZFB", "--as-of", "2025-12-31"]).stdout
    assert json.loads(again) == json.loads(first)


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    ('{"format": "other"}', "not an interchange document"),
    ('{"format": "disclosure-case-history/1", "agency": {"code": "X"}, "cases": [{"ref": "1", '
     '"applicant": {"kind": "natural_person", "name": "甲", "id_number": "370302198503120718"}, '
     '"items": [{"text": "x"}], "events": [{"type": "received", "on": "2024-01-02", "channel": "post"}]}]}',
     "case 1: invalid ID number"),
    ('{"format": "disclosure-case-history/1", "agency": {"code": "X"}, "cases": [{"ref": "1", '
     '"applicant": {"kind": "natural_person", "name": "甲"}, "items": [{"text": "x"}], "events": ['
     '{"type": "received", "on": "2024-01-02", "channel": "post"}, {"type": "fee_paid", "on": "2024-01-03"}]}]}',
     "case 1, event 1: fee_paid on 2024-01-03: no fee notice is outstanding [fee_paid.registered]"),
    ('{"format": "disclosure-case-history/1", "agency": {"code": "X"}, "cases": [{"ref": "1", '
     '"applicant": {"kind": "natural_person", "name": "甲"}, "items": [{"text": "x"}], "events": ['
     '{"type": "received", "on": "2024-01-02", "channel": "post"}]}], "appeals": [{"case_ref": "9", '
     '"kind": "review", "filed_on": "2024-02-01"}]}', "unknown case_ref '9'"),
    ('{"format": "disclosure-case-history/1", "agency": {"code": "X"}, "cases": [{"ref": "1", '
     '"applicant": {"kind": "natural_person", "name": "甲"}, "items": [{"text": "x"}], "events": ['
     '{"type": "received", "on": "2024-01-02", "channel": "post"}]}], "appeals": [{"case_ref": "1", '
     '"kind": "review", "filed_on": "2024-02-01", "result": "upheld"}]}', "a result needs decided_on"),
    ('{"format": "disclosure-case-history/1", "agency": {"code": "X"}, "cases": [{"ref": "1", '
     '"applicant": {"kind": "natural_person", "name": "甲"}, "items": [{"text": "x"}], "events": ['
     '{"type": "received", "on": "2024-01-02", "channel": "post"}]}], "appeals": [{"case_ref": "1", '
     '"kind": "review", "filed_on": "2024-02-01", "result": "upheld", "decided_on": "2024-01-30"}]}',
     "decided before it was filed"),
])
def test_bad_documents_are_refused_whole(content, message, app, cli, tmp_path):
    f = tmp_path / "bad.json"
    f.write_text(content, encoding="utf-8")
    res = cli.invoke(args=["cases", "import", str(f)])
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output
    assert counts(app) == (0, 0, 0, 0)


def test_cli_errors_are_one_line(app, cli):
    res = cli.invoke(args=["cases", "export", "--agency", "NOPE"])
    assert res.exit_code != 0 and "no agency with code 'NOPE'" in res.output
    res = cli.invoke(args=["cases", "export", "--agency", "NOPE", "--as-of", "2024-99-01"])
    assert res.exit_code != 0 and "--as-of must be a date" in res.output
    res = cli.invoke(args=["report", "build", "--agency", "NOPE", "--year", "2024"])
    assert res.exit_code != 0 and "no agency" in res.output
    res = cli.invoke(args=["cases", "import", "/nonexistent.json"])
    assert res.exit_code != 0 and "cannot read" in res.output


def test_policy_count_by_item(app, cli, tmp_path):
    """multi_item_outcome = 'item': table 三 counts requested items, each by its own outcome."""
    doc = {
        "format": "disclosure-case-history/1",
        "agency": {"code": "ITEM", "name": "按项统计机关", "policies": {"multi_item_outcome": "item"}},
        "cases": [
            {"ref": "1", "applicant": {"kind": "natural_person", "name": "甲"},
             "items": [{"text": "a", "outcome": "disclosed"}, {"text": "b", "outcome": "unavailable.not_held"}],
             "events": [{"type": "received", "on": "2024-03-04", "channel": "post"},
                        {"type": "answered", "on": "2024-03-20", "outcome": "partial"}]},
            {"ref": "2", "applicant": {"kind": "commercial", "name": "乙公司"},
             "items": [{"text": "c"}, {"text": "d"}, {"text": "e"}],
             "events": [{"type": "received", "on": "2024-12-20", "channel": "online"}]},
        ],
    }
    f = tmp_path / "items.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert cli.invoke(args=["cases", "import", str(f)]).exit_code == 0
    got = json.loads(cli.invoke(args=["report", "build", "--agency", "ITEM", "--year", "2024"]).stdout)
    apps = got["applications"]
    assert (apps["new"]["natural_person"], apps["new"]["commercial"], apps["new"]["total"]) == (2, 3, 5)
    assert apps["outcomes"]["disclosed"]["total"] == 1
    assert apps["outcomes"]["unavailable.not_held"]["total"] == 1
    assert apps["outcomes"]["partial"]["total"] == 0
    assert apps["carried_out"]["total"] == 3
    assert all(c["ok"] for c in got["checks"])


def test_report_build_html_is_a_complete_document(app, cli, tmp_path):
    assert cli.invoke(args=["cases", "import", str(EX / "small-year.json")]).exit_code == 0
    out = tmp_path / "report.html"
    res = cli.invoke(args=["report", "build", "--agency", "SL-ZFB", "--year", "2024", "--format", "html",
                           "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and '<article class="annual-report' in page
    assert "三、收到和处理政府信息公开申请情况" in page
