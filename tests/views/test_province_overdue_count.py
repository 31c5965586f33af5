"""Issue 15: the overdue list (``/cases?list=overdue`` alone) reads its page's ids and its count up to
COUNT_CAP in one statement (cases/overdue.py), on PostgreSQL with every value written into its text
(one plan per connection once prepared); the page's rows and counts as before. The dashboard's
due-soon list reads one branch per status the clock runs in, its first rows in due order."""

from __future__ import annotations

import re
from datetime import date

from tests.views.test_overdue_pages import _expected, _overdue, numbers
from tests.views.test_province_scale import statements


def _overdue_statements(seen) -> list:
    return [s for s in seen if "paused_due_on <" in (s[0] if isinstance(s, tuple) else s)]


def test_the_overdue_list_reads_its_page_and_its_count_in_one_statement(app, world, new_case, login, monkeypatch):
    from webapp.cases import queries

    _overdue(new_case, world)
    expected = _expected(app, world, "due")
    monkeypatch.setattr(queries, "PER_PAGE", 3)
    client = login(world.a.clerk)
    with statements(app, parameters=True) as seen:
        first = client.get("/cases?list=overdue").text
    assert numbers(first) == expected[0:3]
    assert "共 8 件，第 1 / 3 页。" in first
    # the page's ids and the count in one statement: the count was a statement of its own (fails before: 2)
    read = _overdue_statements(seen)
    assert len(read) == 1, read
    sql, params = read[0]
    assert sql.count("UNION ALL") == 2 + 2 and "LIMIT 4 OFFSET 0" in sql.replace("\n", " ") \
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else sql.count("UNION ALL") == 2 + 2
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # every value in the text (the agency, today, the limits): a statement without parameters
        assert not params, params
        assert f'"case".agency_id = {world.a.agency_id} ' in sql and "due_on < '2024-06-10'" in sql, sql
        assert "LIMIT 1001" in sql and "FETCH FIRST (4) ROWS WITH TIES" in sql, sql
    with statements(app) as seen:
        last = client.get("/cases?list=overdue&page=3").text
    assert numbers(last) == expected[6:8] and "共 8 件，第 3 / 3 页。" in last
    assert len(_overdue_statements(seen)) == 1
    # a page past the last shows the last page, counted by a statement of its own as before
    assert numbers(client.get("/cases?list=overdue&page=9").text) == expected[6:8]


def test_the_overdue_lists_count_is_capped_as_before(app, world, new_case, login, monkeypatch):
    from webapp.cases import queries

    _overdue(new_case, world)
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    client = login(world.a.clerk)
    page = client.get("/cases?list=overdue&page=2").text
    assert numbers(page) == _expected(app, world, "due")[2:4]
    assert "共 5+ 件，第 2 页。" in page
    # the pager as before (pagination.Pager, not exact): the previous page, 1, 3 and the next, no last page
    pager = re.search(r'<nav class="pager.*?</nav>', page, re.S).group(0)
    assert re.findall(r"page=(\d+)", pager) == ["1", "1", "3", "3"], pager


def test_the_overdue_list_with_another_filter_is_read_as_before(app, world, new_case, login, monkeypatch):
    """With another filter (here the status) the page and the count are read by queries.Search as
    before: two statements, each with its parameters."""
    from webapp.cases import queries

    _overdue(new_case, world)
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    client = login(world.a.clerk)
    with statements(app) as seen:
        page = client.get("/cases?list=overdue&status=registered").text
    assert "共 6 件，第 1 / 3 页。" in page
    assert len(_overdue_statements(seen)) == 2


def test_the_dashboards_due_soon_list_is_the_earliest_due_of_the_running_cases(app, world, new_case, login,
                                                                                 monkeypatch):
    """Due soon on the frozen today (2024-06-10): the running cases due within 3 working days, earliest
    due first (then by id), read as one branch per status the clock runs in (registered, awaiting_fee),
    each its first rows in due order; its badge counts them all."""
    from sqlalchemy import select

    from webapp.cases import dashboard
    from webapp.extensions import db
    from webapp.models import Case

    monkeypatch.setattr(dashboard, "DASHBOARD_ROWS", 2)
    for day in (16, 13, 15, 14, 13):
        new_case(world.a, date(2024, 5, day))
    with app.app_context():
        due = sorted((c.due_on, c.id, c.number) for c in db.session.scalars(select(Case)))
        db.session.remove()
    soon = [n for d, _i, n in due if date(2024, 6, 10) <= d <= date(2024, 6, 13)]
    assert len(soon) == 4      # the one received 05-16 is due after 06-13
    client = login(world.a.clerk)
    with statements(app) as seen:
        page = client.get("/").text
    section = re.search(r'<section class="panel" id="due-soon">.*?</section>', page, re.S).group(0)
    assert numbers(section) == soon[:2] and '<span class="count-pill warn">4</span>' in section
    (sql,) = [s for s in seen if "AS status" in s]
    # its two branches (one status each), each's first rows and, joined again, their count (fails before: 2)
    assert sql.count('"case".due_on >= ') == 2 + 2 and sql.count('"case".status IN') == 0, sql


def test_one_agencys_overdue_cases_have_a_range_of_an_index_of_their_own(app):
    """ix_case_agency_status_due_cover (migration 20261205_agency_status_cover): an agency's cases of
    a status by due date, on PostgreSQL with the overdue page's received_on and id (an index-only read
    of the agency's own range); it replaces ix_case_agency_status_due, the same key without them."""
    from sqlalchemy import inspect, text

    from webapp.extensions import db

    with app.app_context():
        indexes = {i["name"]: i["column_names"] for i in inspect(db.engine).get_indexes("case")}
        assert "ix_case_agency_status_due" not in indexes
        assert indexes["ix_case_agency_status_due_cover"][:3] == ["agency_id", "status", "due_on"]
        if db.engine.dialect.name == "postgresql":
            definition = db.session.scalar(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_case_agency_status_due_cover'"))
            assert definition.endswith('"case" USING btree (agency_id, status, due_on) INCLUDE (received_on, id)')
        db.session.remove()
