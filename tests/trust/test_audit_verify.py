"""`flask audit verify` catches what changes a report: a derived column or an item outcome changed in
place (replayed from the events), the newest event deleted (the case's keyed head), an event rewritten
with its hash recomputed (the chain is keyed with the installation's audit key, not in the database);
`flask audit rekey` puts an installation made before the key under it once."""

from __future__ import annotations

import json
import os
import stat
from datetime import date

import pytest
from sqlalchemy import select, text

from tests.factories import agency_case
from tests.trust.test_history import tamper
from webapp.cases.services import head_mac, legacy_event_hash
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Case, CaseEvent, CaseItem
from webapp.trust.audit_key import instance_audit_key
from webapp.trust.audit_verify import verify_chains

# tampers with the history through a connection of its own (past the ORM guards)
pytestmark = pytest.mark.committed


@pytest.fixture
def case_id(app, world, today):
    with app.app_context():
        agency_case(world.a.agency_id, date(2024, 5, 6), today)   # a second, untouched case
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today, items=["甲文件", "乙文件"], events=[
            Event(EventType.CORRECTION_REQUESTED, date(2024, 6, 4)),
            Event(EventType.CORRECTION_RECEIVED, date(2024, 6, 6)),
            Event(EventType.ANSWERED, date(2024, 6, 7), outcome=Outcome.DISCLOSED),
        ])
        db.session.commit()
        assert (case.event_count, case.status, case.outcome) == (4, "closed", "disclosed")
        return case.id


def _tamper(app, sql: str, **params) -> None:
    with app.app_context():
        tamper(sql, **params)


def _number(app, case_id) -> str:
    with app.app_context():
        return db.session.get(Case, case_id).number


def test_an_untouched_database_verifies(app, cli, case_id):
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok: 2 cases, 5 events, every chain intact and every case matches its events")


def test_a_derived_column_changed_in_place_is_named(app, cli, case_id):
    number = _number(app, case_id)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text('UPDATE "case" SET outcome = :o WHERE id = :c'), {"o": "withheld.state_secret", "c": case_id})
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert (f"BROKEN: case {number}, field outcome: stored 'withheld.state_secret', the events give 'disclosed' / "
            f"案件 {number} 的「办理结果」与事件记录不符（库中为 'withheld.state_secret'，"
            "按事件应为 'disclosed'）") in r.output
    assert f"1 of 2 cases do not verify (first: case {number}, field outcome)" in r.output


def test_status_due_date_and_item_outcome_changed_are_each_named(app, cli, case_id):
    number = _number(app, case_id)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text('UPDATE "case" SET status = :s, closed_on = NULL WHERE id = :c'),
                     {"s": "registered", "c": case_id})
        conn.execute(text("UPDATE case_item SET outcome = :o WHERE case_id = :c AND position = 1"),
                     {"o": "unavailable.not_held", "c": case_id})
    with app.app_context():
        result = verify_chains()
        found = [(b.case_number, b.problem, b.field, b.stored, b.expected) for b in result.broken]
    assert found == [(number, "derived", "closed_on", None, date(2024, 6, 7)),
                     (number, "derived", "status", "registered", "closed"),
                     (number, "item", "2", "unavailable.not_held", "disclosed")]
    r = cli.invoke(args=["audit", "verify"])
    assert (f"case {number}, field item 2 outcome: stored 'unavailable.not_held', "
            "the events give 'disclosed'") in r.output
    assert "第2项申请内容的办理结果" in r.output


def test_the_last_event_deleted_is_seen(app, cli, case_id):
    number = _number(app, case_id)
    _tamper(app, "DELETE FROM case_event WHERE case_id = :c AND seq = 4", c=case_id)
    # ... and the case row made to agree with the remaining events, as far as one can without the key
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text('UPDATE "case" SET event_count = 3, status = :s, outcome = NULL, closed_on = NULL, '
                          "late = NULL, days_to_answer = NULL WHERE id = :c"), {"s": "registered", "c": case_id})
        conn.execute(text("UPDATE case_item SET outcome = NULL WHERE case_id = :c"), {"c": case_id})
    with app.app_context():
        problems = [(b.problem, b.seq) for b in verify_chains().broken]
    assert ("head", 3) in problems
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert f"BROKEN: case {number}, event seq 3: the case's history head does not match its events" in r.output


