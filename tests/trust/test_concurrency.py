"""Two processes act on the same case at once, 200 rounds on PostgreSQL: no lost event, no broken chain,
and each loser is told to reload (ConflictError) while the winner's event stands."""

from __future__ import annotations

import multiprocessing
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import agency_case
from tests.trust.concurrency_worker import run
from webapp.extensions import db
from webapp.models import Case, CaseEvent
from webapp.trust.audit_verify import verify_chains

# two processes, each with its own connection
pytestmark = pytest.mark.committed

ROUNDS = 200


@pytest.mark.pg
@pytest.mark.slow
def test_two_processes_changing_the_state_lose_nothing(app, world, today, database_url):
    """Each round one of them starts or ends a consultation: the state changes with every event."""
    _race(app, world, today, database_url, "toggle")


@pytest.mark.pg
@pytest.mark.slow
def test_two_processes_adding_letters_lose_nothing(app, world, today, database_url):
    """Each round one of them adds a consultation letter: the case's derived columns stay the same."""
    _race(app, world, today, database_url, "letters")


def _race(app, world, today, database_url, mode: str) -> None:
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today)
        db.session.commit()
        case_id = case.id
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=run, args=(results, name, database_url, case_id, world.a.users[role], ROUNDS,
                                           barrier, today, mode))
             for name, role in (("a", "clerk"), ("b", "approver"))]
    for p in procs:
        p.start()
    got = dict(results.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    a, b = got["a"], got["b"]

    errors = [r for r in a + b if r[0] == "error"]
    assert errors == []
    for i in range(ROUNDS):
        outcome = sorted((a[i][0], b[i][0]))
        assert outcome == ["conflict", "won"], (i, a[i], b[i])
    losers = [r for r in a + b if r[0] == "conflict"]
    assert len(losers) == ROUNDS
    assert {r[2] for r in losers} == {"该案件已被他人修改，请刷新页面后重试。"}
    winners = sorted((r for r in a + b if r[0] == "won"), key=lambda r: r[1])
    # each round's winner held the version of that round: the versions advance one by one
    assert [r[2] for r in winners] == list(range(winners[0][2], winners[0][2] + ROUNDS))

    with app.app_context():
        events = list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                         .order_by(CaseEvent.seq)))
        assert [e.seq for e in events] == list(range(1, ROUNDS + 2))      # received + one per round
        if mode == "letters":
            assert [e.type for e in events[1:]] == ["consultation_started"] * ROUNDS
        else:
            assert [e.type for e in events[1:]] == ["consultation_started", "consultation_ended"] * (ROUNDS // 2)
        notes = [e.payload["note"] for e in events[1:]]
        won = {f"{'a' if r in a else 'b'}-{r[1]}" for r in winners}
        assert set(notes) == won and len(notes) == ROUNDS
        assert verify_chains().ok
        case = db.session.get(Case, case_id)
        assert case.status == ("consulting" if mode == "letters" else "registered")
        assert case.version == winners[-1][2] + 1
