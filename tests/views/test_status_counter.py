"""Each agency's cases of each status (``case_status_count``, cases/status_counts.py), kept by the
database's triggers whoever changes "case": registration, every action that moves a status, a case's
move to another agency, Core SQL, the interchange import (one by one and in bulk); on PostgreSQL
added at commit (two transactions never wait on each other before it and cannot deadlock at it; a
rollback leaves nothing); the dashboard reads it; ``flask cases recount-statuses`` rebuilds it.

``assert_counter_right()`` is called at the end of other flows too (the register import, signing)."""

from __future__ import annotations

import importlib.util
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text, update

from tests import factories
from tests.factories import make_case
from tests.reports.conftest import synth_doc
from tests.test_migrations import MIGRATIONS, empty_database_url  # noqa: F401 (a fixture)
from tests.views.test_overdue_pages import _triggers_on_case
from webapp.cases.services import record_event
from webapp.cases.services.interchange import import_document
from webapp.cases.status_counts import TRIGGERS, status_count_trigger_drop_sql, status_count_trigger_sql
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.domain.workflow.events import Party
from webapp.extensions import db
from webapp.models import Case, CaseStatusCount, CaseStatusPending

MIGRATION = MIGRATIONS / "versions" / "20261205_case_status_count.py"
TODAY = date(2024, 7, 1)
R, AC, CO, AF, CL = "registered", "awaiting_correction", "consulting", "awaiting_fee", "closed"


def _on_pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def counted() -> dict[tuple[int, str], int]:
    """The counter's rows but those at 0, as this transaction's commit leaves them: on PostgreSQL its
    deferred commit triggers are fired now (SET CONSTRAINTS ALL IMMEDIATE), which adds its pending
    changes to the counter and removes them."""
    db.session.flush()
    if _on_pg():
        db.session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        db.session.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        assert db.session.scalar(select(func.count()).select_from(CaseStatusPending)) == 0
    c = CaseStatusCount
    return {(a, s): n for a, s, n in db.session.execute(select(c.agency_id, c.status, c.n).where(c.n != 0))}


def cases_counted() -> dict[tuple[int, str], int]:
    rows = db.session.execute(select(Case.agency_id, Case.status, func.count()).where(Case.status.is_not(None))
                              .group_by(Case.agency_id, Case.status))
    return {(a, str(s)): n for a, s, n in rows}


def assert_counter_right() -> dict[tuple[int, str], int]:
    """The counter equals `SELECT agency_id, status, count(*) FROM "case" GROUP BY 1, 2`; returns it."""
    got = counted()
    assert got == cases_counted()
    return got


def of(agency_id: int) -> dict[str, int]:
    return {s: n for (a, s), n in counted().items() if a == agency_id}


# --- the DDL -------------------------------------------------------------------------------------