def test_the_last_event_deleted_alone_is_seen(app, cli, case_id):
    number = _number(app, case_id)
    _tamper(app, "DELETE FROM case_event WHERE case_id = :c AND seq = 4", c=case_id)
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert f"BROKEN: case {number}, event seq 4: the case's history head does not match" in r.output
    assert f"case {number}, field status: stored 'closed', the events give 'registered'" in r.output


def test_an_event_rewritten_with_its_hash_recomputed_the_old_way_is_seen(app, cli, case_id):
    """The attacker knows the formula but not the key: the unkeyed hash does not verify."""
    number = _number(app, case_id)
    with app.app_context():
        ev = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 4))
        db.session.expunge(ev)
        ev.payload = {**ev.payload, "outcome": "withheld.state_secret"}
        forged = legacy_event_hash(ev.prev_hash, ev)
    _tamper(app, "UPDATE case_event SET payload = :p, hash = :h WHERE case_id = :c AND seq = 4",
           p=json.dumps(ev.payload), h=forged, c=case_id)
    with app.app_context(), db.engine.begin() as conn:    # and the case and items made to agree with the forged answer
        conn.execute(text('UPDATE "case" SET outcome = :o WHERE id = :c'), {"o": "withheld.state_secret", "c": case_id})
        conn.execute(text("UPDATE case_item SET outcome = :o WHERE case_id = :c"),
                     {"o": "withheld.state_secret", "c": case_id})
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert (f"BROKEN: case {number}, event seq 4: its content no longer matches its hash "
            "(the row was changed)") in r.output
    assert f"(first: case {number}, seq 4)" in r.output


def test_a_chain_under_another_key_does_not_verify(app, case_id):
    with app.app_context():
        app.extensions["disclosure.audit_key"] = b"somebody-elses-key-0123"
        try:
            assert {b.problem for b in verify_chains().broken} == {"hash"}
        finally:
            del app.extensions["disclosure.audit_key"]
        assert verify_chains().ok


def _make_legacy(app, case_ids: list[int]) -> None:
    """The installation as it was before the audit key: unkeyed chains and no heads."""
    rows = []
    with db.engine.connect() as conn:
        for cid in case_ids:
            prev = ""
            for ev in conn.execute(text("SELECT * FROM case_event WHERE case_id = :c ORDER BY seq"), {"c": cid}):
                ev = ev._mapping
                obj = type("E", (), {})()
                for k, v in ev.items():
                    setattr(obj, k, v)
                obj.payload = json.loads(ev["payload"]) if isinstance(ev["payload"], str) else ev["payload"]
                obj.on = date.fromisoformat(ev["on"]) if isinstance(ev["on"], str) else ev["on"]
                for k in ("due_before", "due_after"):
                    v = getattr(obj, k)
                    setattr(obj, k, date.fromisoformat(v) if isinstance(v, str) else v)
                h = legacy_event_hash(prev, obj)
                rows.append((ev["id"], prev, h))
                prev = h
    for ident, prev, h in rows:
        tamper("UPDATE case_event SET prev_hash = :p, hash = :h WHERE id = :i", p=prev, h=h, i=ident)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE \"case\" SET event_count = 0, head_mac = ''"))


