"""The consolidated report assembled from per-agency parts (reporting/services/parts.py), each cached
under its own agency's stamp (report_cache.py): the same report as build_report computes directly,
JSON text and every format byte for byte, on data that fills every table and cell kind (each counting
unit and appeal-year policy, frozen and opening carry-over, ledgers of both years, fees to the fen);
and after one agency's change only that agency's part is computed again."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from tests.factories import make_case
from webapp.cases.services import record_event
from webapp.cases.services.appeals import record_appeal
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Agency, Case, ReportCache
from webapp.reporting.services import build_report, narratives, opening, parts, report_cache
from webapp.reporting.services import proactive_ledger as ledger
from webapp.reporting.services.closeout import close_year
from webapp.reporting.services.report_docs import render_report
from webapp.timeutil import SHANGHAI

from .conftest import import_doc, synth_doc

TODAY = date(2026, 1, 6)
PERSON = {"kind": "natural_person", "name": "张三", "phone": "13800000001"}
FIRM = {"kind": "commercial", "name": "某某建材有限公司", "phone": "0533-1234567"}


def _case(agency: Agency, received: date, applicant: dict = PERSON) -> Case:
    return make_case(agency, None, received, applicant=applicant, items=["预算", "决算"], channel="in_person",
                     today=TODAY)


def _answer(case: Case, on: date, outcome: Outcome = Outcome.DISCLOSED) -> None:
    record_event(case, Event(type=EventType.ANSWERED, on=on, outcome=outcome), today=TODAY)


@pytest.fixture
def world(cli, db_session, tmp_path, make_agency, make_user):
    """A government and five departments that between them fill every kind of figure:

    - PA: generated 2024 and 2025 (all 21 outcomes, every applicant kind, fees, appeals), ledgers of
      both years (fees in 10k yuan to six places), a fee to the fen, an appeal of each kind, a narrative;
    - PB: counts items and appeals by decision; generated 2024 and 2025, a ledger of 2025 only;
    - PC: 2024 closed with a case carried over, that case then answered back in 2024 (frozen 上年结转
      differs from the counted one: carry_over fails);
    - PD: an opening balance of 2024 (3 carried over, in-force figures), cases of 2025 only;
    - PE: nothing at all; PG (the government): a few cases of 2025."""
    gov = make_agency("PG", "某区人民政府", kind="government")
    a = make_agency("PA", "甲局", parent=gov)
    b = make_agency("PB", "乙局", parent=gov, policies={"multi_item_outcome": "item", "appeal_year": "decided"})
    c = make_agency("PC", "丙局", parent=gov)
    d = make_agency("PD", "丁局", parent=gov)
    e = make_agency("PE", "戊局", parent=gov)
    admin = make_user("pt-admin", "admin", None)
    db.session.commit()
    for code, name, year, seed in (("PA", "甲局", 2024, 41), ("PA", "甲局", 2025, 42), ("PB", "乙局", 2024, 43),
                                   ("PB", "乙局", 2025, 44), ("PG", "某区人民政府", 2025, 45)):
        import_doc(cli, synth_doc(80 if code != "PG" else 12, year, seed=seed, code=code, name=name,
                                  until=date(2026, 1, 5)), tmp_path, f"{code}-{year}.json")
    db.session.expire_all()
    ledger.save_year(a, 2024, {"rules_in_force": "3", "normative_in_force": "5", "fees_10k_yuan": "1.234567"})
    ledger.save_year(a, 2025, {"rules_issued": "2", "rules_in_force": "5", "normative_in_force": "4",
                               "licensing_decisions": "12", "fees_10k_yuan": "0.000001"})
    ledger.save_year(b, 2025, {"rules_in_force": "7", "penalty_decisions": "3", "fees_10k_yuan": "2.5"})
    firm = _case(a, date(2025, 4, 1), FIRM)
    _answer(firm, date(2025, 4, 20), Outcome.PARTIAL)
    for kind, result, decided in (("review", "upheld", date(2025, 8, 1)), ("litigation_direct", "pending", None),
                                  ("litigation_after_review", "corrected", date(2025, 11, 3))):
        record_appeal(firm, kind, date(2025, 5, 6), result, decided, today=TODAY)
    db.session.flush()
    db.session.execute(update(Case).where(Case.id == firm.id)
                       .values(fee_amount=Decimal("12.34"), fee_paid_on=date(2025, 4, 9)))
    narratives.save(a, 2025, {"overview": "本年度概述"}, None)
    late = _case(c, date(2024, 12, 23))
    _case(c, date(2025, 2, 3), FIRM)
    db.session.flush()
    close_year(2024, c, today=TODAY)
    _answer(late, date(2024, 12, 30))
    opening.save_opening(d, 2024, {"carried_out": {"natural_person": 3, "commercial": 0, "research": 0,
                                                   "public_interest": 0, "legal_service": 0, "other_org": 0,
                                                   "total": 3},
                                   "in_force": {"rules": 1, "normative_documents": 2}}, admin, today=TODAY)
    _answer(_case(d, date(2025, 3, 3)), date(2025, 3, 20), Outcome.UNAVAILABLE_NOT_HELD)
    db.session.commit()
    return [gov, a, b, c, d, e]


def _text(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1)


def _computed(monkeypatch) -> list[list[str]]:
    """The agencies of every compute_parts call, by code."""
    calls: list[list[str]] = []
    real = parts.compute_parts

    def counting(agencies, year):
        calls.append(sorted(a.code for a in agencies))
        return real(agencies, year)

    monkeypatch.setattr(report_cache, "compute_parts", counting)
    return calls


def _content(fmt: str, data: bytes):
    """A file's content: the bytes, and for the zip formats (.xlsx, .docx) each member's name and
    bytes (openpyxl stamps the members it writes through temporary files with the files' real
    modification time, which no frozen clock holds: the same report made twice a second apart differs
    there and only there)."""
    if fmt not in ("xlsx", "docx"):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(name, z.read(name)) for name in z.namelist()]


def _entries() -> int:
    """The entries (reports and parts), not the views' marks (report_refresh.py)."""
    return db.session.scalar(select(func.count()).select_from(ReportCache)
                             .where(ReportCache.key.not_like(report_cache.MARK + "%")))


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_parts_assembled_equal_the_direct_computation(world, monkeypatch, year):
    calls = _computed(monkeypatch)
    counted: dict = {}
    got = report_cache.cached_report(world, year, per_agency=counted)
    assert calls == [["PA", "PB", "PC", "PD", "PE", "PG"]]          # every part in one computation
    assert _entries() == 7                                           # six parts and the report
    want_counted: dict = {}
    want = build_report(world, year, per_agency=want_counted)
    assert _text(got) == _text(want) and got == want
    assert counted == want_counted
    if year == 2025:        # the data reach every kind of figure
        checks = {c["name"]: c["ok"] for c in want["checks"]}
        assert checks == {"balance": False, "outcome_sum": True, "column_sum": True, "carry_over": False,
                          "proactive_in_force": False}      # failing checks name their cells
        apps = want["applications"]
        assert all(apps["outcomes"][o]["total"] > 0 for o in ("disclosed", "partial", "unavailable.not_held"))
        assert all(apps["new"][k] > 0 for k in ("natural_person", "commercial", "research", "public_interest",
                                                "legal_service", "other_org"))
        assert apps["carried_in"]["total"] > 0 and apps["carried_out"]["total"] > 0
        assert all(want["appeals"][g]["total"] > 0 for g in want["appeals"])
        assert want["proactive"]["fees_10k_yuan"] == "2.850001"      # 0.000001 + 2.5 + PG's generated 0.35
        assert want["fees_collected_yuan"] == "4812.34"
        assert set(want_counted) == {w.id for w in world if w.code != "PE"}
    # a second view: the whole report from the cache, nothing computed
    assert report_cache.cached_report(world, year) == want and len(calls) == 1
    # other selections of the same agencies: from the same parts (none computed), each its own sum;
    # 丁局 and 戊局 alone: Y-1 is in the service only through 丁局's opening balance
    gov, a, b, c, d, e = world
    for chosen in ([d, e], [e, gov], [b, c], [a, b]):
        counted, want_counted = {}, {}
        got = report_cache.cached_report(chosen, year, per_agency=counted)
        want = build_report(chosen, year, per_agency=want_counted)
        assert _text(got) == _text(want) and counted == want_counted, [x.code for x in chosen]
    assert len(calls) == 1


