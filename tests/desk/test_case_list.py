"""The case list: sort keys (whitelisted), the days-left column from the stored due date, a page
number past the last, a reversed date range."""

from __future__ import annotations

import re
from datetime import date

from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Case


def _numbers(html: str) -> list[str]:
    body = html.split('id="results"', 1)[1]
    return re.findall(r'<a href="/cases/\d+">([A-Z\-0-9]+)</a>', body)


def _days(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<td class="days (days-[a-z]+) nowrap" data-days="(-?\d*)">([^<]*)</td>', html)


def _world_cases(world, new_case):
    a = world.a
    ids = {
        "A": new_case(a, date(2024, 4, 22), [Event(type=EventType.EXTENDED, on=date(2024, 5, 6), days=20)]),
        "B": new_case(a, date(2024, 6, 3)),
        "C": new_case(a, date(2024, 6, 7)),
        "D": new_case(a, date(2024, 5, 27), [Event(type=EventType.ANSWERED, on=date(2024, 6, 5),
                                                    outcome=Outcome.DISCLOSED)]),
        "E": new_case(a, date(2024, 5, 6)),
    }
    return ids


def test_sort_orders_and_days_left(app, world, new_case, login):
    ids = _world_cases(world, new_case)
    with app.app_context():
        num = {k: db.session.get(Case, v).number for k, v in ids.items()}
        due = {k: db.session.get(Case, v).due_on for k, v in ids.items()}
    # 20 working days from the day after receipt (2024-05-11, a Saturday, was a make-up working day;
    # 2024-06-10 is 端午); A extended by 20 more
    assert due == {"A": date(2024, 6, 19), "B": date(2024, 7, 2), "C": date(2024, 7, 8), "D": None,
                   "E": date(2024, 5, 31)}
    client = login(world.a.clerk)
    order = lambda sort: [k for n in _numbers(client.get(f"/cases?sort={sort}").get_data(True))  # noqa: E731
                          for k, v in num.items() if v == n]
    assert order("-received") == ["C", "B", "D", "E", "A"]
    assert order("received") == ["A", "E", "D", "B", "C"]
    assert order("due") == ["E", "A", "B", "C", "D"]          # no running clock: last
    assert order("-due") == ["C", "B", "A", "E", "D"]
    assert order("days_left") == ["E", "A", "B", "C", "D"]
    # not whitelisted: the default order, never an error
    assert order("id") == ["C", "B", "D", "E", "A"]
    assert order("received%3B%20drop%20table%20case") == ["C", "B", "D", "E", "A"]
    # today 2024-06-10 (端午, a holiday): working days to each stored 答复期限, coloured by urgency
    html = client.get("/cases?sort=due").get_data(True)
    assert _days(html) == [("days-overdue", "-5", "已逾期5日"), ("days-ok", "7", "7日"),
                           ("days-ok", "16", "16日"), ("days-ok", "20", "20日"), ("days-none", "", "—")]
    assert 'aria-sort="ascending"' in html


def test_urgency_classes():
    from webapp.cases.list_rows import urgency

    assert [urgency(n) for n in (None, -2, 0, 3, 4, 5, 6)] == [
        "days-none", "days-overdue", "days-urgent", "days-urgent", "days-soon", "days-soon", "days-ok"]


def test_page_past_the_last_shows_the_last(world, new_case, login):
    new_case(world.a, date(2024, 6, 3))
    new_case(world.a, date(2024, 6, 4))
    client = login(world.a.clerk)
    html = client.get("/cases?page=99").get_data(True)
    assert "共 2 件，第 1 / 1 页。" in html
    assert len(_numbers(html)) == 2


def test_reversed_date_range_says_so(world, new_case, login):
    new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    resp = client.get("/cases?date_from=2024-06-10&date_to=2024-06-01")
    html = resp.get_data(True)
    assert ("至：收到日期的起止颠倒了：截止日期（2024-06-01）早于起始日期（2024-06-10），请对调后再查询。"
            in html)
    assert 'name="date_to" value="2024-06-01" aria-invalid="true" aria-describedby="date_to-error"' in html
    assert "没有符合条件的案件" not in html
    # the same dates the right way round find the case
    assert len(_numbers(client.get("/cases?date_from=2024-06-01&date_to=2024-06-10").get_data(True))) == 1