def test_rekey_puts_an_old_installation_under_the_key_once(app, cli, case_id):
    with app.app_context():
        ids = list(db.session.scalars(select(Case.id)))
    with app.app_context():
        _make_legacy(app, ids)
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert "the chain is under the old unkeyed formula: run `flask audit rekey` once" in r.output
    assert "2 cases are still under the unkeyed chain" in r.output
    r = cli.invoke(args=["audit", "rekey"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "re-keyed 2 cases (5 events in all; 0 were keyed already)"
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        case = db.session.get(Case, case_id)
        last = db.session.scalar(select(CaseEvent.hash).where(CaseEvent.case_id == case_id, CaseEvent.seq == 4))
        assert (case.event_count, case.head_mac) == (4, head_mac(case_id, 4, last))
    r = cli.invoke(args=["audit", "rekey"])
    assert r.output.strip() == "re-keyed 0 cases (5 events in all; 2 were keyed already)"


def test_rekey_refuses_a_broken_history_and_changes_nothing(app, cli, case_id):
    with app.app_context():
        ids = list(db.session.scalars(select(Case.id)))
    with app.app_context():
        _make_legacy(app, ids)
    _tamper(app, "UPDATE case_event SET actor_name = 'x' WHERE case_id = :c AND seq = 2", c=case_id)
    with app.app_context():
        before = list(db.session.scalars(select(CaseEvent.hash).order_by(CaseEvent.id)))
    r = cli.invoke(args=["audit", "rekey"])
    assert r.exit_code == 1
    assert f"1 case histories are broken (e.g. {_number(app, case_id)}): nothing re-keyed" in r.output
    with app.app_context():
        assert list(db.session.scalars(select(CaseEvent.hash).order_by(CaseEvent.id))) == before


def test_the_instance_key_is_made_once_owner_only(tmp_path):
    key = instance_audit_key(tmp_path / "instance")
    path = tmp_path / "instance" / "audit_key"
    assert len(key) >= 32 and path.read_text().strip() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert instance_audit_key(tmp_path / "instance") == key


def test_items_keep_their_own_outcomes(app, world, today):
    """A multi-item answer: each item's outcome comes from the answered event's item_outcomes."""
    from webapp.cases.services import record_event

    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today, items=["甲", "乙"])
        record_event(case, Event(EventType.ANSWERED, date(2024, 6, 5)), None, today=today,
                     item_outcomes=["disclosed", "unavailable.not_held"], main_ground="disclosed")
        db.session.commit()
        assert [i.outcome for i in db.session.scalars(select(CaseItem).where(CaseItem.case_id == case.id)
                                                      .order_by(CaseItem.position))] == ["disclosed",
                                                                                         "unavailable.not_held"]
        assert verify_chains().ok


def test_a_case_derived_under_an_earlier_calendar_gets_notes_for_its_calendar_columns(app, cli, case_id):
    """`late` changed on a case derived under another calendar version: a NOTE naming it, not a failure;
    its outcome changed: still a failure."""
    number = _number(app, case_id)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text('UPDATE "case" SET calendar_version = :v, late = :t WHERE id = :c'),
                     {"v": "cal-older00000", "t": True, "c": case_id})
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 0, r.output
    assert (f"NOTE (derived under an earlier calendar): case {number}, field late: stored True, "
            "the events give False") in r.output
    assert "note: 1 cases were derived under an earlier calendar" in r.output
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text('UPDATE "case" SET outcome = :o WHERE id = :c'), {"o": "partial", "c": case_id})
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1 and f"BROKEN: case {number}, field outcome: stored 'partial'" in r.output


def test_rekey_accepts_events_appended_under_the_key_before_it_ran(app, cli, world, today):
    """Upgraded, used for a day, then re-keyed: the old events are unkeyed, the new ones keyed."""
    from webapp.cases.services import record_event

    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today)
        db.session.commit()
        cid = case.id
        _make_legacy(app, [cid])
    with app.app_context():
        case = db.session.get(Case, cid)
        record_event(case, Event(EventType.ANSWERED, date(2024, 6, 5), outcome=Outcome.DISCLOSED), None, today=today)
        db.session.commit()
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1 and "under the old unkeyed formula" in r.output
    r = cli.invoke(args=["audit", "rekey"])
    assert r.exit_code == 0, r.output
    assert cli.invoke(args=["audit", "verify"]).exit_code == 0
