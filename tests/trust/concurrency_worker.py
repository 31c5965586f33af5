"""One of two processes acting on the same case at once (tests/trust/test_concurrency.py).

Each round both processes read the case, meet at a barrier (so both hold the same version), then
record a consultation letter through the service with that version and commit. Exactly one may win;
the other must get a ConflictError ("reload") and leave nothing behind."""

from __future__ import annotations

from datetime import date
from typing import Any


def work(name: str, url: str, case_id: int, actor_id: int, rounds: int, barrier, today: date,
         mode: str = "letters") -> list[Any]:
    """mode "letters": every round a further consultation letter (the case's derived columns stay
    the same); "toggle": a consultation starts, the next round it ends, and so on (the state changes)."""
    from config import TestConfig
    from webapp import create_app
    from webapp.cases.services import record_event
    from webapp.domain.workflow import Event, EventType, Party
    from webapp.errors import ConflictError
    from webapp.extensions import db
    from webapp.models import Case, User

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    results: list[Any] = []
    with app.app_context():
        for i in range(rounds):
            db.session.remove()
            case = db.session.get(Case, case_id)
            actor = db.session.get(User, actor_id)
            version = case.version
            _ = list(case.events), case.agency.policy()
            barrier.wait(timeout=60)                  # both have read the same version
            try:
                etype = EventType.CONSULTATION_STARTED
                if mode == "toggle" and case.status == "consulting":
                    etype = EventType.CONSULTATION_ENDED
                party = (Party.THIRD_PARTY if name == "a" else Party.AGENCY) \
                    if etype is EventType.CONSULTATION_STARTED else None
                record_event(case, Event(etype, date(2024, 6, 5), party=party),
                             actor, today=today, expected_version=version, note=f"{name}-{i}")
                db.session.commit()
                results.append(("won", i, version))
            except ConflictError as e:
                db.session.rollback()
                results.append(("conflict", i, e.message_zh))
            except Exception as e:   # anything else is a failure the test reports
                db.session.rollback()
                results.append(("error", i, f"{type(e).__name__}: {e}"[:300]))
            barrier.wait(timeout=60)                  # the round is over for both
        db.session.remove()
        db.engine.dispose()
    return results


def run(queue, name: str, *args: Any) -> None:
    """Process entry point: put (name, results) on the queue, also when the work itself fails."""
    try:
        queue.put((name, work(name, *args)))
    except BaseException as e:
        queue.put((name, [("error", -1, f"{type(e).__name__}: {e}")]))
        raise