def test_every_format_is_byte_for_byte_the_computed_one(world, monkeypatch, time_machine):
    """The downloads through the cache (parts assembled, then the stored report) against `flask
    report`'s (computed), in every format, after a change of one agency too. (The clock stands still:
    the .xlsx, .docx and .pdf files carry the time they were made; the zip formats member by member,
    _content.)"""
    time_machine.move_to(datetime(2026, 1, 6, 10, 0, tzinfo=SHANGHAI), tick=False)
    calls = _computed(monkeypatch)
    for fmt in ("json", "html", "xlsx", "docx", "pdf"):
        assert _content(fmt, render_report(world, 2025, fmt, cached=True)) == \
            _content(fmt, render_report(world, 2025, fmt)), fmt
    assert calls == [["PA", "PB", "PC", "PD", "PE", "PG"]]
    _case(world[2], date(2025, 7, 7), FIRM)           # 乙局 (by item) changes
    db.session.flush()
    for fmt in ("json", "html", "xlsx"):
        assert _content(fmt, render_report(world, 2025, fmt, cached=True)) == \
            _content(fmt, render_report(world, 2025, fmt)), fmt
    assert calls[1:] == [["PB"]]


def test_a_change_in_one_agency_computes_only_its_part(world, monkeypatch):
    _gov, a, b, c, d, e = world
    calls = _computed(monkeypatch)
    counted: dict = {}
    report_cache.cached_report(world, 2025, per_agency=counted)
    assert calls == [["PA", "PB", "PC", "PD", "PE", "PG"]]

    def view() -> dict:
        got_counted: dict = {}
        got = report_cache.cached_report(world, 2025, per_agency=got_counted)
        want_counted: dict = {}
        want = build_report(world, 2025, per_agency=want_counted)
        assert _text(got) == _text(want) and got_counted == want_counted
        return got

    steps = [
        ("a case of 甲局", lambda: _case(a, date(2025, 9, 1)), ["PA"]),
        ("an answer in 丙局", lambda: _answer(db.session.scalars(
            select(Case).where(Case.agency_id == c.id, Case.closed_on.is_(None))).one(), date(2025, 9, 2)), ["PC"]),
        ("戊局's first case", lambda: _case(e, date(2025, 10, 1), FIRM), ["PE"]),
        ("乙局's ledger", lambda: ledger.save_year(b, 2025, {"rules_in_force": "8"}), ["PB"]),
        ("丁局's policy (Core UPDATE: the trigger)", lambda: db.session.execute(
            update(Agency).where(Agency.id == d.id).values(policies={"appeal_year": "decided"})), ["PD"]),
    ]
    for what, change, recomputed in steps:
        before = len(calls)
        change()
        db.session.flush()
        if what.startswith("丁局"):
            db.session.expire(d)          # the next request reads the row anew
        view()
        assert calls[before:] == [recomputed], what
    # nothing changed: no part computed, the report from the cache
    before = len(calls)
    view()
    assert calls[before:] == []
    # another selection of the same agencies' parts: only the report is new, no part computed
    assert report_cache.cached_report([a, b], 2025) == build_report([a, b], 2025)
    assert calls[before:] == []


def test_a_part_stored_inside_a_rolled_back_change_is_not_served(app, world, monkeypatch):
    """A part is written in the request's own transaction, under the stamps that transaction reads
    (its own marks included on PostgreSQL): rolled back, the entries go with the change."""
    _gov, a, *_ = world
    report_cache.cached_report(world, 2025)
    db.session.commit()
    stored = _entries()
    _case(a, date(2025, 9, 1))
    db.session.flush()
    report_cache.cached_report(world, 2025)
    assert _entries() == stored + 2          # 甲局's new part and the new report
    db.session.rollback()
    assert _entries() == stored
    calls = _computed(monkeypatch)
    assert report_cache.cached_report(world, 2025) == build_report(world, 2025)
    assert calls == []
