"""The tamper-evident case history: no update or delete through the service (ORM guard) nor, on
PostgreSQL, by SQL (trigger); `flask audit verify` names the first broken link; corrections are new
events that reference what they correct."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, select, text, update

from tests.conftest import using_postgresql
from tests.factories import agency_case
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Case, CaseEvent, User
from webapp.trust.audit_verify import correct_event, verify_chains
from webapp.trust.db_guards import CASE_EVENT_TRIGGER_DROP_SQL, CASE_EVENT_TRIGGER_SQL, HistoryTampering

# tampers with case_event through connections of its own (the trigger, audit verify)
pytestmark = pytest.mark.committed


@pytest.fixture
def case_id(app, world, today):
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today, events=[
            Event(EventType.CORRECTION_REQUESTED, date(2024, 6, 4)),
            Event(EventType.CORRECTION_RECEIVED, date(2024, 6, 6)),
            Event(EventType.EXTENDED, date(2024, 6, 7), days=10),   # approver: payload set before the flush
        ])
        db.session.commit()
        return case.id


def _events(case_id):
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


def test_orm_refuses_changing_or_deleting_a_recorded_event(app, case_id):
    with app.app_context():
        ev = _events(case_id)[1]
        assert ev.payload["reply_by"]   # the extension above went through: pending objects are fine
        ev.on = date(2024, 6, 5)
        with pytest.raises(HistoryTampering, match="append-only"):
            db.session.flush()
        db.session.rollback()
        ev = _events(case_id)[2]
        ev.payload = {**ev.payload, "note": "edited"}
        with pytest.raises(HistoryTampering):
            db.session.commit()
        db.session.rollback()
        db.session.delete(_events(case_id)[0])
        with pytest.raises(HistoryTampering, match="deleted"):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(HistoryTampering, match="bulk"):
            db.session.execute(update(CaseEvent).where(CaseEvent.case_id == case_id).values(actor_name="x"))
        with pytest.raises(HistoryTampering, match="bulk"):
            db.session.execute(delete(CaseEvent).where(CaseEvent.case_id == case_id))
        db.session.rollback()
        assert [e.seq for e in _events(case_id)] == [1, 2, 3, 4]
        assert verify_chains().ok


def test_an_unchanged_dirty_event_is_not_refused(app, case_id):
    with app.app_context():
        ev = _events(case_id)[0]
        ev.actor_name = ev.actor_name   # the same value: no change to refuse
        db.session.commit()


@pytest.mark.pg
@pytest.mark.parametrize("sql", [
    "UPDATE case_event SET payload = '{}'",
    "UPDATE case_event SET hash = 'x' WHERE seq = 1",
    "DELETE FROM case_event WHERE seq = 4",
    "TRUNCATE case_event CASCADE",
])
def test_postgresql_trigger_refuses_update_and_delete_by_sql(app, case_id, sql):
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError, match="case_event is append-only"), db.engine.begin() as conn:
            conn.execute(text(sql))
        assert [e.seq for e in _events(case_id)] == [1, 2, 3, 4]
        assert verify_chains().ok


@pytest.mark.pg
def test_postgresql_purge_setting_allows_delete_but_never_update(app, case_id):
    with app.app_context():
        with db.engine.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL disclosure.allow_purge = 'on'"))
            with pytest.raises(sa.exc.DBAPIError, match="UPDATE refused"):
                conn.execute(text("UPDATE case_event SET actor_name = 'x'"))
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL disclosure.allow_purge = 'on'"))
            assert conn.execute(text("DELETE FROM case_event WHERE seq = 4")).rowcount == 1
        # SET LOCAL ended with its transaction
        with pytest.raises(sa.exc.DBAPIError, match="DELETE refused"), db.engine.begin() as conn:
            conn.execute(text("DELETE FROM case_event"))


@pytest.mark.pg
def test_trigger_sql_constant_is_reusable_by_a_migration(app):
    """The statements run again with plain text() (as op.execute does): idempotent, no % or :binds."""
    with app.app_context(), db.engine.begin() as conn:
        for stmt in CASE_EVENT_TRIGGER_DROP_SQL + CASE_EVENT_TRIGGER_SQL:
            conn.execute(text(stmt))
        names = set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'case_event'::regclass "
                                      "AND NOT tgisinternal")).scalars())
    assert names == {"case_event_append_only_rows", "case_event_append_only_truncate"}


def tamper(sql: str, **params) -> None:
    """Change the history behind the service's back (what an attacker with the database would do)."""
    with db.engine.begin() as conn:
        if using_postgresql():
            conn.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only_rows"))
        conn.execute(text(sql), params)
        if using_postgresql():
            conn.execute(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only_rows"))


def test_audit_verify_passes_on_an_intact_history(app, cli, case_id):
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: 1 cases, 4 events, every chain intact and every case matches its events (")


@pytest.mark.parametrize(("sql", "seq", "problem"), [
    # content changed: the row's own hash no longer matches
    ("UPDATE case_event SET \"on\" = '2024-06-05' WHERE case_id = :c AND seq = 3", 3, "content no longer matches"),
    # content and hash recomputed by the attacker: the next event's link breaks
    ("UPDATE case_event SET hash = 'f00d' WHERE case_id = :c AND seq = 2", 2, "content no longer matches"),
    ("UPDATE case_event SET prev_hash = 'f00d' WHERE case_id = :c AND seq = 4", 4, "does not link"),
    # an event removed from the middle
    ("DELETE FROM case_event WHERE case_id = :c AND seq = 2", 3, "gap or a repeat"),
])
def test_audit_verify_names_the_first_broken_link(app, cli, case_id, sql, seq, problem):
    with app.app_context():
        number = db.session.get(Case, case_id).number
        tamper(sql, c=case_id)
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert f"BROKEN: case {number}, event seq {seq}: " in r.output and problem in r.output
    assert f"(first: case {number}, seq {seq})" in r.output


def test_audit_verify_detects_a_rehashed_forgery(app, cli, case_id):
    """An attacker who rewrites an event and recomputes its hash still breaks the next link."""
    from webapp.cases.services import event_hash

    with app.app_context():
        ev = _events(case_id)[1]
        db.session.expunge(ev)
        ev.payload = {**ev.payload, "reply_by": "2024-12-31"}
        forged = event_hash(ev.prev_hash, ev)
        number = db.session.get(Case, case_id).number
        tamper("UPDATE case_event SET payload = :p, hash = :h WHERE case_id = :c AND seq = 2",
               p=__import__("json").dumps(ev.payload), h=forged, c=case_id)
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert f"case {number}, event seq 3: it does not link" in r.output


def test_correction_is_a_new_event_referencing_the_mistake(app, case_id, world, today):
    with app.app_context():
        case = db.session.get(Case, case_id)
        before = (case.status, case.due_on, case.version)
        wrong = _events(case_id)[2]
        clerk = db.session.get(User, world.a.users["clerk"])
        ev = correct_event(case, wrong, "补正材料实际于6月7日收到，登记日期有误", clerk)
        db.session.commit()
        assert (ev.seq, ev.type, ev.corrects_event_id, ev.actor_id) == (5, "correction_note", wrong.id, clerk.id)
        assert ev.payload == {"reason": "补正材料实际于6月7日收到，登记日期有误", "corrects_seq": 3,
                              "corrects_type": "correction_received"}
        case = db.session.get(Case, case_id)
        assert (case.status, case.due_on) == before[:2]   # the clock is not rewritten
        assert wrong.on == date(2024, 6, 6)               # nor the event
        assert verify_chains().ok
        other = agency_case(world.b.agency_id, date(2024, 6, 3), today)
        from webapp.errors import ServiceError

        with pytest.raises(ServiceError) as e:
            correct_event(other, wrong, "x", clerk)
        assert e.value.rule == "correction.case"
        with pytest.raises(ServiceError) as e:
            correct_event(case, wrong, "   ", clerk)
        assert e.value.rule == "correction.reason"


def test_fee_amounts_and_json_payloads_hash_the_same_after_a_round_trip(app, world, today):
    """A decimal fee and nested payloads come back from JSON/JSONB with the same hash."""
    with app.app_context():
        agency_case(world.a.agency_id, date(2024, 6, 3), today,
                  events=[Event(EventType.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal("1700.5"))])
        db.session.commit()
    with app.app_context():
        assert verify_chains().ok
