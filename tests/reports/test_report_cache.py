"""The report cache (reporting/services/report_cache.py) and the change stamps it is keyed by
(reporting/services/stamps.py): every table the report reads raises its agency's stamp, through the
services and through any SQL; a cached report is never served after a change; the pages and
downloads give what build_report gives."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import visitors

from tests import factories
from tests.conftest import sign_in
from tests.factories import make_case
from webapp.admin.services import agency_admin
from webapp.cases.services import record_event
from webapp.cases.services.appeals import record_appeal
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import (
    Agency,
    Appeal,
    Case,
    CaseItem,
    Narrative,
    ProactiveDocument,
    ProactiveYear,
    ReportCache,
    ReportStamp,
    ReportStampPending,
    ReportVersion,
)
from webapp.reporting.services import build, build_report, narratives, opening, report_cache
from webapp.reporting.services import proactive_ledger as ledger
from webapp.reporting.services.closeout import close_agency_year, mark_final
from webapp.reporting.services.report_docs import render_report
from webapp.reporting.services.stamps import CASE_COLUMNS, WATCHED, stamp_trigger_drop_sql, stamp_trigger_sql, stamps_of

from .conftest import import_doc, synth_doc

TODAY = date(2026, 1, 6)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC).replace(tzinfo=None)     # stored naive, in UTC
PERSON = {"kind": "natural_person", "name": "张三", "phone": "13800000001"}
MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "20261205_report_cache.py"


def _stamp(agency: Agency) -> list[int]:
    return stamps_of([agency.id])[agency.id]


def _case(agency: Agency, received: date, items: list[str] | None = None) -> Case:
    return make_case(agency, None, received, applicant=PERSON, items=items or ["预算"], channel="in_person",
                     today=TODAY)


def _answer(case: Case, on: date, outcome: Outcome = Outcome.DISCLOSED, **kw) -> None:
    record_event(case, Event(type=EventType.ANSWERED, on=on, outcome=outcome), today=TODAY, **kw)


def opening_figures(people: int) -> dict:
    """An opening balance of 2024: ``people`` natural persons' applications carried over."""
    carried = {"natural_person": people, "commercial": 0, "research": 0, "public_interest": 0, "legal_service": 0,
               "other_org": 0, "total": people}
    return {"carried_out": carried, "in_force": {"rules": 0, "normative_documents": 0}}


# --- the stamps ----------------------------------------------------------------------------------

