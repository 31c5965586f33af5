"""The dashboard (my cases and the agency's by state, due soon, overdue, notices due, lapses to confirm,
the holiday-notice warning) and the search, always within the user's agency."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.factories import person
from webapp.domain.workflow import Event, EventType
from webapp.timeutil import SHANGHAI

E = EventType


def section(html: str, section_id: str) -> str:
    m = re.search(rf'<section class="panel" id="{section_id}">(.*?)</section>', html, re.S)
    assert m, section_id
    return m.group(1)


def numbers(html: str) -> list[str]:
    return re.findall(r">((?:LZ-SWJ|LZ-JYJ)-\d{4}-\d{4})</a>", html)


def test_counts_by_state_mine_and_the_agencys(world, new_case, login):
    new_case(world.a, date(2024, 6, 3))
    new_case(world.a, date(2024, 6, 4), [Event(E.CORRECTION_REQUESTED, date(2024, 6, 5))])
    new_case(world.a, date(2024, 6, 4), actor="clerk2")
    new_case(world.a, date(2024, 6, 4), [Event(E.WITHDRAWN, date(2024, 6, 5))], actor="clerk2")
    new_case(world.b, date(2024, 6, 4))   # another agency: never counted
    page = login(world.a.clerk).get("/").text
    counts = re.findall(r'<td><a href="/cases\?status=(\w+)(&amp;mine=y)?">(\d+)</a></td>', page)
    mine = {s: int(n) for s, m, n in counts if m}
    agency = {s: int(n) for s, m, n in counts if not m}
    assert mine == {"registered": 1, "awaiting_correction": 1, "consulting": 0, "awaiting_fee": 0, "closed": 0}
    assert agency == {"registered": 2, "awaiting_correction": 1, "consulting": 0, "awaiting_fee": 0, "closed": 1}


def test_due_soon_overdue_and_notices_due(world, new_case, login):
    new_case(world.a, date(2024, 4, 15))   # 0001 due 2024-05-14: overdue
    new_case(world.a, date(2024, 5, 13))   # 0002 due 2024-06-11: within 3 working days (until 06-13)
    new_case(world.a, date(2024, 6, 3))    # 0003 due 2024-07-02; correction notice due 06-13
    new_case(world.a, date(2024, 6, 7))    # 0004 correction notice due 06-19: not within 2 days
    page = login(world.a.clerk).get("/").text
    assert numbers(section(page, "overdue")) == ["LZ-SWJ-2024-0001"]
    assert numbers(section(page, "due-soon")) == ["LZ-SWJ-2024-0002"]
    assert "答复期限在 2024-06-10 至 2024-06-13 之间。" in page
    # notices due within 2 working days (until 2024-06-12): received 05-31 -> due 06-12
    assert numbers(section(page, "notices-due")) == []
    new_case(world.a, date(2024, 5, 31))
    page = login(world.a.clerk).get("/").text
    assert numbers(section(page, "notices-due")) == ["LZ-SWJ-2024-0005"]


def test_lapses_to_confirm(world, new_case, login):
    new_case(world.a, date(2024, 4, 15), [Event(E.CORRECTION_REQUESTED, date(2024, 4, 16),
                                                 reply_by=date(2024, 6, 7))])
    new_case(world.a, date(2024, 4, 15), [Event(E.CORRECTION_REQUESTED, date(2024, 4, 16),
                                                 reply_by=date(2024, 6, 11))])   # not yet
    new_case(world.a, date(2024, 4, 15), [Event(E.FEE_NOTICE, date(2024, 4, 16), amount_yuan=Decimal(100))])
    page = login(world.a.clerk).get("/").text
    lapses = section(page, "lapses")
    assert numbers(lapses) == ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0003"]
    assert "2024-06-07" in lapses and "2024-05-15" in lapses   # reply_by; fee due 04-16 + 20 working days


def test_personal_data_is_masked_in_lists(world, new_case, login):
    new_case(world.a, date(2024, 4, 15))
    client = login(world.a.clerk)
    for page in (client.get("/").text, client.get("/cases").text):
        assert "3703**********0017" in page
        assert "370305198506120017" not in page


@pytest.mark.parametrize(("now", "warned"), [
    (datetime(2026, 10, 31, 10, 0, tzinfo=SHANGHAI), False),
    (datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI), True),     # 2027's notice is not in the calendar
    (datetime(2024, 11, 4, 9, 0, tzinfo=SHANGHAI), False),    # 2025's is
])
def test_warning_when_next_years_holiday_notice_is_missing(world, login, time_machine, now, warned):
    time_machine.move_to(now, tick=False)
    page = login(world.a.clerk).get("/").text
    assert ('id="holiday-warning"' in page) is warned
    if warned:
        assert "尚未录入2027年国务院办公厅部分节假日安排的通知" in page


class TestSearch:
    @pytest.fixture
    def cases(self, world, new_case):
        new_case(world.a, date(2024, 5, 6), applicant=person("张三"), items=["城市更新项目征收补偿方案"])
        new_case(world.a, date(2024, 5, 20), applicant=person("李四", body="37030519900101002"),
                 items=["部门预算"], events=[Event(E.WITHDRAWN, date(2024, 5, 21))])
        new_case(world.a, date(2024, 6, 3), applicant={"kind": "commercial", "name": "某某建材有限公司"},
                 items=["排污许可证"], actor="clerk2")
        new_case(world.b, date(2024, 6, 3), applicant=person("张三丰"), items=["城市更新"])

    @pytest.mark.parametrize(("query", "expected"), [
        ("", ["LZ-SWJ-2024-0003", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]),
        ("number=0002", ["LZ-SWJ-2024-0002"]),
        ("applicant=张", ["LZ-SWJ-2024-0001"]),
        ("applicant=370305199001010020", []),
        ("text=城市更新", ["LZ-SWJ-2024-0001"]),
        ("date_from=2024-05-10&date_to=2024-05-31", ["LZ-SWJ-2024-0002"]),
        ("status=closed", ["LZ-SWJ-2024-0002"]),
        ("status=registered&mine=y", ["LZ-SWJ-2024-0001"]),
        ("text=%25", []),   # a LIKE wildcard is searched for literally
    ])
    def test_search(self, world, cases, login, query, expected):
        page = login(world.a.clerk).get(f"/cases?{query}").text
        assert numbers(page) == expected

    def test_search_by_id_number(self, world, cases, login):
        from tests.factories import id_number

        page = login(world.a.clerk).get(f"/cases?applicant={id_number('37030519900101002')}").text
        assert numbers(page) == ["LZ-SWJ-2024-0002"]

    def test_bad_date_is_a_form_error(self, world, cases, login):
        r = login(world.a.clerk).get("/cases?date_from=2024-13-01")
        assert r.status_code == 200
        assert "请更正查询条件。" in r.text


def test_pagination_25_per_page(world, new_case, login):
    for i in range(27):
        new_case(world.a, date(2024, 5, 6), items=[f"文件{i}"])
    client = login(world.a.clerk)
    first = client.get("/cases").text
    assert len(numbers(first)) == 25
    assert "共 27 件，第 1 / 2 页。" in first
    second = client.get("/cases?page=2").text
    assert numbers(second) == ["LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]
    assert client.get("/cases?page=9").status_code == 200


@pytest.mark.parametrize("url", ["/cases?page=400000000000000000", "/notifications/?page=99999999999999999999",
                                 "/intake/new?applicant_id=99999999999999999999", "/cases?page=-5"])
def test_absurd_page_and_id_numbers_are_not_server_errors(world, login, url):
    assert login(world.a.clerk).get(url).status_code == 200


def test_a_full_list_shows_its_first_rows_links_to_all_and_counts_them(world, new_case, login, monkeypatch):
    import webapp.cases.dashboard as dashboard
    import webapp.cases.queries as queries

    monkeypatch.setattr(dashboard, "DASHBOARD_ROWS", 2)
    for day in (3, 1, 2):
        new_case(world.a, date(2024, 4, day))             # three overdue cases
    client = login(world.a.clerk)
    page = client.get("/").text
    overdue = section(page, "overdue")
    assert numbers(overdue) == ["LZ-SWJ-2024-0002", "LZ-SWJ-2024-0003"]      # the earliest due
    assert '<span class="count-pill danger">3</span>' in overdue
    assert '此处列出期限最早的2件，<a class="see-all" href="/cases?list=overdue">查看全部</a>（3件）。' in overdue
    due_soon = section(page, "due-soon")
    assert '<span class="count-pill warn">0</span>' in due_soon
    assert '<a class="see-all" href="/cases?list=due_soon">查看全部</a>。' in due_soon and "此处列出" not in due_soon
    # above COUNT_CAP the badge and the link say so
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    overdue = section(client.get("/").text, "overdue")
    assert '<span class="count-pill danger">2+</span>' in overdue
    assert '<a class="see-all" href="/cases?list=overdue">查看全部</a>（2+件）。' in overdue


def test_each_list_links_to_the_case_list_filtered_the_same_way(world, new_case, login):
    new_case(world.a, date(2024, 4, 15))   # 0001 due 2024-05-14: overdue
    new_case(world.a, date(2024, 5, 13))   # 0002 due 2024-06-11: due soon
    new_case(world.a, date(2024, 5, 31))   # 0003 correction notice due 2024-06-12
    new_case(world.a, date(2024, 6, 7))    # 0004 in none of the lists
    new_case(world.a, date(2024, 4, 15), [Event(E.CORRECTION_REQUESTED, date(2024, 4, 16),
                                                 reply_by=date(2024, 6, 7))])          # 0005
    new_case(world.a, date(2024, 4, 15), [Event(E.FEE_NOTICE, date(2024, 4, 16), amount_yuan=Decimal(100))])
    new_case(world.b, date(2024, 4, 15))   # another agency's overdue case: never listed
    client = login(world.a.clerk)
    page = client.get("/").text
    expected = {"overdue": ["LZ-SWJ-2024-0001"], "due_soon": ["LZ-SWJ-2024-0002"],
                "notices_due": ["LZ-SWJ-2024-0003"], "correction_lapses": ["LZ-SWJ-2024-0005"],
                "fee_lapses": ["LZ-SWJ-2024-0006"]}
    assert numbers(section(page, "overdue")) == expected["overdue"]
    assert numbers(section(page, "due-soon")) == expected["due_soon"]
    assert numbers(section(page, "notices-due")) == expected["notices_due"]
    assert numbers(section(page, "lapses")) == expected["correction_lapses"] + expected["fee_lapses"]
    titles = {"overdue": "已逾期", "due_soon": "3个工作日内到期", "notices_due": "补正告知即将到期",
              "correction_lapses": "逾期未补正", "fee_lapses": "逾期未缴费"}
    for name, found in expected.items():
        assert f'href="/cases?list={name}">查看全部</a>' in page
        listed = client.get(f"/cases?list={name}").text
        assert numbers(listed) == found, name
        assert f'<h2 id="special-list">{titles[name]}</h2>' in listed


def test_the_overdue_list_takes_both_kinds_in_the_order_of_the_due_date_that_stands(app, world, new_case, login,
                                                                                    monkeypatch):
    """A case paused for a fee after its period ran out stays overdue (cases/services/clock.py): the
    dashboard's list and the case list read the two kinds as two branches joined, each case once, the
    dashboard's earliest due date first."""
    import webapp.cases.dashboard as dashboard
    from webapp.extensions import db
    from webapp.models import Case

    late_fee = new_case(world.a, date(2024, 4, 1), [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
    new_case(world.a, date(2024, 4, 15))                                                  # 0002
    new_case(world.a, date(2024, 4, 22))                                                  # 0003
    new_case(world.a, date(2024, 6, 3), [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])  # in time
    with app.app_context():
        rows = {c.number: (c.status, c.due_on, c.paused_due_on) for c in db.session.query(Case).order_by(Case.id)}
        assert db.session.get(Case, late_fee).number == "LZ-SWJ-2024-0001"
    assert rows == {"LZ-SWJ-2024-0001": ("awaiting_fee", None, date(2024, 4, 29)),
                    "LZ-SWJ-2024-0002": ("registered", date(2024, 5, 14), None),
                    "LZ-SWJ-2024-0003": ("registered", date(2024, 5, 21), None),
                    "LZ-SWJ-2024-0004": ("awaiting_fee", None, None)}
    client = login(world.a.clerk)
    overdue = section(client.get("/").text, "overdue")
    assert numbers(overdue) == ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0003"]
    assert '<span class="count-pill danger">3</span>' in overdue
    monkeypatch.setattr(dashboard, "DASHBOARD_ROWS", 2)
    overdue = section(client.get("/").text, "overdue")
    assert numbers(overdue) == ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002"]
    assert '此处列出期限最早的2件，<a class="see-all" href="/cases?list=overdue">查看全部</a>（3件）。' in overdue
    listed = client.get("/cases?list=overdue").text       # the dashboard's order: earliest due date first
    assert numbers(listed) == ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0003"]
    assert "共 3 件，第 1 / 1 页。" in listed
    listed = client.get("/cases?list=overdue&sort=-due").text    # latest due date first
    assert numbers(listed) == ["LZ-SWJ-2024-0003", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]
    listed = client.get("/cases?list=overdue&sort=-received").text     # newest received first, when asked
    assert numbers(listed) == ["LZ-SWJ-2024-0003", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]
    listed = client.get("/cases?list=overdue&sort=received").text
    assert numbers(listed) == ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0003"]
    # the list's export in the list's order: the paused case by the date that stands, not last
    import io

    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(client.get("/cases/export.xlsx?list=overdue").get_data())).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == \
        ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002", "LZ-SWJ-2024-0003"]


def test_every_status_is_counted_up_to_the_cap(world, new_case, login, monkeypatch):
    import webapp.cases.queries as queries

    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    for day in (3, 4, 5):
        new_case(world.a, date(2024, 6, day))
    new_case(world.a, date(2024, 6, 4), [Event(E.CORRECTION_REQUESTED, date(2024, 6, 5))], actor="clerk2")
    new_case(world.a, date(2024, 6, 4), [Event(E.CORRECTION_REQUESTED, date(2024, 6, 5))], actor="clerk2")
    page = login(world.a.clerk).get("/").text
    counts = re.findall(r'<td><a href="/cases\?status=(\w+)(&amp;mine=y)?">([\d+]+)</a></td>', page)
    assert {s: n for s, m, n in counts if m} == {"registered": "2+", "awaiting_correction": "0", "consulting": "0",
                                                 "awaiting_fee": "0", "closed": "0"}
    assert {s: n for s, m, n in counts if not m} == {"registered": "2+", "awaiting_correction": "2",
                                                     "consulting": "0", "awaiting_fee": "0", "closed": "0"}
