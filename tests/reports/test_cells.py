"""One definition of a report cell (reporting/services/cells.py): for every cell of tables 三 and 四 of the
examples' reports (tests/data/examples), under both counting units and both appeal-year policies, the
list behind the figure (the drill-down's, the close-out's frozen ids) has exactly the figure's length;
and a classification changed in cells.py changes the figure and the list alike."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from tests.data import EXAMPLES
from webapp.cases.services.interchange import record_appeal
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseItem
from webapp.reporting.services import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    OUTCOMES,
    ROWS,
    build_report,
    cells,
    drilldown,
)
from webapp.reporting.services.build import _report_statement
from webapp.reporting.services.closeout import appeal_cells
from webapp.reporting.services.tables import appeal_filters_for, appeals_in_cell

POLICIES = [{"multi_item_outcome": unit, "appeal_year": year}
            for unit in ("application", "item") for year in ("filed", "decided")]


def _expected(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def examples(cli, db_session):
    """The two valid examples imported; small-year's cases given a second item answered otherwise (or
    not at all: it takes the case's outcome) and an appeal filed in 2024 and decided in 2025, so that
    the counting units and the appeal-year policies give different figures."""
    for name in ("small-year", "seed-agency-2023"):
        res = cli.invoke(args=["cases", "import", str(EXAMPLES / f"{name}.json")])
        assert res.exit_code == 0, res.output
    small = db.session.scalar(select(Agency).where(Agency.code == "SL-ZFB"))
    seed = db.session.scalar(select(Agency).where(Agency.code == "LZ-SWJ"))
    cases = list(db.session.scalars(select(Case).where(Case.agency_id == small.id).order_by(Case.id)))
    for n, case in enumerate(cases):
        if n % 3 == 0:
            db.session.add(CaseItem(case_id=case.id, position=1, text="第二项", outcome="unavailable.not_held"))
        elif n % 3 == 1:
            db.session.add(CaseItem(case_id=case.id, position=1, text="第二项", outcome=None))
    record_appeal(cases[0], "litigation_after_review", date(2024, 12, 2), "corrected", date(2025, 2, 10))
    db.session.commit()
    return small, seed


def _table3_lists_add_up(agencies: list[Agency], year: int, report: dict) -> int:
    apps = report["applications"]
    listed = drilldown.cell_ids(agencies, year)
    checked = 0
    for row in ROWS:
        figures = apps["outcomes"][row] if row in OUTCOMES else apps[row]
        for col in ALL_COLUMNS:
            total, entries = drilldown.entries_in_cell(agencies, year, row, col)
            assert total == len(entries) == figures[col] == len(listed.get(f"{row}/{col}", [])), (year, row, col)
            if row in OUTCOMES:
                assert all(e.outcome == row for e in entries), (year, row, col)
            checked += 1
    return checked


def _table4_lists_add_up(agencies: list[Agency], year: int, report: dict) -> int:
    ids = [a.id for a in agencies]
    res_expr, cond = appeal_filters_for(agencies, year)       # the drill-down page's query
    frozen = appeal_cells(ids, year, agencies[0].policy().appeal_year) if len(agencies) == 1 else None
    checked = 0
    for group in APPEAL_GROUPS:
        for res in APPEAL_RESULTS + ("total",):
            q = select(Appeal).join(Case, Appeal.case_id == Case.id).where(Case.agency_id.in_(ids), cond,
                                                                          Appeal.kind == group)
            column = cells.appeal_in_column(res_expr, res)
            if column is not None:
                q = q.where(column)
            figure = report["appeals"][group][res]
            assert len(db.session.scalars(q).all()) == figure, (year, group, res)
            if frozen is not None:
                assert len(frozen.get(f"appeals/{group}/{res}", [])) == figure, (year, group, res)
                policy = agencies[0].policy().appeal_year
                assert len(db.session.scalars(appeals_in_cell(ids, year, group, res, policy)).all()) == figure
            checked += 1
    return checked


def test_every_cell_of_the_examples_lists_its_figure(examples):
    small, seed = examples
    figures = {}
    for policies in POLICIES:
        small.policies = policies
        db.session.commit()
        for agencies, years in (([small], (2024, 2025)), ([seed], (2023,)), ([small, seed], (2024,))):
            for year in years:
                report = build_report(agencies, year)
                assert _table3_lists_add_up(agencies, year, report) == 25 * 7
                assert _table4_lists_add_up(agencies, year, report) == 3 * 5
                figures[(policies["multi_item_outcome"], policies["appeal_year"], len(agencies), year)] = report
    # counting applications with appeals by filing year, the examples' own figures
    # (the appeal added above is pending at the end of 2024 and not counted in 2025)
    want = _expected("small-year")["reports"]
    for year in (2024, 2025):
        got = figures[("application", "filed", 1, year)]
        assert got["applications"] == want[str(year)]["applications"]
        appeals = json.loads(json.dumps(want[str(year)]["appeals"]))
        if year == 2024:
            appeals["litigation_after_review"].update(pending=1, total=1)
        assert got["appeals"] == appeals
    # ... and the other units and policies really count otherwise
    by_item = figures[("item", "filed", 1, 2024)]["applications"]
    assert by_item["new"]["total"] == 25 and want["2024"]["applications"]["new"]["total"] == 15
    decided, filed = figures[("application", "decided", 1, 2025)]["appeals"], want["2025"]["appeals"]
    assert decided["litigation_after_review"] == {"upheld": 0, "corrected": 1, "other": 0, "pending": 0, "total": 1}
    assert filed["litigation_after_review"]["total"] == 0


def test_a_classification_changed_in_cells_changes_figure_and_list(examples, monkeypatch):
    """cells.item_outcome is the one place an item's outcome is read: an item counted by its case's
    outcome instead moves the figure and its list together."""
    small, _seed = examples
    small.policies = {"multi_item_outcome": "item"}
    db.session.commit()
    before = build_report([small], 2024)["applications"]["outcomes"]["unavailable.not_held"]["total"]
    monkeypatch.setattr(cells, "item_outcome", lambda c, item: c.outcome)
    _report_statement.cache_clear()
    try:
        report = build_report([small], 2024)
        after = report["applications"]["outcomes"]["unavailable.not_held"]["total"]
        assert after < before
        total, entries = drilldown.entries_in_cell([small], 2024, "unavailable.not_held", "total")
        assert total == len(entries) == after
        assert _table3_lists_add_up([small], 2024, report) == 25 * 7
    finally:
        monkeypatch.undo()
        _report_statement.cache_clear()
