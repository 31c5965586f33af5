"""build_report reads everything in one statement (for the benchmark goal of issue 5); its figures
must equal those of the per-table queries (table3, table4, fees_collected, proactive) for every policy
and for a consolidated report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest
from sqlalchemy import func, select

from webapp.cases.services.money import decimal_str
from webapp.extensions import db
from webapp.models import Agency, Case, ProactiveYear, ReportVersion
from webapp.reporting.services import build_report, fees_collected, proactive, table3, table4

from .conftest import import_doc, synth_doc


def _year_in_service(agency_ids: Sequence[int], year: int) -> bool:
    """Whether year Y is in the service: a frozen version, or cases of that year or before (the
    condition of the carry_over check)."""
    if db.session.scalar(select(func.count(ReportVersion.id)).where(ReportVersion.agency_id.in_(agency_ids),
                                                                    ReportVersion.year == year)):
        return True
    return bool(db.session.scalar(select(func.count(Case.id)).where(Case.agency_id.in_(agency_ids),
                                                                    Case.received_on <= date(year, 12, 31))))


@pytest.fixture
def two_agencies(cli, db_session, tmp_path):
    import_doc(cli, synth_doc(90, 2023, seed=21, code="GA", name="甲局"), tmp_path, "a.json")
    import_doc(cli, synth_doc(90, 2024, seed=22, code="GB", name="乙局"), tmp_path, "b.json")
    import_doc(cli, synth_doc(60, 2024, seed=23, code="GA", name="甲局"), tmp_path, "c.json")
    a, b = (db.session.scalar(select(Agency).where(Agency.code == c)) for c in ("GA", "GB"))
    b.policies = {"multi_item_outcome": "item", "appeal_year": "decided"}
    db.session.add(ProactiveYear(agency_id=b.id, year=2023, normative_in_force=8, fees_10k_yuan="0.1234"))
    db.session.commit()
    return a, b


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_one_statement_equals_the_table_queries(two_agencies, year):
    a, b = two_agencies
    for agencies in ([a], [b], [a, b]):
        ids = [x.id for x in agencies]
        per_item = [x.id for x in agencies if x.policy().multi_item_outcome == "item"]
        appeal_year = agencies[0].policy().appeal_year if len(agencies) == 1 else "filed"
        report = build_report(agencies, year)
        want = table3(ids, year, per_item)
        assert report["applications"]["new"] == want["new"]
        assert report["applications"]["outcomes"] == want["outcomes"]
        assert report["applications"]["total"] == want["total"]
        assert report["applications"]["carried_out"] == want["carried_out"]
        assert report["applications"]["carried_in"] == want["carried_in"]
        assert report["appeals"] == table4(ids, year, appeal_year)
        assert report["fees_collected_yuan"] == decimal_str(fees_collected(ids, year))
        assert report["proactive"] == proactive(ids, year)[0]
        names = [c["name"] for c in report["checks"]]
        assert names[:3] == ["balance", "outcome_sum", "column_sum"]
        assert ("carry_over" in names) == _year_in_service(ids, year - 1)
        assert all(c["ok"] for c in report["checks"] if c["name"] != "proactive_in_force"), report["checks"]


@pytest.mark.pg
def test_on_postgresql_the_statement_goes_as_cached_text_with_the_same_rows(two_agencies):
    """On PostgreSQL build_report sends the report statement as SQL text compiled once per variant and
    list lengths (build._driver_sql): the rows are those of the Core statement, for every variant
    (by application, by item, both appeal years) and for one agency and several."""
    from sqlalchemy import event

    from webapp.reporting.services import build as b

    a, bb = two_agencies
    policies = {x.id: x.policy() for x in (a, bb)}
    conn = db.session.connection()
    for ids in ([a.id], [bb.id], [a.id, bb.id]):
        params = b._statement_params(ids, policies, 2024)
        for by_agency in (False, True):        # build_report's, and the per-agency parts' (parts.py)
            flags = (*(name in params for name in ("app_ids", "item_ids", "filed_ids", "decided_ids")), by_agency)
            core = sorted(map(repr, map(tuple, conn.execute(b._report_statement(*flags), params))))
            assert sorted(map(repr, map(tuple, b._execute(conn, flags, params)))) == core
            assert len(core) > 3
    sent: list[tuple[str, object]] = []

    def record(conn_, cursor, statement, parameters, context, executemany):
        sent.append((statement, context.compiled))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        first, again = build_report([a, bb], 2024), build_report([a, bb], 2024)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert first == again
    assert len(sent) == 2 and sent[0][0] == sent[1][0] and sent[0][1] is None   # text, not a Core statement
