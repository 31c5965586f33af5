"""Issue 15, the overdue list and the dashboard at province size: a page of the overdue list is
read as each branch's first rows (its cost follows the page, not the number of overdue cases) in
exactly the order of the whole list; the dashboard's lists are read as plain rows without their
items; a case never has both due dates (ck_case_one_due_date), in the models and the migration."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from tests.test_migrations import MIGRATIONS, empty_database_url  # noqa: F401 (a fixture)
from tests.views.test_province_scale import statements
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Case

E = EventType
SORTS = ("due", "-due", "received", "-received", "days_left")


def numbers(html: str) -> list[str]:
    return re.findall(r">((?:LZ-SWJ|LZ-JYJ)-\d{4}-\d{4})</a>", html)


def _overdue(new_case, world) -> None:
    """Eight overdue cases of agency A on the frozen today (2024-06-10), due dates shared within and
    across the branches: six running (two received 04-01, three 04-02, one 04-03) and two paused
    for a fee after their period ran out (received 04-01 and 04-02: the same due dates, standing in
    paused_due_on); one in time and another agency's overdue case, listed by neither."""
    for day in (1, 2, 1, 3, 2, 2):
        new_case(world.a, date(2024, 4, day))
    late_fee = [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))]
    for day in (2, 1):
        new_case(world.a, date(2024, 4, day), late_fee)
    new_case(world.a, date(2024, 6, 3))
    new_case(world.b, date(2024, 4, 1))


def _expected(app, world, sort: str) -> list[str]:
    """The whole overdue list of agency A in ``sort``'s order, sorted here from every row."""
    with app.app_context():
        rows = [(c.number, c.id, c.received_on, c.due_on or c.paused_due_on)
                for c in db.session.scalars(select(Case).where(Case.agency_id == world.a.agency_id))
                if (c.due_on or c.paused_due_on) and (c.due_on or c.paused_due_on) < date(2024, 6, 10)]
        db.session.remove()
    by = "received" if sort.lstrip("-") == "received" else "due"      # days_left orders as due
    key = {"received": lambda r: (r[2], r[1]), "due": lambda r: (r[3], r[1])}[by]
    return [r[0] for r in sorted(rows, key=key, reverse=sort.startswith("-"))]


@pytest.mark.parametrize("sort", SORTS)
def test_each_page_of_the_overdue_list_is_the_same_slice_of_the_whole_list(app, world, new_case, login, sort,
                                                                           monkeypatch):
    import webapp.cases.queries as queries

    _overdue(new_case, world)
    expected = _expected(app, world, sort)
    assert len(expected) == 8 and len(set(expected)) == 8
    with app.app_context():    # ties: the page boundaries below fall inside groups of one due date
        dues = [c.due_on or c.paused_due_on for c in db.session.scalars(select(Case).where(Case.number.in_(expected)))]
        db.session.remove()
    assert sorted(dues.count(d) for d in set(dues)) == [1, 3, 4]
    monkeypatch.setattr(queries, "PER_PAGE", 3)
    client = login(world.a.clerk)
    pages = [client.get(f"/cases?list=overdue&sort={sort}&page={p}").text for p in (1, 2, 3)]
    assert [numbers(p) for p in pages] == [expected[0:3], expected[3:6], expected[6:8]]
    assert "共 8 件，第 1 / 3 页。" in pages[0]        # counted (up to COUNT_CAP), as before
    assert "共 8 件，第 3 / 3 页。" in pages[2] and "下一页" not in pages[2]


def test_a_page_of_the_overdue_list_reads_each_branch_up_to_its_own_end(app, world):
    """Page 2 of 4 rows (offset 4): each branch's first 8 in the list's order, then the page among
    them; the whole list sorted by the due date that stands read every overdue case of the scope."""
    from webapp.cases.queries import Search, search_filters
    from webapp.cases.services.calendar import current_calendar

    with app.app_context():
        ids = [world.a.agency_id, world.b.agency_id]
        where = search_filters(ids, special="overdue", today=date(2024, 6, 10), cal=current_calendar())
        sql = " ".join(str(Search(ids, where, "due").page_ids(4, 4).compile(
            db.engine, compile_kwargs={"literal_binds": True})).split())
        dialect = db.engine.dialect.name
        db.session.remove()
    per_branch = re.findall(r"LIMIT 8\b|FETCH FIRST \(8\) ROWS WITH TIES", sql)
    assert len(per_branch) == 3, sql           # registered, awaiting_fee (the clock runs), paused
    assert sql.endswith("LIMIT 4 OFFSET 4"), sql
    if dialect == "postgresql":
        # each branch in its index's order (the due date alone, with its ties), not sorted whole
        assert 'ORDER BY "case".due_on ASC FETCH' in sql and 'ORDER BY "case".paused_due_on ASC FETCH' in sql


