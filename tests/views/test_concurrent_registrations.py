"""Two registrations at the same moment, of two agencies or of one, each get a case id and a number of
their own: they take turns from the agency lock on, before reading the last number and drawing the id
(cases/services/registration.py: on SQLite a write that changes no row takes the database's write
lock; on PostgreSQL the agency's row and the case sequence)."""

from __future__ import annotations

import contextlib
import threading
from datetime import date

import pytest

from tests.factories import make_agency, person
from webapp.cases.services import registration
from webapp.extensions import db
from webapp.models import Agency, Case

pytestmark = pytest.mark.committed


@pytest.mark.parametrize("same_agency", [False, True])
def test_registrations_at_once_get_their_own_ids_and_numbers(app, monkeypatch, same_agency):
    with app.app_context():
        a1, a2 = make_agency("AAA", "甲局"), make_agency("BBB", "乙局")
        db.session.commit()
        ids = (a1.id, a2.id)
        db.session.remove()
    both_drawn = threading.Barrier(2)
    real_case = Case

    class WaitingCase:
        """registration.Case: building the case row waits until the other registration has built its own
        (both have drawn their id and number), unless the other waits on the lock (taking turns)."""

        def __call__(self, **kw):
            with contextlib.suppress(threading.BrokenBarrierError):    # the other waits on the lock
                both_drawn.wait(timeout=3)
            return real_case(**kw)

        def __getattr__(self, name):
            return getattr(real_case, name)

    monkeypatch.setattr(registration, "Case", WaitingCase())
    errors, done = [], []

    def register(agency_id: int, body: str) -> None:
        with app.app_context():
            try:
                agency = db.session.get(Agency, agency_id)
                case = registration.register_case(agency, person(body=body), ["预算"], "in_person",
                                                  date(2025, 3, 3), today=date(2025, 3, 3))
                db.session.commit()
                done.append((case.id, case.number))
            except Exception as e:      # the failure is what the test reports
                errors.append(repr(e))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(ids[0], "37030519800101001")),
               threading.Thread(target=register, args=(ids[0] if same_agency else ids[1], "37030519800101002"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({i for i, _ in done}) == 2 and len({n for _, n in done}) == 2