def test_the_migration_runs_the_same_trigger_statements():
    spec = importlib.util.spec_from_file_location("migration_case_status_count", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for dialect in ("postgresql", "sqlite"):
        assert module.status_count_trigger_sql(dialect) == status_count_trigger_sql(dialect)
        assert module.status_count_trigger_drop_sql(dialect) == status_count_trigger_drop_sql(dialect)
    from webapp.cases.status_counts import RECOUNT_SQL
    assert module.RECOUNT_SQL == RECOUNT_SQL


# --- every kind of change ------------------------------------------------------------------------

def _act(case: Case, type_: EventType, on: date, **kw) -> None:
    record_event(case, Event(type=type_, on=on, **kw), None, today=TODAY)


def test_registration_and_every_action_that_moves_a_status(db_session):
    a = factories.make_agency("SC-A", "甲局")
    b = factories.make_agency("SC-B", "乙局")
    assert of(a.id) == {}
    c1 = make_case(a, None, date(2024, 6, 3), today=TODAY)
    c2 = make_case(a, None, date(2024, 6, 3), today=TODAY)
    make_case(b, None, date(2024, 6, 3), today=TODAY)
    assert of(a.id) == {R: 2} and of(b.id) == {R: 1}
    steps = [
        (c1, EventType.CORRECTION_REQUESTED, {}, {R: 1, AC: 1}),
        (c1, EventType.CORRECTION_RECEIVED, {}, {R: 2}),
        (c2, EventType.FEE_NOTICE, {"amount_yuan": Decimal(100)}, {R: 1, AF: 1}),
        (c2, EventType.FEE_PAID, {}, {R: 2}),
        (c1, EventType.CONSULTATION_STARTED, {"party": Party.THIRD_PARTY}, {R: 1, CO: 1}),
        (c1, EventType.CONSULTATION_ENDED, {}, {R: 2}),
        (c1, EventType.ANSWERED, {"outcome": Outcome.DISCLOSED}, {R: 1, CL: 1}),
        (c2, EventType.WITHDRAWN, {}, {CL: 2}),
    ]
    for day, (case, type_, kw, expected) in enumerate(steps, start=4):
        _act(case, type_, date(2024, 6, day), **kw)
        assert of(a.id) == expected, type_
        assert_counter_right()
    assert of(b.id) == {R: 1}          # another agency's untouched


def test_a_case_moved_to_another_agency_and_any_sql(db_session):
    """A handover's signing moves case.agency_id (handovers/services.sign; tests/signing runs it); the
    triggers, not the services: Core UPDATEs of many rows and a DELETE (what a psql session sends)."""
    a = factories.make_agency("SC-A", "甲局")
    b = factories.make_agency("SC-B", "乙局")
    cases = [make_case(a, None, date(2024, 6, 3), today=TODAY) for _ in range(4)]
    cases[0].agency_id = b.id                                   # what signing does
    assert (of(a.id), of(b.id)) == ({R: 3}, {R: 1})
    db.session.execute(update(Case).where(Case.id.in_([c.id for c in cases[1:3]]))
                       .values(status=AC, agency_id=b.id).execution_options(synchronize_session=False))
    assert (of(a.id), of(b.id)) == ({R: 1}, {R: 1, AC: 2})
    db.session.execute(update(Case).where(Case.agency_id == b.id).values(note="无关")
                       .execution_options(synchronize_session=False))     # no status moves: nothing
    assert (of(a.id), of(b.id)) == ({R: 1}, {R: 1, AC: 2})
    _purge(cases[1].id)
    assert (of(a.id), of(b.id)) == ({R: 1}, {R: 1, AC: 1})
    assert_counter_right()


def _purge(case_id: int) -> None:
    """Delete a case with its rows (no service deletes a case: a test database's purge, conftest
    empty_tables; on PostgreSQL case_event lets a purge through, trust/db_guards.py)."""
    if _on_pg():
        db.session.execute(text("SET LOCAL disclosure.allow_purge = 'on'"))
    for table in reversed(db.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name == "case" and table.name != "case":
                db.session.execute(delete(table).where(fk.parent == case_id))
    db.session.execute(delete(Case).where(Case.id == case_id).execution_options(synchronize_session=False))


@pytest.mark.parametrize("bulk", [False, True])
def test_the_interchange_import_one_by_one_and_in_bulk(db_session, bulk):
    """import_document: each case through the services, or new cases in batches (COPY on PostgreSQL:
    the statement triggers see them)."""
    doc = synth_doc(40, 2025, seed=5, code="GEN")
    import_document(doc, date(2026, 6, 30), bulk=bulk)
    got = assert_counter_right()
    assert sum(got.values()) == 40
    import_document(doc, date(2026, 6, 30), bulk=bulk)       # again: nothing new, the same counts
    assert assert_counter_right() == got


def test_the_flask_import_command_in_bulk(cli, db_session, tmp_path):
    from tests.reports.conftest import import_doc

    import_doc(cli, synth_doc(25, 2025, seed=7, code="GEN"), tmp_path)
    db.session.expire_all()
    assert sum(assert_counter_right().values()) == 25


# --- the dashboard reads it; the recount rebuilds it ---------------------------------------------

def _agency_cell(html: str, status: str) -> str:
    part = html.split("<h2>本机关案件</h2>", 1)[1]
    start = part.index(f'<td><a href="/cases?status={status}">') + len(f'<td><a href="/cases?status={status}">')
    return part[start:part.index("</a>", start)]


def test_the_dashboard_reads_the_counter_and_the_recount_restores_it(world, new_case, login, in_app, cli):
    for day in (3, 4, 5):
        new_case(world.a, date(2024, 6, day))
    new_case(world.b, date(2024, 6, 3))
    page = login(world.a.clerk).get("/").get_data(as_text=True)
    assert (_agency_cell(page, R), _agency_cell(page, CL)) == ("3", "0")

    in_app(assert_counter_right)

    def tamper(n: int) -> None:
        db.session.execute(update(CaseStatusCount).where(CaseStatusCount.agency_id == world.a.agency_id,
                                                         CaseStatusCount.status == R).values(n=n))
        db.session.commit()

    for n, shown in ((1000, "1000"), (1001, "1000+"), (123456, "1000+")):   # capped as a count is shown
        in_app(tamper, n)
        assert _agency_cell(login(world.a.clerk).get("/").get_data(as_text=True), R) == shown

    def drop_b() -> None:     # another agency's rows gone too (as after a TRUNCATE)
        db.session.execute(delete(CaseStatusCount).where(CaseStatusCount.agency_id == world.b.agency_id))
        db.session.commit()

    in_app(drop_b)
    res = cli.invoke(args=["cases", "recount-statuses"])
    assert res.exit_code == 0, res.output
    assert "2 counter rows" in res.output

    def check() -> None:
        assert of(world.a.agency_id) == {R: 3} and of(world.b.agency_id) == {R: 1}
        assert_counter_right()

    in_app(check)
    assert _agency_cell(login(world.a.clerk).get("/").get_data(as_text=True), R) == "3"


# --- PostgreSQL: at commit, without waits or deadlocks -------------------------------------------

def _setup_pg(app, statuses: list[str]) -> tuple[int, list[int], object]:
    with app.app_context():
        a = factories.make_agency("SC-PG", "甲局")
        cases = [make_case(a, None, date(2024, 6, 3), today=TODAY) for _ in statuses]
        db.session.flush()
        for c, s in zip(cases, statuses, strict=True):
            c.status = s
        db.session.commit()
        out = a.id, [c.id for c in cases], db.engine
        db.session.remove()
    return out


def _committed(app, aid: int) -> dict[str, int]:
    with app.app_context():
        c = CaseStatusCount
        out = dict(db.session.execute(select(c.status, c.n).where(c.agency_id == aid, c.n != 0)).all())
        assert db.session.scalar(select(func.count()).select_from(CaseStatusPending)) == 0
        assert_counter_right()
        db.session.remove()
    return out


def _move(conn, case_id: int, status: str) -> None:
    conn.execute(update(Case).where(Case.id == case_id).values(status=status))


@pytest.mark.pg
@pytest.mark.committed
@pytest.mark.parametrize("first", ["t1", "t2"])
def test_two_transactions_moving_cases_of_one_agency_in_opposite_directions(app, first):
    """Neither waits on the other before its commit (the second runs with a lock timeout while the
    first is open), whichever commits first; the counter is right after both."""
    aid, ids, engine = _setup_pg(app, [R, R, AC, AC])
    assert _committed(app, aid) == {R: 2, AC: 2}
    with engine.connect() as t1, engine.connect() as t2:
        t1.begin()
        _move(t1, ids[0], AC)              # registered -> awaiting_correction
        t2.begin()
        t2.execute(text("SET LOCAL lock_timeout = '2s'"))
        _move(t2, ids[2], R)               # awaiting_correction -> registered
        _move(t2, ids[3], R)
        (t1 if first == "t1" else t2).commit()
        (t2 if first == "t1" else t1).commit()
    assert _committed(app, aid) == {R: 3, AC: 1}


def _commit_while_held(holder, hold: str, params: dict, *conns, stagger: float = 0.0) -> list[str]:
    """Commit each of ``conns`` in a thread of its own (``stagger`` seconds apart) while ``holder`` holds
    the rows ``hold`` locks, then release them: the commits reach their commit-time step together. The
    commits' errors (first lines: a deadlock aborts one)."""
    errors: list[BaseException] = []

    def commit(conn) -> None:
        try:
            conn.commit()
        except BaseException as exc:     # reported by the caller's assertion
            errors.append(exc)

    holder.begin()
    holder.execute(text(hold), params)
    threads = [threading.Thread(target=commit, args=(conn,)) for conn in conns]
    for thread in threads:
        thread.start()
        time.sleep(stagger)
    time.sleep(0.5)              # the commits now wait for the held rows
    holder.commit()
    for thread in threads:
        thread.join(timeout=30)
    return [str(e).splitlines()[0] for e in errors]


@pytest.mark.pg
@pytest.mark.committed
def test_opposite_transactions_committing_at_once_do_not_deadlock(app):
    """Both reach the counter rows at the same moment (a third transaction holds them while the two
    commit): each adds its changes in (agency, status) order, so neither holds one row while waiting
    for the other's; in the order of their changes (registered then awaiting_correction for one, the
    reverse for the other) PostgreSQL would abort one as a deadlock."""
    aid, ids, engine = _setup_pg(app, [R, R, AC, AC])
    with engine.connect() as holder, engine.connect() as t1, engine.connect() as t2:
        t1.begin()
        _move(t1, ids[0], AC)
        t2.begin()
        _move(t2, ids[2], R)
        errors = _commit_while_held(holder, "SELECT 1 FROM case_status_count WHERE agency_id = :a FOR UPDATE",
                                    {"a": aid}, t1, t2)
    assert errors == []
    assert _committed(app, aid) == {R: 2, AC: 2}


@pytest.mark.pg
@pytest.mark.committed
def test_a_rolled_back_transaction_leaves_the_counter(app):
    aid, ids, engine = _setup_pg(app, [R, R, AC])
    with engine.connect() as t1:
        t1.begin()
        _move(t1, ids[0], CL)
        _move(t1, ids[2], R)
        pending = t1.execute(select(CaseStatusPending.status, CaseStatusPending.n)).all()
        assert sorted(pending) == [(AC, -1), (CL, 1), (R, 0)]     # its own rows, until its commit
        t1.rollback()
    assert _committed(app, aid) == {R: 2, AC: 1}


# --- the migration -------------------------------------------------------------------------------

def test_the_migration_counts_the_cases_there_and_keeps_counting(empty_database_url):  # noqa: F811
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    from config import TestConfig
    from webapp import create_app
    from webapp.demo import seed

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="20261205_case_number_prefix")
        seed(20, today=date(2024, 6, 10))
        db.session.commit()
        upgrade(directory=str(MIGRATIONS))
        got = assert_counter_right()
        assert sum(got.values()) == db.session.scalar(select(func.count()).select_from(Case)) > 0
        case = db.session.scalar(select(Case).order_by(Case.id).limit(1))
        old, new = str(case.status), (R if case.status == CL else CL)
        case.status = new
        db.session.commit()
        expected = {**got, (case.agency_id, old): got[(case.agency_id, old)] - 1,
                    (case.agency_id, new): got.get((case.agency_id, new), 0) + 1}
        assert assert_counter_right() == {k: n for k, n in expected.items() if n}
        db.session.remove()
        # a later migration that rebuilds "case" in batch mode (SQLite: a new table) keeps the triggers
        # as 20261205_one_due_date's _recreate does, and the counter goes on counting
        path = MIGRATIONS / "versions" / "20261205_one_due_date.py"
        spec = importlib.util.spec_from_file_location("one_due_date", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with db.engine.begin() as conn:
            before = _triggers_on_case(conn)
            assert set(TRIGGERS) <= set(before)
            with Operations.context(MigrationContext.configure(conn)):
                module._recreate(lambda batch_op: batch_op.create_check_constraint("ck_case_test", "id > 0"))
            assert _triggers_on_case(conn) == before
        case = db.session.get(Case, case.id)
        case.status = old
        db.session.commit()
        assert assert_counter_right() == got
        db.session.remove()
        downgrade(directory=str(MIGRATIONS), revision="20261205_case_number_prefix")
        names = db.session.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'case_status%'" if _on_pg() else
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'case_status%'")).scalars().all()
        assert names == []
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.pg
@pytest.mark.committed
def test_a_commit_raises_the_report_stamps_before_the_counters_whichever_it_wrote_first(app):
    """The two commit-time folds (report_stamp_commit, case_status_commit) lock the same agency's stamp
    and counters: a transaction that marked the report first (an item changed) and one that changed a
    status first (a case answered in one UPDATE) committing at once each held what the other waited
    for (a deadlock, found by a review). The counter's fold raises the stamps first, so every commit
    takes the stamp before the counters."""
    aid, ids, engine = _setup_pg(app, ["registered", "registered"])
    with engine.connect() as holder, engine.connect() as t1, engine.connect() as t2:
        t1.begin()      # the report's mark first (an item), then a status (the counter's deltas)
        t1.execute(text("UPDATE case_item SET outcome = outcome WHERE case_id = :c"), {"c": ids[0]})
        t1.execute(text("UPDATE \"case\" SET status = 'awaiting_correction' WHERE id = :c"), {"c": ids[0]})
        t2.begin()      # a case answered in one UPDATE: the counter's deltas first, then the report's mark
        t2.execute(text("UPDATE \"case\" SET status = 'closed', closed_on = '2024-06-20' WHERE id = :c"),
                   {"c": ids[1]})
        # the stamp held so that both commits reach their folds together
        errors = _commit_while_held(holder, "SELECT 1 FROM report_stamp WHERE agency_id = :a FOR UPDATE",
                                    {"a": aid}, t1, t2, stagger=0.5)
    assert errors == []
    with app.app_context():
        assert_counter_right()
        db.session.remove()
