"""Two processes act on the same case at once, 200 rounds on PostgreSQL: no lost event, no broken chain,
and each loser is told to reload (ConflictError) while the winner's event stands."""

from __future__ import annotations

import multiprocessing
from datetime import date

import pytest
from sqlalchemy import select

from tests.trust.concurrency_worker import work
from tests.trust.world import make_case
from webapp.extensions import db
from webapp.models import Case, CaseEvent
from webapp.services.audit_verify import verify_chains

ROUNDS = 200


@pytest.mark.pg
@pytest.mark.slow
def test_two_processes_on_one_case_lose_nothing(app, world, today, database_url):
    with app.app_context():
        case = make_case(world.a.agency_id, date(2024, 6, 3), today)
        db.session.commit()
        case_id = case.id
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    with ctx.Pool(2) as pool:
        jobs = [pool.apply_async(work, (name, database_url, case_id, world.a.users[role], ROUNDS, barrier, today))
                for name, role in (("a", "clerk"), ("b", "approver"))]
        a, b = (j.get(timeout=600) for j in jobs)

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
        assert [e.type for e in events[1:]] == ["consultation_started"] * ROUNDS
        notes = [e.payload["note"] for e in events[1:]]
        won = {f"{'a' if r in a else 'b'}-{r[1]}" for r in winners}
        assert set(notes) == won and len(notes) == ROUNDS
        assert verify_chains().ok
        case = db.session.get(Case, case_id)
        assert case.status == "consulting" and case.version == winners[-1][2] + 1
