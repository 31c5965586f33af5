"""Issue 15 (a province-sized database): lists load their rows in a fixed number of statements,
pages are read without counting every match, text search goes through pg_trgm indexes on
PostgreSQL, a short name is matched by its beginning, a common name walks the cases newest first, a
government's list reads its departments' cases newest first in one walk, the dashboard's lists stop
at 20 rows, the overdue list is read from a covering index, and a policy change recomputes its own
agency's open cases only."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, select, text

from tests.factories import id_number, make_agency, make_user, person
from webapp.domain.policies import Policies
from webapp.extensions import db
from webapp.models import Agency, Applicant, ApplicantName, Case, CaseItem, User

HINT = "申请人姓名不足3个字时（如“王芳”），按全名或姓名开头查询；3个字及以上按包含查询。"


def numbers(html: str) -> list[str]:
    return re.findall(r">((?:LZ-SWJ|LZ-JYJ|LZ-ZFB)-\d{4}-\d{4})</a>", html)


@contextmanager
def statements(app, parameters: bool = False):
    """The SQL statements sent to the database meanwhile (every connection of the app's engine), but
    the savepoints that stand for the sessions' transactions while a test runs in one rolled-back
    transaction (tests/conftest.py isolate_db); with ``parameters``, (statement, parameters) pairs."""
    seen: list = []

    def record(conn, cursor, statement, params, context, executemany):
        if not statement.startswith(("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")):
            seen.append((statement, params) if parameters else statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _cases(new_case, side, n: int, start: int = 0, received: date = date(2024, 4, 1)) -> None:
    for i in range(start, start + n):   # each with its own applicant: a per-row look-up would show
        new_case(side, received, applicant=person(f"申请人{i:03d}", body=f"37030519900101{i:03d}"),
                 items=[f"第{i}号文件", "另一项"])


def _list_rows(statement: str) -> bool:
    """The case list's rows (cases/list_rows.py), which count each row's items, not the cases."""
    return "count(case_item.id)" in statement


def _page_statement(statement: str) -> bool:
    """The whole list's one statement of a page (cases/whole_list.py): its ids, its rows and its count."""
    return "count(*) OVER () AS found" in statement


def _ids_part(statement: str) -> str:
    """The page's ids in the whole list's page statement."""
    return re.search(r'\(SELECT "case"\.id AS id\b.*?\) AS anon_\d+ ORDER BY', statement, re.S).group(0)


def _capped_part(statement: str) -> str:
    """The list's count up to COUNT_CAP in the whole list's page statement, read only when a next page follows."""
    return re.search(r"CASE WHEN \(anon_\d+\.found > \S+\) THEN \((SELECT count\(\*\).*?)\) END AS capped",
                     statement, re.S).group(1)


def _count(app, client, url: str) -> tuple[int, str]:
    with statements(app) as seen:
        r = client.get(url)
    assert r.status_code == 200
    return len(seen), r.text


def test_case_list_statements_do_not_grow_with_its_rows(app, world, new_case, login):
    client = login(world.a.clerk)
    _cases(new_case, world.a, 3)
    few, page = _count(app, client, "/cases")
    assert len(numbers(page)) == 3
    _cases(new_case, world.a, 20, start=3)
    many, page = _count(app, client, "/cases")
    assert len(numbers(page)) == 23
    # the page's ids, its cases with their applicants, clerks, first items and item counts
    # (cases/list_rows.py) and its count (none read here: one page) in one statement
    # (cases/whole_list.py), and the request's own reads (session user, agencies, the menu's counts (in
    # the session user's statement), the saved filters and assignable clerks in one): the same for 3
    # rows as for 23 (the menu's counts read with the session user, platform/header.py)
    assert few == many == 3


def test_dashboard_statements_do_not_grow_with_its_rows(app, world, new_case, login):
    client = login(world.a.clerk)
    _cases(new_case, world.a, 2, received=date(2024, 3, 1))          # overdue on the frozen today
    few, page = _count(app, client, "/")
    assert page.count("申请人00") == 2
    _cases(new_case, world.a, 12, start=2, received=date(2024, 3, 1))
    many, page = _count(app, client, "/")
    assert '<span class="count-pill danger">14</span>' in page
    # the same for 2 rows as for 14; the cases of each status, mine and the agency's, are one
    # statement each (were two each: the open statuses, then the closed cases); the lists' applicants
    # and clerks are joined into their cases' statement, and their items, which they do not show, are
    # not read (17 -> 15 -> 13 -> 12); the five lists and the two status counts one statement,
    # joined by UNION ALL (webapp/cases/dashboard._statement: 12 -> 6); the online queue's summary,
    # the flagged letters and the open 督办通知 joined too (6 -> 3); the header's counts read with the
    # session user (platform/header.py: 3 -> 2)
    assert few == many == 2


def test_dashboard_lists_stop_at_20_rows_and_count_the_rest_up_to_the_cap(app, world, new_case, login):
    client = login(world.a.clerk)
    _cases(new_case, world.a, 21, received=date(2024, 3, 1))          # overdue on the frozen today
    n, page = _count(app, client, "/")
    overdue = re.search(r'<section class="panel" id="overdue">(.*?)</section>', page, re.S).group(1)
    assert len(numbers(overdue)) == 20
    assert '<span class="count-pill danger">21</span>' in overdue
    assert '此处列出期限最早的20件，<a class="see-all" href="/cases?list=overdue">查看全部</a>（21件）。' in overdue
    # the 2 of a dashboard whose lists are not full: a list's count, bounded, is read by the
    # statement of its rows (it was one statement more for a full list); all lists are one statement
    assert n == 2
    with statements(app) as seen:
        client.get("/")
    overdue = [s for s in seen if "paused_due_on <" in s]
    counted = r"\(SELECT count\(\*\) AS count_\d+\s+FROM \(SELECT 1\s"      # the count beside the rows
    assert len(overdue) == 1 and re.search(counted, overdue[0]), overdue


def test_the_overdue_lists_read_their_two_branches_joined_and_count_statuses_in_one_statement(
        app, world, new_case, login):
    """The overdue rule's two branches (cases/services/clock.overdue_branches) as one statement each
    joined by UNION ALL, never one OR of them: on the million-case bench PostgreSQL ORed two bitmaps
    and read every overdue row of a government from the table (19 ms for the dashboard's 20 rows).
    The dashboard takes each branch's first rows; the cases of each status are one statement."""
    from decimal import Decimal

    from webapp.domain.workflow import Event, EventType

    new_case(world.a, date(2024, 4, 1), [Event(EventType.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
    _cases(new_case, world.a, 2, received=date(2024, 3, 1))
    client = login(world.a.clerk)
    with statements(app) as seen:
        page = client.get("/").text
    assert '<span class="count-pill danger">3</span>' in page
    overdue = [s for s in seen if "paused_due_on <" in s]
    assert len(overdue) == 1
    # the whole dashboard is that one statement (webapp/cases/dashboard._statement): its five lists, the
    # cases of each status assigned to the user and the agency's status counts, 11 branches joined by
    # UNION ALL (10); in the overdue list's, one branch per status the clock runs in (registered,
    # awaiting_fee) and the paused one: each branch's first rows in due order, then the first of them;
    # and beside the rows their count, the branches joined again (each up to COUNT_CAP + 1 in all)
    # (2 + 2); the due-soon list likewise, one branch per status the clock runs in (1 + 1); the online
    # queue's days, the flagged letters and the open 督办通知 (3); on PostgreSQL the agency's counts
    # with this transaction's own pending counter rows (1). Its one OR is the notices' (the agency's or
    # its government's: supervision/services.notices_query)
    pg = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert overdue[0].count("UNION ALL") == 10 + 2 + 2 + 1 + 1 + 3 + pg, overdue[0]
    assert overdue[0].count(" OR ") == 1 and " OR supervision_notice.government_id = " in overdue[0], overdue[0]
    # the overdue list 3 + 1 + 1, the due-soon list 2 + 1 + 1, the three others their first rows and
    # their count, the user's 5 statuses, the newest open notices (1)
    assert len(re.findall(r"LIMIT|FETCH FIRST", overdue[0])) == 3 + 1 + 1 + 2 + 1 + 1 + 3 * 2 + 5 + 1
    # mine: 5 statuses, each counted up to COUNT_CAP + 1 (no status counted whole); the agency's: its
    # counter rows summed by status (cases/status_counts.py: the branch's status column and its
    # subquery's, and on PostgreSQL the pending rows' too)
    assert overdue[0].count("AS status") == 5 + 2 + pg
    assert "case_status_count" in overdue[0]
    assert [s for s in seen if "AS status" in s] == overdue
    with statements(app) as seen:
        listed = client.get("/cases?list=overdue").text
    assert "共 3 件，第 1 / 1 页。" in listed
    ids = [s for s in seen if "paused_due_on <" in s]
    # the page's first rows of each branch joined (2) and, beside them, the branches joined again for
    # the count up to COUNT_CAP + 1 (2): one statement (cases/overdue.py)
    assert len(ids) == 1 and ids[0].count("UNION ALL") == 2 + 2 and " OR " not in ids[0], ids


@pytest.mark.pg
def test_the_overdue_list_is_read_through_its_indexes(app, world, new_case):
    """The overdue rule's two branches (the clock ran out; paused after it ran out: cases/services
    clock.overdue_clause) each through an index of its own: ix_case_overdue_cover and
    ix_case_paused_due (combined by PostgreSQL on a large table)."""
    from webapp.cases.queries import Search, search_filters
    from webapp.cases.services.calendar import current_calendar

    for day in (1, 4, 5):
        new_case(world.a, date(2024, 3, day))
    with app.app_context():
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for _ in range(20):     # the visibility map, as on a live table (an open snapshot delays it)
                conn.execute(text('VACUUM ANALYZE "case"'))
                if conn.execute(text("SELECT relallvisible >= relpages FROM pg_class WHERE relname = 'case'")).scalar():
                    break
                time.sleep(0.1)
        defs = dict(db.session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = 'ix_case_overdue_cover'")).all())
        assert "(status, due_on, agency_id, received_on, id)" in defs["ix_case_overdue_cover"]
        ids = [world.a.agency_id, world.b.agency_id]
        where = search_filters(ids, special="overdue", today=date(2024, 6, 10), cal=current_calendar())
        q = Search(ids, where).page_ids(0, 26)
        # the plan itself is PostgreSQL's choice by the table's size: on a few rows it reads them all;
        # on the million-case database each branch reads its own index (BENCHMARKS.md, Province)
        paused = db.session.scalar(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_case_paused_due'"))
        assert "(paused_due_on)" in paused
        sql = str(q.compile(db.engine, compile_kwargs={"literal_binds": True}))
        assert "paused_due_on < '2024-06-10'" in sql and "due_on < '2024-06-10'" in sql, sql
        assert "UNION ALL" in sql and " OR " not in sql, sql
        assert [c.number for c in db.session.scalars(Search(ids, where).query())] == [
            "LZ-SWJ-2024-0003", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]
        db.session.rollback()


def test_pages_say_next_without_counting_every_match(app, world, new_case, login, monkeypatch):
    import webapp.cases.queries as queries

    monkeypatch.setattr(queries, "COUNT_CAP", 10)
    _cases(new_case, world.a, 27)
    client = login(world.a.clerk)
    with statements(app) as seen:
        first = client.get("/cases").text
    assert "共 10+ 件，第 1 页。" in first
    assert len(numbers(first)) == 25
    assert '<a href="/cases?page=2">下一页</a>' in first
    # the only count is bounded (COUNT_CAP + 1 rows at most), none counts every matching case: in the
    # whole list's page statement (no statement of its own)
    assert [s for s in seen if "count(" in s.lower() and '"case"' in s and not _list_rows(s)] == []
    pages = [s for s in seen if _page_statement(s)]
    assert len(pages) == 1 and re.search(r"LIMIT 11\b", _capped_part(pages[0]))
    last = client.get("/cases?page=2").text
    assert numbers(last) == ["LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]
    assert "下一页" not in last and "共 27 件，第 2 / 2 页。" in last


def test_a_single_page_needs_no_count_at_all(app, world, new_case, login):
    _cases(new_case, world.a, 3)
    with statements(app) as seen:
        page = login(world.a.clerk).get("/cases").text
    assert "共 3 件，第 1 / 1 页。" in page
    assert [s for s in seen if "count(" in s.lower() and '"case"' in s and not _list_rows(s)] == []


def test_dashboard_counts_closed_cases_only_up_to_the_cap(app, world, new_case, login, monkeypatch):
    import webapp.cases.queries as queries
    from webapp.domain.workflow import Event, EventType

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    for day in (3, 4, 5):
        new_case(world.a, date(2024, 6, day), [Event(EventType.WITHDRAWN, date(2024, 6, 6))])
    new_case(world.a, date(2024, 6, 6))
    page = login(world.a.clerk).get("/").text
    agency = dict(re.findall(r'<td><a href="/cases\?status=(\w+)">([\d+]+)</a></td>', page))
    assert agency == {"registered": "1", "awaiting_correction": "0", "consulting": "0", "awaiting_fee": "0",
                      "closed": "2+"}


def test_short_names_match_whole_or_by_beginning_with_a_hint(world, new_case, login):
    for i, name in enumerate(("王芳", "王芳芳", "李王芳", "张王")):
        new_case(world.a, date(2024, 5, 6 + i), applicant=person(name, body=f"37030519900101{i:03d}"))
    client = login(world.a.clerk)
    page = client.get("/cases?applicant=王芳").text
    assert HINT in page
    assert numbers(page) == ["LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]        # not 李王芳
    assert numbers(client.get("/cases?applicant=王").text) == ["LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]
    assert numbers(client.get("/cases?applicant=李王芳").text) == ["LZ-SWJ-2024-0003"]
    assert numbers(client.get("/cases?applicant=王芳芳").text) == ["LZ-SWJ-2024-0002"]
    assert HINT in client.get("/").text


def test_a_common_name_walks_the_cases_newest_first(app, world, new_case, login, monkeypatch):
    """More applicants of a name than APPLICANT_IDS_CAP: the cases are read newest first, each one's
    applicant_name tested (no list of names, no join to the applicant, no sort of every match); the
    same rows in the same order as through the list of names, and no count while more pages follow."""
    import webapp.cases.queries as queries

    names = ["王芳", "李四", "王芳芳", "王芳", "张三", "王芳", "王芳", "王芳林", "王", "王芳"]
    for i, name in enumerate(names):
        new_case(world.a, date(2024, 5, 1 + i), applicant=person(name, body=f"37030519900101{i:03d}"))
    new_case(world.b, date(2024, 5, 20), applicant=person("王芳", body="37030519900101999"))   # not visible
    monkeypatch.setattr(queries, "PER_PAGE", 3)
    client = login(world.a.clerk)
    by_ids = [numbers(client.get(f"/cases?applicant=王芳&page={p}").text) for p in (1, 2, 3)]
    assert by_ids == [["LZ-SWJ-2024-0010", "LZ-SWJ-2024-0008", "LZ-SWJ-2024-0007"],
                      ["LZ-SWJ-2024-0006", "LZ-SWJ-2024-0004", "LZ-SWJ-2024-0003"],
                      ["LZ-SWJ-2024-0001"]]
    monkeypatch.setattr(queries, "APPLICANT_IDS_CAP", 2)
    with statements(app) as seen:
        first = client.get("/cases?applicant=王芳").text
    assert numbers(first) == by_ids[0]
    assert "第 1 页，第 1–3 件；其后还有符合条件的案件（未统计总数）。" in first and "共 " not in first
    assert '<a href="/cases?page=2&amp;applicant=%E7%8E%8B%E8%8A%B3">下一页</a>' in first
    page = [s for s in seen if s.lstrip().startswith('SELECT "case".id \nFROM "case"')]
    assert len(page) == 1 and '"case".applicant_name >= ' in page[0] and "FROM applicant" not in page[0] \
        and "EXISTS" not in page[0], page[0]
    # no count of the matches: only the names' cases counted up to APPLICANT_IDS_CAP + 1 (in the look-up
    # of the names on file), which tells a common name
    counts = [s for s in seen if "count(" in s.lower() and '"case"' in s and not _list_rows(s)]
    assert len(counts) == 1 and counts[0].lstrip().startswith("SELECT applicant_name.name, (SELECT count(*)"), counts
    second = client.get("/cases?applicant=王芳&page=2").text
    assert numbers(second) == by_ids[1] and "第 2 页，第 4–6 件；其后还有符合条件的案件（未统计总数）。" in second
    last = client.get("/cases?applicant=王芳&page=3").text       # the last page: the total is known
    assert numbers(last) == by_ids[2] and "共 7 件，第 3 / 3 页。" in last


def test_a_rare_names_page_counts_its_matches_in_the_same_statement(app, world, new_case, login, monkeypatch):
    """A name of few applicants (up to APPLICANT_IDS_CAP): the total is exact, even past COUNT_CAP, and
    counted in the page's own statement: on SQLite their cases are all read and sorted for the page
    anyway, and counted on the way (a window over them); on PostgreSQL the page reads each name's
    first cases from ix_case_agency_applicant_name (a LATERAL top-N) and counts the name's entries
    there (test_search_by_name_index.py)."""
    import webapp.cases.queries as queries

    for i in range(7):
        new_case(world.a, date(2024, 5, 1 + i), applicant=person("赵钱孙", body=f"37030519900101{i:03d}"))
    new_case(world.a, date(2024, 5, 20), applicant=person("周吴郑", body="37030519900101998"))
    monkeypatch.setattr(queries, "PER_PAGE", 3)
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    client = login(world.a.clerk)
    with statements(app) as seen:
        first = client.get("/cases?applicant=赵钱孙").text
    assert numbers(first) == ["LZ-SWJ-2024-0007", "LZ-SWJ-2024-0006", "LZ-SWJ-2024-0005"]
    assert "共 7 件，第 1 / 3 页。" in first
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    # the names on file, with their cases counted up to APPLICANT_IDS_CAP + 1 beside them: the total
    # (PostgreSQL: the page's statement gives it on; SQLite: a window over the matches counts them)
    counts = [s for s in seen if "count(" in s.lower() and '"case"' in s and not _list_rows(s)]
    assert counts[0].lstrip().startswith("SELECT applicant_name.name, (SELECT count(*)"), counts
    assert len(counts) == 1 + (not postgresql) and (postgresql or re.search(r"count\(\*\) OVER \(\)", counts[1]))
    assert not postgresql or any("LATERAL" in s for s in seen)
    second = client.get("/cases?applicant=赵钱孙&page=2").text
    assert numbers(second) == ["LZ-SWJ-2024-0004", "LZ-SWJ-2024-0003", "LZ-SWJ-2024-0002"]
    assert "共 7 件，第 2 / 3 页。" in second and '<a href="/cases?page=3&amp;' in second


def test_item_text_and_number_searches_are_not_counted_while_pages_follow(app, world, new_case, login,
                                                                          monkeypatch):
    """Item text and case numbers are tested case by case: a page reads the cases it shows (and one
    more), and the list says that more follow, without a total; the last page has its exact total."""
    import webapp.cases.queries as queries

    for i in range(5):
        new_case(world.a, date(2024, 5, 1 + i), items=[f"{2020 + i}年度财政预算执行情况", "另一项"])
    new_case(world.a, date(2024, 5, 9), items=["征地补偿标准"])
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    client = login(world.a.clerk)
    with statements(app) as seen:
        first = client.get("/cases?text=财政预算").text
    assert numbers(first) == ["LZ-SWJ-2024-0005", "LZ-SWJ-2024-0004"]
    assert "第 1 页，第 1–2 件；其后还有符合条件的案件（未统计总数）。" in first and "共 " not in first
    assert [s for s in seen if "count(" in s.lower() and '"case"' in s and not _list_rows(s)] == []
    nav = re.search(r'<nav class="pager no-print" aria-label="分页">(.*?)</nav>', first, re.S).group(1)
    assert re.findall(r">([^<>\s]+)</(?:a|strong)>", nav) == ["1", "2", "下一页"]    # no last page named
    second = client.get("/cases?text=财政预算&page=2").text
    assert "第 2 页，第 3–4 件；其后还有符合条件的案件（未统计总数）。" in second
    last = client.get("/cases?text=财政预算&page=3").text
    assert numbers(last) == ["LZ-SWJ-2024-0001"] and "共 5 件，第 3 / 3 页。" in last
    assert "共 1 件，第 1 / 1 页。" in client.get("/cases?text=征地补偿").text
    # a page past the last: counted (as every list), and the last page shown
    assert numbers(client.get("/cases?text=财政预算&page=9").text) == ["LZ-SWJ-2024-0001"]
    numbered = client.get("/cases?number=LZ-SWJ-2024-000").text
    assert numbers(numbered) == ["LZ-SWJ-2024-0006", "LZ-SWJ-2024-0005"]
    assert "第 1 页，第 1–2 件；其后还有符合条件的案件（未统计总数）。" in numbered
    # the form says so
    assert "按申请内容或编号查询、或同名申请人很多时，不统计结果总数" in first


def test_contains_is_like_on_sqlite_and_ilike_on_postgresql(app, world, new_case, login):
    new_case(world.a, date(2024, 5, 6), items=["Budget 2023 report"])
    client = login(world.a.clerk)
    with statements(app) as seen:
        page = client.get("/cases?text=budget 2023").text
    assert numbers(page) == ["LZ-SWJ-2024-0001"]        # case-insensitive on both
    ids = next(s for s in seen if s.lstrip().startswith('SELECT "case".id \nFROM "case"'))
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "postgresql":
        assert "case_item.text ILIKE" in ids, ids
    else:
        assert "case_item.text LIKE" in ids and "lower(" not in ids, ids


def test_a_name_is_looked_up_by_name_alone_and_an_identity_by_the_identity_columns(app, world, new_case, login):
    """A term that cannot be an identity number (not letters and digits only) is matched against the
    names alone (the names on file): ORed with the identity columns, PostgreSQL combines three indexes
    and reads the table."""
    new_case(world.a, date(2024, 5, 6), applicant=person("王芳", body="37030519900101001"))
    client = login(world.a.clerk)
    for term in ("王芳", "王芳芳", id_number("37030519900101001")):
        with statements(app) as seen:
            page = client.get(f"/cases?applicant={term}").text
        lookup = next(s for s in seen if s.lstrip().startswith(("SELECT applicant.", "SELECT applicant_name.")))
        # a name among the names on file (models/applicant_name.py), an identity among the applicants
        assert lookup.lstrip().startswith("SELECT applicant.id \nFROM applicant" if term[0] == "3" else
                                          "SELECT applicant_name.name, "), lookup
        assert ("id_number" in lookup) == (term[0] == "3"), lookup
        assert numbers(page) == ([] if term == "王芳芳" else ["LZ-SWJ-2024-0001"])


@pytest.mark.pg
def test_a_short_names_applicants_come_from_an_index_alone(app):
    """ix_applicant_agency_name_id (agency_id, name, id) replaces (agency_id, name): the ids of a
    short name's applicants without reading the table (the plan on the million-case bench:
    BENCHMARKS.md, Province, "Third session: search")."""
    with app.app_context():
        indexdef = db.session.scalar(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_applicant_agency_name_id'"))
        assert indexdef.endswith("(agency_id, name, id)"), indexdef
        assert db.session.scalar(text(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_applicant_agency_name'")) == 0


def _government(in_app, world) -> int:
    def go():
        gov = make_agency("LZ-ZFB", "临淄区人民政府办公室")
        gov.kind = "government"
        db.session.get(Agency, world.a.agency_id).parent_id = gov.id
        db.session.get(Agency, world.b.agency_id).parent_id = gov.id
        return make_user(gov, "clerk", "zfb_clerk", "区政府经办人").id

    return in_app(go)


def test_a_governments_list_merges_its_departments_newest_first(app, world, new_case, login, in_app, monkeypatch):
    import webapp.cases.queries as queries

    gov_clerk = _government(in_app, world)
    for side, day in ((world.a, 3), (world.b, 4), (world.a, 5), (world.b, 5), (world.a, 7), (world.b, 2)):
        new_case(side, date(2024, 6, day))
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    client = login(gov_clerk)
    with statements(app) as seen:
        client.get("/cases")
    # one ordered read for all the departments (ix_case_received_id_cover on PostgreSQL), not a merge of
    # one read per department
    ids = [_ids_part(s) for s in seen if _page_statement(s)]
    assert len(ids) == 1 and "UNION" not in ids[0] and "ORDER BY \"case\".received_on DESC" in ids[0], ids
    pages = [numbers(client.get(f"/cases?page={p}").text) for p in (1, 2, 3, 4)]
    # received 06-07, 06-05 twice (the later id first), 06-04, 06-03, 06-02
    assert pages == [["LZ-SWJ-2024-0003", "LZ-JYJ-2024-0002"], ["LZ-SWJ-2024-0002", "LZ-JYJ-2024-0001"],
                     ["LZ-SWJ-2024-0001", "LZ-JYJ-2024-0003"],
                     ["LZ-SWJ-2024-0001", "LZ-JYJ-2024-0003"]]   # a page past the last shows the last
    assert numbers(client.get("/cases?text=2023年度").text) == ["LZ-SWJ-2024-0003", "LZ-JYJ-2024-0002"]


def test_a_policy_change_reads_only_its_agencys_open_cases(app, world, new_case):
    from webapp.admin.services.agency_admin import update_policies

    mine = new_case(world.a, date(2024, 6, 3))
    other = new_case(world.b, date(2024, 6, 3))
    loaded: list[int] = []

    def record(target, context):
        loaded.append(target.id)

    with app.app_context():
        admin = db.session.get(User, world.a.admin)
        agency = db.session.get(Agency, world.a.agency_id)
        data = {**Policies().to_dict(), "fee_payment_days": 30}
        event.listen(Case, "load", record)
        try:
            changes, _moved = update_policies(admin, agency, data, today=date(2024, 6, 10))
        finally:
            event.remove(Case, "load", record)
        assert changes == {"fee_payment_days": [20, 30]}
        assert mine in loaded and other not in loaded
        db.session.rollback()


@pytest.mark.pg
def test_trigram_indexes_exist_and_serve_text_search(app, world, new_case):
    from webapp.cases.queries import DEFAULT_SORT, Search, applicant_match, item_match, name_match, search_filters

    def search_query(agency_ids, **filters):   # every matching case in the list's order
        return Search(agency_ids, search_filters(agency_ids, **filters), DEFAULT_SORT).query()

    new_case(world.a, date(2024, 6, 3), items=["关于临淄区2023年度财政预算执行情况的报告"])
    with app.app_context():
        defs = dict(db.session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%trgm'")).all())
        assert set(defs) == {"ix_applicant_name_trgm", "ix_case_item_text_trgm", "ix_applicant_name_name_trgm"}
        assert "USING gin (text gin_trgm_ops)" in defs["ix_case_item_text_trgm"]
        assert "USING gin (name gin_trgm_ops)" in defs["ix_applicant_name_trgm"]
        assert "ON public.applicant_name USING gin (name gin_trgm_ops)" in defs["ix_applicant_name_name_trgm"]
        for off in ("seqscan", "indexscan", "indexonlyscan"):    # a tiny table: the bitmap, which
            db.session.execute(text(f"SET LOCAL enable_{off} = off"))   # only the trigram index can serve
        for q, index in ((select(CaseItem.case_id).where(item_match("财政预算")), "ix_case_item_text_trgm"),
                         (select(Applicant.id).where(applicant_match("张三丰")), "ix_applicant_name_trgm"),
                         (select(ApplicantName.name).where(name_match(ApplicantName.name, "张三丰")),
                          "ix_applicant_name_name_trgm")):
            sql = str(q.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("%%", "%")
            plan = "\n".join(db.session.scalars(text("EXPLAIN " + sql)))
            assert index in plan, plan
        assert [c.number for c in db.session.scalars(search_query([world.a.agency_id], text="财政预算"))] == [
            "LZ-SWJ-2024-0001"]
        db.session.rollback()


def test_open_deadlines_of_one_agency(app, world, new_case):
    from webapp.cases.services import open_deadlines

    mine = new_case(world.a, date(2024, 6, 3))
    other = new_case(world.b, date(2024, 6, 3))
    with app.app_context():
        assert set(open_deadlines(date(2024, 6, 10), agency_id=world.a.agency_id)) == {mine}
        assert set(open_deadlines(date(2024, 6, 10))) == {mine, other}
