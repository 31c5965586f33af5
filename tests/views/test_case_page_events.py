"""Issue 15: the case page reads the case's events as plain rows (cases.page_reads.case_events: EventRow,
the columns the page shows), not as the ORM's collection, and shows the same as from the collection."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import inspect

from webapp.cases.page_reads import EventRow, case_events
from webapp.extensions import db
from webapp.models import Case

from .test_request_path import _read


def test_case_events_rows_equal_the_collection_and_leave_it_unloaded(world, new_case, in_app):
    cid = new_case(world.a, date(2024, 6, 3))

    def read():
        case = db.session.get(Case, cid)
        rows = case_events(case)
        unloaded = "events" in inspect(case).unloaded
        entities = [tuple(getattr(e, n) for n in EventRow._fields) for e in case.events]
        return rows, unloaded, entities, case_events(case) is case.events
    rows, unloaded, entities, loaded_given = in_app(read)
    assert unloaded and all(type(r) is EventRow for r in rows)
    assert [tuple(r) for r in rows] == entities and len(entities) >= 1
    assert entities[0][2] == "received" and isinstance(entities[0][4], dict)
    assert loaded_given      # once the collection is loaded (a refused post's page), it is the one read


def test_case_page_reads_the_events_columns_once(app, world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3))
    seen, page = _read(app, login(world.a.clerk), f"/cases/{cid}")
    events = [s for s in seen if re.search(r"FROM case_event\b", s)]
    # one statement, the page's columns only (the collection's lazy load read every column: hash, prev_hash)
    assert len(events) == 1 and "case_event.hash" not in events[0] and "case_event.seq" in events[0]
    assert 'class="tl-item tl-workflow tl-received"' in page