def test_the_dashboard_reads_its_lists_as_plain_rows_without_items(app, world, new_case, login):
    _overdue(new_case, world)
    client = login(world.a.clerk)
    with statements(app) as seen:
        page = client.get("/").text
    assert not [s for s in seen if "case_item" in s]      # the lists show no item (were loaded)
    row = re.search(r'<tr>\s*<td class="nowrap"><a href="/cases/\d+">LZ-SWJ-2024-0001</a></td>.*?</tr>', page, re.S)
    with app.app_context():
        case = db.session.scalar(select(Case).where(Case.number == "LZ-SWJ-2024-0001"))
        cid, due, clerk = case.id, case.due_on, case.assigned_to.display_name
        db.session.remove()
    assert re.sub(r"\s+", " ", row.group(0)) == (
        f'<tr> <td class="nowrap"><a href="/cases/{cid}">LZ-SWJ-2024-0001</a></td> '
        f'<td class="nowrap">张三 <span class="muted mono">3703**********0017</span></td> '
        f'<td class="mono">2024-04-01</td> <td><span class="status status-registered">办理中</span></td> '
        f'<td class="mono">{due}</td> <td class="nowrap">{clerk}</td> </tr>')
    # the paused case's due date is not due_on: shown as none, as on the case list
    assert '<td><span class="status status-awaiting_fee">待缴费</span></td> <td class="mono">—</td>' in \
        re.sub(r"\s+", " ", page)


def test_the_database_refuses_a_case_with_both_due_dates(app, world, new_case):
    running = new_case(world.a, date(2024, 4, 1))
    with app.app_context():
        assert db.session.get(Case, running).due_on is not None
        both = update(Case).where(Case.id == running).values(paused_due_on=date(2024, 5, 1))
        with pytest.raises(IntegrityError, match=r"(?i)one_due_date|check constraint"):
            db.session.execute(both)
        db.session.rollback()
        db.session.execute(update(Case).where(Case.id == running).values(due_on=None, paused_due_on=date(2024, 5, 1)))
        db.session.rollback()
        db.session.remove()


def _triggers_on_case(conn) -> list[str]:
    if conn.dialect.name == "postgresql":
        return sorted(conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = '\"case\"'::regclass AND NOT tgisinternal")).scalars())
    return sorted(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'case'"))
                  .scalars())


def test_the_migration_adds_the_check_and_keeps_the_case_tables_triggers(empty_database_url):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from config import TestConfig
    from webapp import create_app

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="20261205_applicant_name_cover")
        with db.engine.connect() as conn:
            before = _triggers_on_case(conn)
            assert "ck_case_one_due_date" not in {c["name"] for c in inspect(conn).get_check_constraints("case")}
        assert "report_stamp_case_update" in before
        upgrade(directory=str(MIGRATIONS), revision="20261205_one_due_date")
        with db.engine.connect() as conn:
            checks = {c["name"]: c["sqltext"] for c in inspect(conn).get_check_constraints("case")}
            assert re.sub(r"[()\s]", "", checks["ck_case_one_due_date"]).lower() == \
                "due_onisnullorpaused_due_onisnull"
            assert _triggers_on_case(conn) == before
            # the report stamps still follow a change of a case (a trigger of case_item names "case" too)
            assert "report_stamp_case_item_insert" in (
                set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
                if conn.dialect.name == "sqlite" else
                set(conn.execute(text("SELECT tgname FROM pg_trigger")).scalars()))
        downgrade(directory=str(MIGRATIONS), revision="20261205_applicant_name_cover")
        with db.engine.connect() as conn:
            assert "ck_case_one_due_date" not in {c["name"] for c in inspect(conn).get_check_constraints("case")}
            assert _triggers_on_case(conn) == before
        db.engine.dispose()
