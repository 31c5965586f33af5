"""Issue 15 (closed-loop load), the dashboard as one statement (webapp/cases/dashboard._statement):
its five lists and the cases of each status, mine and the agency's, in one UNION ALL built once per
process, every user's and day's values bound as parameters (on PostgreSQL the agencies and dates written
into its text at each execution); a government's scope (its departments)
and an agency's each get their own rows and counts from the same statement text."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event

from webapp.extensions import db

from .test_dashboard import numbers, section
from .test_province_scale import _government, statements


def _counts(page: str) -> tuple[dict[str, int], dict[str, int]]:
    found = re.findall(r'<td><a href="/cases\?status=(\w+)(&amp;mine=y)?">(\d+)</a></td>', page)
    return {s: int(n) for s, m, n in found if m}, {s: int(n) for s, m, n in found if not m}


def _dashboard(app, client) -> tuple[str, list[str]]:
    with statements(app) as seen:
        r = client.get("/")
    assert r.status_code == 200
    return r.text, [s for s in seen if "paused_due_on <" in s]


def test_every_scope_reads_its_own_rows_and_counts_from_one_statement(app, world, new_case, login, in_app):
    gov_clerk = _government(in_app, world)
    first = new_case(world.a, date(2024, 4, 15))            # LZ-SWJ-2024-0001, overdue
    new_case(world.a, date(2024, 4, 16), actor="clerk2")    # LZ-SWJ-2024-0002, overdue, another clerk's
    new_case(world.b, date(2024, 4, 12))                    # LZ-JYJ-2024-0001, overdue, the earliest due
    new_case(world.a, date(2024, 5, 13))                    # LZ-SWJ-2024-0003, due within 3 working days
    new_case(world.b, date(2024, 6, 3))                     # LZ-JYJ-2024-0002, running

    page_a, stmt_a = _dashboard(app, login(world.a.clerk))
    page_b, stmt_b = _dashboard(app, login(world.b.clerk))
    page_gov, stmt_gov = _dashboard(app, login(gov_clerk))

    assert numbers(section(page_a, "overdue")) == ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002"]
    assert numbers(section(page_b, "overdue")) == ["LZ-JYJ-2024-0001"]
    assert numbers(section(page_gov, "overdue")) == ["LZ-JYJ-2024-0001", "LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002"]
    assert numbers(section(page_a, "due-soon")) == numbers(section(page_gov, "due-soon")) == ["LZ-SWJ-2024-0003"]
    assert numbers(section(page_b, "due-soon")) == []
    assert '<span class="count-pill danger">3</span>' in section(page_gov, "overdue")
    # the links as url_for wrote them (the template builds their prefixes once)
    assert f'<a href="/cases/{first}">LZ-SWJ-2024-0001</a>' in section(page_gov, "overdue")
    assert '<a class="see-all" href="/cases?list=overdue">查看全部</a>' in page_gov
    assert '<td><a href="/cases?status=registered&amp;mine=y">2</a></td>' in page_a

    none = dict.fromkeys(("registered", "awaiting_correction", "consulting", "awaiting_fee", "closed"), 0)
    assert _counts(page_a) == ({**none, "registered": 2}, {**none, "registered": 3})
    assert _counts(page_b) == ({**none, "registered": 2}, {**none, "registered": 2})
    assert _counts(page_gov) == (none, {**none, "registered": 5})

    # one statement each, the lists' and the counts' together (were seven); on SQLite one text for
    # every agency (its values are parameters), on PostgreSQL each agency's own, with its agencies and
    # the day's dates written in (PostgreSQL's plan cache: see the next test)
    assert len(stmt_a) == len(stmt_b) == len(stmt_gov) == 1
    on_pg = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert (stmt_a == stmt_b) is not on_pg and stmt_gov != stmt_a
    assert all(s.count("AS status") == 10 for s in (*stmt_a, *stmt_gov))


@pytest.mark.pg
def test_postgresql_gets_the_constants_in_the_text_and_a_governments_scope_and_dates_too(
        app, world, new_case, login, in_app, today):
    """What PostgreSQL's plan cache keys on (dashboard._inline): an agency's and a government's
    statement have the agencies and the day's dates in their text and the user as their only
    parameter (with them as parameters PostgreSQL planned the statement anew on every request on the
    million-case bench: 4.8 ms of planning for a department's dashboard, 3.0 ms for a government's).
    The statuses and the limits are in the text for both."""
    gov_clerk = _government(in_app, world)
    new_case(world.a, date(2024, 4, 15))
    seen: list[tuple[str, dict]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "paused_due_on <" in statement:
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        login(world.a.clerk).get("/")
        login(gov_clerk).get("/")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    (agency_text, agency_params), (gov_text, gov_params) = seen
    assert set(agency_params) == {"user_id"}
    assert f'"case".agency_id = {world.a.agency_id}' in agency_text and f"'{today.isoformat()}'" in agency_text
    assert "'awaiting_fee'" in agency_text and "LIMIT 20" in agency_text and "LIMIT 1001" in agency_text
    assert set(gov_params) == {"user_id"}
    scopes = re.findall(r"agency_id IN \(([\d, ]+)\)", gov_text)
    assert len(scopes) == 24 and len(set(scopes)) == 1     # the government's own agency and its departments
    assert {world.a.agency_id, world.b.agency_id} < {int(i) for i in scopes[0].split(", ")}
    assert len(scopes[0].split(", ")) == 3
    assert f"'{today.isoformat()}'" in gov_text
