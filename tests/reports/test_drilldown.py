"""Every figure is traceable: for a generated year of several hundred cases, the list of cases
behind every cell of tables 三 and 四 adds up to the cell."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from webapp.cases.services.interchange import record_appeal
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case
from webapp.reporting.services import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    OUTCOMES,
    ROWS,
    appeal_case_ids,
    build_report,
    cases_in_cell,
    cell_case_ids,
)
from webapp.reporting.services.closeout import appeal_cells

from .conftest import import_doc, synth_doc


@pytest.fixture
def generated(cli, db_session, tmp_path):
    """2023 (150 cases) and 2024 (250 cases) of one agency, answers over all 21 outcomes, plus
    40 appeals filed 2023-2025 with results decided before, in or after 2024."""
    import_doc(cli, synth_doc(150, 2023, seed=11, code="GEN"), tmp_path, "y2023.json")
    import_doc(cli, synth_doc(250, 2024, seed=12, code="GEN"), tmp_path, "y2024.json")
    agency = db.session.scalar(select(Agency).where(Agency.code == "GEN"))
    rng = random.Random(5)
    cases = list(db.session.scalars(select(Case).where(Case.agency_id == agency.id).order_by(Case.id)))
    for case in rng.sample(cases, 40):
        filed = case.received_on + timedelta(days=rng.randint(20, 300))
        kind = rng.choice(["review", "litigation_direct", "litigation_after_review"])
        result = rng.choice(["upheld", "corrected", "other", "pending"])
        decided = None if result == "pending" else filed + timedelta(days=rng.randint(10, 200))
        record_appeal(case, kind, filed, result, decided)
    db.session.commit()
    return agency


def count(q) -> int:
    return db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))


def test_cases_behind_every_cell_add_up(generated):
    """Tables 三 (25 rows x 7 columns) and 四 (3 groups x 5 columns)."""
    agency = generated
    ids = [agency.id]
    report = build_report([agency], 2024)
    apps = report["applications"]
    assert db.session.scalar(select(func.count(Case.id))) == 400
    # a year worth checking: carried in and out, most outcome rows and all six applicant kinds in use
    assert apps["carried_in"]["total"] > 0 and apps["carried_out"]["total"] > 0
    assert sum(1 for o in OUTCOMES if apps["outcomes"][o]["total"]) >= 18
    assert all(apps["new"][c] for c in ALL_COLUMNS)
    frozen = cell_case_ids(ids, 2024)
    checked = 0
    for row in ROWS:
        figures = apps["outcomes"][row] if row in OUTCOMES else apps[row]
        for col in ALL_COLUMNS:
            listed = list(db.session.scalars(cases_in_cell(ids, 2024, row, col)))
            assert len(listed) == figures[col], (row, col)
            assert sorted(c.id for c in listed) == frozen.get(f"{row}/{col}", []), (row, col)
            checked += 1
    assert checked == 25 * 7
    # every case counted in an outcome row ended in 2024 and has that outcome
    for o in OUTCOMES:
        for c in db.session.scalars(cases_in_cell(ids, 2024, o, "total")):
            assert c.outcome == o and date(2024, 1, 1) <= c.closed_on <= date(2024, 12, 31)
    # (the generated ledgers repeat the same figures each year: only table 三's checks apply here)
    assert all(c["ok"] for c in report["checks"] if c["name"] != "proactive_in_force"), report["checks"]

    # table 四, for the years the appeals were filed in (one import serves both tables: it is slow)
    for year in (2023, 2024, 2025):
        table = build_report([agency], year)["appeals"]
        cells = appeal_cells(ids, year)
        for group in APPEAL_GROUPS:
            for res in APPEAL_RESULTS + ("total",):
                listed = db.session.execute(appeal_case_ids(ids, year, group, res)).all()
                assert len(listed) == table[group][res], (year, group, res)
                assert len(cells.get(f"appeals/{group}/{res}", [])) == table[group][res]
    total = sum(build_report([agency], y)["appeals"][g]["total"] for y in range(2023, 2026) for g in APPEAL_GROUPS)
    assert total == db.session.scalar(select(func.count(Appeal.id))) >= 40


def test_item_counting_agency_lists_add_up(cli, db_session, tmp_path):
    """Policy multi_item_outcome='item': the figures count requested items, and so do the lists."""
    from webapp.models import CaseItem
    from webapp.reporting.services.drilldown import cell_ids, entries_in_cell

    import_doc(cli, synth_doc(120, 2024, seed=31, code="ITM"), tmp_path)
    agency = db.session.scalar(select(Agency).where(Agency.code == "ITM"))
    agency.policies = {"multi_item_outcome": "item"}
    rng = random.Random(2)
    for item in db.session.scalars(select(CaseItem).join(Case).where(Case.closed_on.is_not(None))):
        if item.position and rng.random() < 0.5:      # a second or third item answered differently
            item.outcome = rng.choice(OUTCOMES)
    db.session.commit()
    report = build_report([agency], 2024)
    apps = report["applications"]
    n_items = db.session.scalar(select(func.count(CaseItem.id)))
    assert apps["new"]["total"] == n_items > 120
    cells = cell_ids([agency], 2024)
    for row in ROWS:
        figures = apps["outcomes"][row] if row in OUTCOMES else apps[row]
        for col in ALL_COLUMNS:
            total, entries = entries_in_cell([agency], 2024, row, col)
            assert total == len(entries) == figures[col] == len(cells.get(f"{row}/{col}", [])), (row, col)
            if row in OUTCOMES:
                assert all(e.outcome == row for e in entries)
    total, page2 = entries_in_cell([agency], 2024, "new", "total", limit=50, offset=50)
    assert total == n_items and [e.item.id for e in page2] == [
        e.item.id for e in entries_in_cell([agency], 2024, "new", "total")[1][50:100]]