def test_the_migration_runs_the_same_trigger_statements():
    spec = importlib.util.spec_from_file_location("migration_report_cache", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for dialect in ("postgresql", "sqlite"):
        assert module.stamp_trigger_sql(dialect) == stamp_trigger_sql(dialect)
        assert module.stamp_trigger_drop_sql(dialect) == stamp_trigger_drop_sql(dialect)


def test_the_report_statement_reads_only_watched_tables_and_case_columns():
    """What build_report reads is what the triggers watch: a column added to the cells without a
    trigger would fail here."""
    tables, case_columns = set(), set()
    for flags in ((True, True, True, True), (True, False, False, True)):
        for el in visitors.iterate(build._report_statement(*flags)):
            table = getattr(el, "table", None)
            if getattr(el, "__visit_name__", "") == "column" and isinstance(table, Table):
                tables.add(table.name)
                if table.name == "case":
                    case_columns.add(el.name)
    assert tables == {"case", "case_item", "appeal", "proactive_year", "report_version"}
    assert tables <= set(WATCHED)
    assert case_columns - {"id"} <= set(CASE_COLUMNS)
    assert {"received_on", "closed_on", "outcome", "applicant_kind", "fee_amount", "fee_paid_on"} <= case_columns
    # the consolidated report's per-agency parts (parts.py): the same, and the agency's id
    for el in visitors.iterate(build._report_statement(True, True, True, True, True)):
        table = getattr(el, "table", None)
        if getattr(el, "__visit_name__", "") == "column" and isinstance(table, Table):
            assert table.name in WATCHED
            assert table.name != "case" or el.name in {"id", *CASE_COLUMNS}, el.name
            assert table.name != "agency" or el.name == "id", el.name


def test_every_table_the_report_reads_raises_the_stamp_through_its_service(make_agency, make_user):
    a = make_agency("RC-A", "甲局")
    other = make_agency("RC-B", "乙局")
    admin = make_user("rc-admin", "admin", None)
    approver = make_user("rc-appr", "approver", a)
    db.session.flush()
    seen: set[str] = set()
    untouched = _stamp(other)

    def moved(table: str, write) -> None:
        before = _stamp(a)
        write()
        db.session.flush()
        assert _stamp(a) != before, table
        seen.add(table)

    moved("agency", lambda: agency_admin.update_policies(
        admin, a, {**a.policy().to_dict(), "multi_item_outcome": "item"}, today=TODAY))
    moved("agency", lambda: agency_admin.update_profile(admin, a, {"address": "新地址1号"}))
    box: dict = {}
    moved("case", lambda: box.setdefault("case", _case(a, date(2025, 3, 4), ["预算", "决算"])))
    c = box["case"]
    moved("case_item", lambda: _answer(c, date(2025, 3, 20), item_outcomes=["disclosed", "unavailable.not_held"]))
    assert [i.outcome for i in c.items] == ["disclosed", "unavailable.not_held"]
    moved("appeal", lambda: record_appeal(c, "review", date(2025, 5, 6), "pending", None, today=TODAY))
    moved("appeal", lambda: record_appeal(c, "review", date(2025, 5, 6), "upheld", date(2025, 7, 1),
                                          today=TODAY))
    moved("proactive_year", lambda: ledger.save_year(a, 2025, {"licensing_decisions": 7}))
    moved("proactive_document", lambda: box.setdefault("doc", ledger.add_document(
        a, {"kind": "rule", "title": "某规章", "issued_on": "2025-02-01"})))
    moved("proactive_document", lambda: ledger.update_document(
        a, box["doc"].id, {"kind": "rule", "title": "某规章（修订）", "issued_on": "2025-02-01"}))
    moved("proactive_document", lambda: ledger.delete_document(a, box["doc"].id))
    moved("narrative", lambda: narratives.save(a, 2025, {"overview": "概述文字"}, approver))
    moved("report_version", lambda: opening.save_opening(a, 2024, opening_figures(0), admin, today=TODAY))
    moved("report_version", lambda: box.setdefault("v", close_agency_year(a, 2025, today=TODAY)[0]))
    moved("report_version", lambda: mark_final(box["v"], approver))
    assert seen == set(WATCHED)
    assert _stamp(other) == untouched           # another agency's report is not touched


def test_a_case_update_that_no_figure_reads_leaves_the_stamp(make_agency):
    a = make_agency("RC-A", "甲局")
    c = _case(a, date(2025, 3, 4))
    db.session.flush()
    before = _stamp(a)
    c.note = "备注"
    c.due_on = date(2025, 4, 30)
    db.session.flush()
    assert _stamp(a) == before
    c.fee_paid_on = date(2025, 3, 9)
    db.session.flush()
    assert _stamp(a) != before


@pytest.mark.parametrize("table", sorted(WATCHED))
def test_any_sql_on_a_watched_table_raises_the_stamp(make_agency, table):
    """The triggers, not the services: a Core UPDATE and DELETE (what a psql session would send)."""
    a = make_agency("RC-A", "甲局")
    c = _case(a, date(2025, 3, 4))
    _answer(c, date(2025, 3, 20))
    record_appeal(c, "review", date(2025, 5, 6), "pending", None, today=TODAY)
    ledger.save_year(a, 2025, {"licensing_decisions": 7})
    ledger.add_document(a, {"kind": "rule", "title": "某规章", "issued_on": "2025-02-01"})
    narratives.save(a, 2025, {"overview": "概述"}, None)
    close_agency_year(a, 2025, today=TODAY)
    db.session.flush()
    model = {"agency": Agency, "case": Case, "case_item": CaseItem, "appeal": Appeal, "proactive_year": ProactiveYear,
             "proactive_document": ProactiveDocument, "report_version": ReportVersion, "narrative": Narrative}[table]
    where = (model.id == a.id) if table == "agency" else (
        model.case_id == c.id if table == "case_item" else model.agency_id == a.id)
    value = {"agency": {"name": "甲局（改）"}, "case": {"closed_on": date(2025, 3, 21)},
             "case_item": {"outcome": "unavailable.not_held"},
             "appeal": {"result": "upheld", "decided_on": date(2025, 6, 1)},
             "proactive_year": {"penalty_decisions": 3}, "proactive_document": {"title": "改"},
             "report_version": {"reason": "改"}, "narrative": {"note": "改"}}[table]
    before = _stamp(a)
    db.session.execute(update(model).where(where).values(**value).execution_options(synchronize_session=False))
    assert _stamp(a) != before
    if table in ("agency", "case"):
        return      # deleted with their children only
    before = _stamp(a)
    db.session.execute(delete(model).where(where).execution_options(synchronize_session=False))
    assert _stamp(a) != before


def test_the_bulk_import_raises_the_stamp(cli, db_session, tmp_path, make_agency):
    """`flask cases import` writes new cases in batches (COPY on PostgreSQL): the statement triggers
    see them."""
    a = make_agency("GEN", "生成测试机关")
    db.session.commit()
    before = _stamp(a)
    import_doc(cli, synth_doc(30, 2025, seed=5, code="GEN"), tmp_path)
    db.session.expire_all()
    assert _stamp(a) != before
    assert cached_equal([a], 2025)


# --- the cache -----------------------------------------------------------------------------------

def cached_equal(agencies, year) -> bool:
    counted_c: dict = {}
    counted_b: dict = {}
    got = report_cache.cached_report(agencies, year, per_agency=counted_c)
    want = build_report(agencies, year, per_agency=counted_b)
    return got == want and json.dumps(got, ensure_ascii=False) == json.dumps(want, ensure_ascii=False) \
        and counted_c == counted_b


def _entries() -> int:
    """The entries (reports and parts), not the views' marks (report_refresh.py)."""
    return db.session.scalar(select(func.count()).select_from(ReportCache)
                             .where(ReportCache.key.not_like(report_cache.MARK + "%")))


def test_a_cached_report_is_never_served_after_a_change(make_agency, make_user, monkeypatch):
    a = make_agency("RC-A", "甲局")
    b = make_agency("RC-B", "乙局")
    admin = make_user("rc-admin", "admin", None)
    first = _case(a, date(2025, 3, 4))
    db.session.flush()
    rep = report_cache.cached_report([a], 2025)
    assert rep["applications"]["new"]["natural_person"] == 1 and _entries() == 1
    # served from the cache: build_report is not called again while nothing changes
    real = build.build_report
    monkeypatch.setattr(report_cache, "build_report", lambda *a, **k: pytest.fail("computed again"))
    assert report_cache.cached_report([a], 2025) == rep
    monkeypatch.setattr(report_cache, "build_report", real)

    steps = [
        (lambda: _case(a, date(2025, 6, 1)), lambda r: r["applications"]["new"]["natural_person"] == 2),
        (lambda: _answer(first, date(2025, 3, 20), Outcome.UNAVAILABLE_NOT_HELD),
         lambda r: r["applications"]["outcomes"]["unavailable.not_held"]["natural_person"] == 1
         and r["applications"]["carried_out"]["natural_person"] == 1),
        (lambda: record_appeal(first, "review", date(2025, 5, 6), "corrected", date(2025, 8, 1), today=TODAY),
         lambda r: r["appeals"]["review"]["corrected"] == 1),
        (lambda: ledger.save_year(a, 2025, {"licensing_decisions": 9}),
         lambda r: r["proactive"]["licensing_decisions"] == 9),
        (lambda: agency_admin.update_profile(admin, a, {"name": "甲局（新名）"}),
         lambda r: r["agencies"] == [{"code": "RC-A", "name": "甲局（新名）"}]),
        (lambda: opening.save_opening(a, 2024, opening_figures(3), admin, today=TODAY),
         lambda r: r["applications"]["carried_in"]["natural_person"] == 3),
    ]
    for write, shows in steps:
        write()
        db.session.flush()
        got = report_cache.cached_report([a], 2025)
        assert shows(got), got
        assert got == build_report([a], 2025)
        assert cached_equal([a, b], 2025)       # the consolidated report and its per-agency summary
    # a change to one agency of a consolidated report gives the consolidated report a new key too
    _case(b, date(2025, 9, 1))
    db.session.flush()
    assert report_cache.cached_report([a, b], 2025)["applications"]["new"]["natural_person"] == 3


def test_an_agency_row_read_before_a_change_keys_its_own_entry(make_agency):
    """build_report takes the agency's name, code and policies from the Agency row the request loaded
    before the stamps were read; a change committed in between (here a Core UPDATE the loaded row does
    not see) raises the stamp, and the report built from the old row must not be stored under it: the
    row's values are part of the key."""
    a = make_agency("RC-R", "甲局")
    _case(a, date(2025, 3, 4))
    db.session.flush()
    db.session.connection().execute(update(Agency.__table__).where(Agency.__table__.c.id == a.id)
                                   .values(name="甲局（新名）"))
    stale = report_cache.cached_report([a], 2025)       # built from the row as loaded: the old name
    assert stale["agencies"] == [{"code": "RC-R", "name": "甲局"}]
    db.session.expire(a)                                  # the next request loads the row anew
    fresh = report_cache.cached_report([a], 2025)
    assert fresh["agencies"] == [{"code": "RC-R", "name": "甲局（新名）"}]
    assert fresh == build_report([a], 2025)


def test_the_cache_version_follows_the_counting_code(tmp_path):
    """A deployment that changes a counting rule (reporting/services, domain/) keys every report anew."""
    (tmp_path / "reporting" / "services").mkdir(parents=True)
    (tmp_path / "domain").mkdir()
    (tmp_path / "reporting" / "services" / "build.py").write_text("A = 1\n")
    (tmp_path / "domain" / "outcomes.py").write_text("B = 1\n")
    (tmp_path / "elsewhere.py").write_text("C = 1\n")
    first = report_cache._code_digest(tmp_path)
    (tmp_path / "elsewhere.py").write_text("C = 2\n")
    assert report_cache._code_digest(tmp_path) == first          # not counting code
    (tmp_path / "domain" / "outcomes.py").write_text("B = 2\n")
    second = report_cache._code_digest(tmp_path)
    assert second != first
    (tmp_path / "reporting" / "services" / "build.py").write_text("A = 2\n")
    assert report_cache._code_digest(tmp_path) not in (first, second)
    assert report_cache.CACHE_VERSION.startswith("1-") and len(report_cache.CACHE_VERSION) == 18


def test_the_cache_is_bounded_and_expires(app, make_agency, monkeypatch):
    agencies = [make_agency(f"RC-{i}", f"局{i}") for i in range(4)]
    db.session.flush()
    monkeypatch.setitem(app.config, "REPORT_CACHE_ROWS", 2)
    monkeypatch.setitem(app.config, "REPORT_REFRESH_SECONDS", 0)    # no views' marks: the entries alone
    for a in agencies:
        report_cache.cached_report([a], 2025)
    assert _entries() == 2
    # an entry older than REPORT_CACHE_SECONDS is not served (computed again, stored anew)
    db.session.execute(update(ReportCache).values(created_at=LONG_AGO))
    monkeypatch.setattr(report_cache, "build_report", lambda *a, **k: {"computed": True})
    assert report_cache.cached_report([agencies[0]], 2025) == {"computed": True}
    assert db.session.scalars(select(ReportCache.created_at)).all() != [LONG_AGO] * 2
    assert _entries() == 1       # the old ones pruned
    monkeypatch.setitem(app.config, "REPORT_CACHE_SECONDS", 0)     # off: nothing read or stored
    assert report_cache.cached_report([agencies[1]], 2025) == {"computed": True}
    assert _entries() == 1


def test_a_failure_to_store_serves_the_report_as_computed(make_agency, monkeypatch):
    a = make_agency("RC-A", "甲局")
    _case(a, date(2025, 3, 4))
    db.session.flush()

    def broken(*_a, **_k):
        raise OperationalError("DELETE FROM report_cache", {}, Exception("disk full"))

    monkeypatch.setattr(report_cache, "delete", broken)
    assert report_cache.cached_report([a], 2025) == build_report([a], 2025)
    assert _entries() == 0
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1     # the transaction goes on


# --- the pages -----------------------------------------------------------------------------------

def test_pages_and_downloads_show_a_change_at_once(client, make_agency, make_user):
    gov = make_agency("RC-GOV", "某区人民政府", kind="government")
    a = make_agency("RC-A", "甲局", parent=gov)
    c = _case(a, date(2025, 3, 4))
    clerk = make_user("rc-clerk", "clerk", gov)
    db.session.commit()
    sign_in(client, clerk)

    def downloaded(url: str) -> dict:
        res = client.get(url)
        assert res.status_code == 200, url
        return json.loads(res.get_data())

    for _ in range(2):      # computed, then from the cache
        assert client.get("/reports/agency/RC-A/2025").status_code == 200
        assert client.get("/reports/consolidated/2025").status_code == 200
        one = downloaded("/reports/agency/RC-A/2025/report.json")
        both = downloaded("/reports/consolidated/2025/report.json")
        assert one["applications"]["new"]["natural_person"] == 1
        assert both["applications"]["new"]["natural_person"] == 1
    assert _entries() >= 2
    _answer(c, date(2025, 3, 20), Outcome.UNAVAILABLE_NOT_HELD)
    db.session.commit()
    one = downloaded("/reports/agency/RC-A/2025/report.json")
    assert one["applications"]["outcomes"]["unavailable.not_held"]["natural_person"] == 1
    assert one["applications"]["carried_out"]["natural_person"] == 0
    both = downloaded("/reports/consolidated/2025/report.json")
    assert both["applications"]["outcomes"]["unavailable.not_held"]["natural_person"] == 1
    html = client.get("/reports/consolidated/2025").get_data(as_text=True)
    assert "甲局" in html
    # the download is byte for byte what `flask report` writes (computed, uncached)
    res = client.get("/reports/consolidated/2025/report.json")
    assert res.get_data() == render_report([a, gov], 2025, "json")
    assert client.get("/reports/agency/RC-A/2025/report.json").get_data() == render_report([a], 2025, "json")


def test_timestamps_are_naive_utc(make_agency):
    a = make_agency("RC-A", "甲局")
    db.session.flush()
    report_cache.cached_report([a], 2025)
    stored = db.session.scalar(select(ReportCache.created_at))
    assert stored.tzinfo is None
    assert abs(stored - datetime.utcnow()) < timedelta(minutes=5)  # noqa: DTZ003


@pytest.mark.pg
@pytest.mark.committed
def test_two_transactions_changing_one_agency_never_wait_on_its_stamp(app):
    """PostgreSQL: a transaction only marks its agencies; the stamp's row is raised at commit. A second
    transaction changing another case of the agency commits while the first is still open (with a
    stamp row locked from the first change to the commit it would wait, and time out here), and each
    commit raises the stamp by one."""
    with app.app_context():
        a = factories.make_agency("RC-A", "甲局")
        first, second = _case(a, date(2025, 3, 4)), _case(a, date(2025, 3, 5))
        db.session.commit()
        aid, ids = a.id, (first.id, second.id)
        (start,) = stamps_of([aid])[aid]
        engine = db.engine
        db.session.remove()
    with engine.connect() as t1, engine.connect() as t2:
        t1.begin()
        t1.execute(update(Case).where(Case.id == ids[0]).values(closed_on=date(2025, 3, 20), outcome="disclosed"))
        t2.begin()
        t2.execute(text("SET LOCAL lock_timeout = '2s'"))
        t2.execute(update(Case).where(Case.id == ids[1]).values(closed_on=date(2025, 3, 21), outcome="disclosed"))
        t2.commit()
        assert t1.execute(select(ReportStamp.stamp).where(ReportStamp.agency_id == aid)).scalar() == start + 1
        t1.commit()
    with app.app_context():
        assert stamps_of([aid])[aid] == [start + 2]
        assert db.session.scalar(select(func.count()).select_from(ReportStampPending)) == 0
        db.session.remove()


@pytest.mark.pg
@pytest.mark.committed
def test_transactions_changing_two_agencies_in_opposite_orders_do_not_deadlock_at_commit(app):
    """PostgreSQL: a transaction raises all its agencies' stamps at commit in agency order, whatever
    order it changed them in. Here a third transaction holds both stamp rows while the two commit, so
    that both reach their stamps at the same moment: raised in the order of the changes (B then A for
    the first, A then B for the second) they would each hold one row and wait for the other's, and
    PostgreSQL would abort one of them as a deadlock."""
    with app.app_context():
        a, b = factories.make_agency("RC-DA", "甲局"), factories.make_agency("RC-DB", "乙局")
        a1, a2 = _case(a, date(2025, 3, 4)), _case(a, date(2025, 3, 5))
        b1, b2 = _case(b, date(2025, 3, 4)), _case(b, date(2025, 3, 5))
        db.session.commit()
        aid, bid = a.id, b.id
        cases = {"a1": a1.id, "a2": a2.id, "b1": b1.id, "b2": b2.id}
        start = {k: v[0] for k, v in stamps_of([aid, bid]).items()}
        engine = db.engine
        db.session.remove()

    def close(conn, key: str, day: int) -> None:
        conn.execute(update(Case).where(Case.id == cases[key])
                     .values(closed_on=date(2025, 3, day), outcome="disclosed"))

    errors: list[BaseException] = []

    def commit(conn) -> None:
        try:
            conn.commit()
        except BaseException as exc:   # reported by the assertion below
            errors.append(exc)

    with engine.connect() as holder, engine.connect() as t1, engine.connect() as t2:
        t1.begin()
        close(t1, "b1", 20)
        close(t1, "a1", 20)          # marks B, then A
        t2.begin()
        close(t2, "a2", 21)
        close(t2, "b2", 21)          # marks A, then B
        holder.begin()
        holder.execute(select(ReportStamp).where(ReportStamp.agency_id.in_([aid, bid])).with_for_update())
        threads = [threading.Thread(target=commit, args=(t,)) for t in (t1, t2)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)              # both commits now wait for the held stamp rows
        holder.commit()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    with app.app_context():
        assert {k: v[0] for k, v in stamps_of([aid, bid]).items()} == {aid: start[aid] + 2, bid: start[bid] + 2}
        assert db.session.scalar(select(func.count()).select_from(ReportStampPending)) == 0
        db.session.remove()
