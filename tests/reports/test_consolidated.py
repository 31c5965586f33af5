"""A consolidated report is, cell by cell, the sum of the agencies' own reports: each agency with its
own appeal-year policy, its own frozen carry-over once its previous year is closed, and the in-force
check only where an agency's previous ledger is in the service (report.md)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import make_case
from webapp.cases.services import record_event
from webapp.cases.services.interchange import record_appeal
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Appeal, Case
from webapp.reporting.services import appeal_filters_for, build_report, drilldown
from webapp.reporting.services import proactive_ledger as proactive
from webapp.reporting.services.closeout import close_year

TODAY = date(2026, 1, 5)
PERSON = {"kind": "natural_person", "name": "张三", "phone": "13800000001"}


def _check(report, name):
    return next((c for c in report["checks"] if c["name"] == name), None)


def _sum(a: dict, b: dict) -> dict:
    return {k: _sum(v, b[k]) if isinstance(v, dict) else v + b[k] for k, v in a.items()}


def test_each_agency_counts_appeals_by_its_own_policy(make_agency):
    a = make_agency("CS-A", "甲局", policies={"appeal_year": "decided"})
    b = make_agency("CS-B", "乙局")
    for agency in (a, b):
        case = make_case(agency, None, date(2024, 3, 4), applicant=PERSON, items=["预算"], channel="online",
                         today=TODAY)
        record_event(case, Event(type=EventType.ANSWERED, on=date(2024, 3, 15), outcome=Outcome.DISCLOSED),
                     today=TODAY)
        record_appeal(case, "review", date(2024, 11, 4), "upheld", date(2025, 1, 20))
    db.session.flush()
    # 甲 counts the decision in 2025; 乙 counts the filing in 2024
    assert build_report([a], 2025)["appeals"]["review"]["upheld"] == 1
    assert build_report([b], 2025)["appeals"]["review"]["total"] == 0
    assert build_report([b], 2024)["appeals"]["review"]["pending"] == 1
    both = build_report([a, b], 2025)["appeals"]
    assert both == _sum(build_report([a], 2025)["appeals"], build_report([b], 2025)["appeals"])
    assert both["review"]["upheld"] == 1
    # the drill-down behind the consolidated cells lists the same appeals
    for year in (2024, 2025):
        result, cond = appeal_filters_for([a, b], year)
        listed = db.session.execute(select(Appeal.id, result).join(Case, Appeal.case_id == Case.id)
                                    .where(cond, Appeal.kind == "review")).all()
        report = build_report([a, b], year)["appeals"]["review"]
        assert len(listed) == report["total"]
        assert sum(1 for _id, res in listed if res == "upheld") == report["upheld"]


def test_a_closed_agency_brings_its_frozen_carry_over_into_the_sum(make_agency):
    """甲 closed 2024 with one case carried over, then that case was mended (answered back in
    2024): 甲's 2025 carried_in stays the frozen 1 and its carry_over check fails; the consolidated
    report with 乙 (2024 not closed) shows the same."""
    a = make_agency("CS-A", "甲局")
    b = make_agency("CS-B", "乙局")
    late = make_case(a, None, date(2024, 12, 23), applicant=PERSON, items=["合同"], channel="in_person", today=TODAY)
    other = make_case(b, None, date(2024, 12, 24), applicant=PERSON, items=["名单"], channel="in_person", today=TODAY)
    db.session.flush()
    close_year(2024, a, today=TODAY)
    record_event(late, Event(type=EventType.ANSWERED, on=date(2024, 12, 30), outcome=Outcome.DISCLOSED),
                 today=TODAY)
    db.session.flush()
    alone = build_report([a], 2025)
    assert alone["applications"]["carried_in"]["natural_person"] == 1        # frozen
    assert not _check(alone, "carry_over")["ok"]
    both = build_report([a, b], 2025)
    assert both["applications"]["carried_in"]["natural_person"] == 2         # 甲 frozen 1 + 乙 counted 1
    assert both["applications"]["carried_in"] == _sum(alone["applications"]["carried_in"],
                                                      build_report([b], 2025)["applications"]["carried_in"])
    assert not _check(both, "carry_over")["ok"]
    assert other.status == "registered"
    # the lists behind the figures are the frozen carry-over too, so they still add up
    total, entries = drilldown.entries_in_cell([a], 2025, "carried_in", "total")
    assert (total, [(e.case.id, e.frozen) for e in entries]) == (1, [(late.id, True)])
    total, entries = drilldown.entries_in_cell([a, b], 2025, "carried_in", "natural_person")
    assert total == both["applications"]["carried_in"]["natural_person"] == 2
    assert [(e.case.id, e.frozen) for e in entries] == [(late.id, True), (other.id, False)]
    assert drilldown.entries_in_cell([a, b], 2025, "carried_in", "total", limit=1, offset=1)[1][0].case.id == other.id
    assert drilldown.cell_ids([a, b], 2025)["carried_in/total"] == sorted([late.id, other.id])


def test_in_force_check_only_where_last_years_ledger_exists(make_agency):
    a = make_agency("CS-A", "甲局")
    b = make_agency("CS-B", "乙局")
    proactive.save_year(a, 2024, {"rules_in_force": "3"})
    proactive.save_year(a, 2025, {"rules_issued": "2", "rules_in_force": "5"})
    proactive.save_year(b, 2025, {"rules_in_force": "4"})          # 乙 has no 2024 ledger
    db.session.flush()
    assert _check(build_report([a], 2025), "proactive_in_force")["ok"]
    assert _check(build_report([b], 2025), "proactive_in_force") is None
    both = build_report([a, b], 2025)
    assert both["proactive"]["rules"] == {"issued": 2, "repealed": 0, "in_force": 9}
    assert _check(both, "proactive_in_force")["ok"], both["checks"]
    # a wrong figure of 甲 still fails the consolidated check
    proactive.save_year(a, 2025, {"rules_issued": "2", "rules_in_force": "6"})
    db.session.flush()
    assert not _check(build_report([a, b], 2025), "proactive_in_force")["ok"]
