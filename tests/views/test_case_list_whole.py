"""Issue 15 (closed-loop load), the case list, round 3: the whole list's page (``/cases?page=N``, no
filter) in one statement built once per process (cases/whole_list.py), a filtered page still on its
separate statements; the rows written in Python (cases/list_rows.ShownRows.html) as the template's loop
wrote them; the sort links from one url_for."""

from __future__ import annotations

import re
from datetime import date

from flask import render_template_string, url_for
from markupsafe import escape

from webapp.cases import list_rows, queries, whole_list

from .test_province_scale import _government, numbers, statements

#: the loop of templates/cases/search.html that ShownRows.html replaces (its text as it was)
LOOP = """<tbody>
    {% for id, url, number, applicant, masked_id, first_item, more_items, received_on, status, status_label, late,
           due_on, provisional, overdue, n, days_class, outcome, assignee in rows %}
    {# the row's cells, computed once (cases/list_rows.py shown_rows) #}
    <tr>
      {% if assignees %}<td class="no-print"><input type="checkbox" name="case_ids" value="{{ id }}" class="row-check" aria-label="选择{{ number }}"></td>{% endif %}
      <td class="nowrap"><a href="{{ url }}">{{ number }}</a></td>
      <td class="nowrap">{{ applicant }}{% if masked_id %}<br><span class="muted mono">{{ masked_id }}</span>{% endif %}</td>
      <td class="clip">{{ first_item }}{% if more_items %} <span class="muted">等{{ more_items }}项</span>{% endif %}</td>
      <td class="mono nowrap">{{ received_on }}</td>
      <td class="nowrap"><span class="status status-{{ status }}">{{ status_label }}</span>{% if late %} <span class="badge badge-danger">逾期答复</span>{% endif %}</td>
      <td class="mono nowrap">{{ due_on }}{% if provisional %} <span class="badge badge-provisional">暂定</span>{% endif %}{% if overdue %} <span class="badge badge-danger">已逾期</span>{% endif %}</td>
      <td class="days {{ days_class }} nowrap" data-days="{{ '' if n is none else n }}">{% if n is none %}—{% elif n < 0 %}已逾期{{ -n }}日{% else %}{{ n }}日{% endif %}</td>
      <td>{{ outcome }}</td>
      <td class="nowrap">{{ assignee }}</td>
    </tr>
    {% endfor %}
    </tbody>"""  # noqa: E501 (the template's lines as they were)


def test_the_rows_html_is_what_the_templates_loop_wrote(app):
    """Every cell's value escaped as ``{{ }}`` escaped it (quotes, <, >, &), each optional part on and off,
    days none, negative, zero and positive, a date or "" / "—", with the bulk assignment's boxes and without."""
    tricky = "<b>\"甲\" & '乙'</b>"
    rows = list_rows.ShownRows([
        list_rows.ShownRow(7, "/cases/7", "LZ-SWJ-2024-0007", "李四", "3703**********1234", "甲文件", 3,
                           date(2024, 6, 3), "registered", "办理中", False, date(2024, 7, 1), True, False, 12,
                           "days-ok", "", "王五"),
        list_rows.ShownRow(8, "/cases/8?x=1&y='2'", tricky, tricky, "", tricky, 0, "", "none", tricky, True, "—",
                           False, True, -3, "days-overdue", tricky, tricky),
        list_rows.ShownRow(9, "/cases/9", "LZ-9", "某某公司", "", "", 0, date(2024, 6, 4), "awaiting_fee", "待缴费",
                           False, date(2024, 6, 10), False, True, None, "days-none", "（三）1．属于国家秘密", "—"),
        list_rows.ShownRow(10, "/cases/10", "LZ-10", "赵六", "", "乙", 2, date(2024, 6, 5), "answered", "已答复",
                           True, "—", True, False, 0, "days-urgent", "予以公开", "钱七"),
    ])
    with app.test_request_context("/cases"):
        for boxes in (["a clerk"], []):
            old = render_template_string(LOOP, rows=rows, assignees=boxes)
            new = render_template_string("<tbody>\n    {{ rows.html(assignees) }}\n    </tbody>", rows=rows,
                                         assignees=boxes)
            assert new == old
            assert new.count('class="row-check"') == (4 if boxes else 0)
            assert "&lt;b&gt;&#34;甲&#34; &amp; &#39;乙&#39;&lt;/b&gt;" in new and "<b>" not in new
    assert list_rows.ShownRows().html(True) == ""


def test_the_whole_lists_page_is_one_statement_built_once_for_every_user(app, world, new_case, login, in_app,
                                                                         monkeypatch):
    """/cases?page=N (no filter): its ids, rows and capped count in one statement (cases/whole_list.py),
    the same statement object for every user and page (webapp/prebuilt.py), the visible agencies its
    parameters, the offset and the limits written in its text: each clerk gets their own agency's cases,
    the government both, each page its own rows, the capped count read only when a next page follows; a
    page past the last counts the cases and shows the last page."""
    gov_clerk = _government(in_app, world)
    for side, day in ((world.a, 3), (world.b, 4), (world.a, 5), (world.b, 5), (world.a, 7)):
        new_case(side, date(2024, 6, day))
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    built = []
    real = whole_list._build
    monkeypatch.setattr(whole_list, "_build", lambda *a: built.append(a) or real(*a))
    seen_pages = {}
    for who, user in (("a", world.a.clerk), ("b", world.b.clerk), ("gov", gov_clerk)):
        client = login(user)
        for p in (1, 2, 3):
            with statements(app) as seen:
                page = client.get(f"/cases?page={p}").text
            ours = [s for s in seen if "count(*) OVER () AS found" in s]
            assert all("AS capped" in s for s in ours)
            # the page's ids (PER_PAGE + 1 at its offset), the rows (PER_PAGE), the count (COUNT_CAP + 1)
            assert re.findall(r"LIMIT (\d+) OFFSET (\d+)", ours[0]) == [("3", str((p - 1) * 2))]
            assert re.search(r"LIMIT 2\b", ours[0]) and re.search(r"LIMIT 4\b", ours[0])
            counts = [s for s in seen if "count(*)" in s and s not in ours]
            total = re.search(r"共 (\S+) 件", page).group(1)
            seen_pages[who, p] = (numbers(page), total, len(ours), len(counts))
    # (rows, total, page statements, other counts of the cases): past the last page, the page's statement
    # finds nothing, the cases are counted, and the last page is read
    assert seen_pages == {
        ("a", 1): (["LZ-SWJ-2024-0003", "LZ-SWJ-2024-0002"], "3", 1, 0),
        ("a", 2): (["LZ-SWJ-2024-0001"], "3", 1, 0),
        ("a", 3): (["LZ-SWJ-2024-0001"], "3", 2, 1),
        ("b", 1): (["LZ-JYJ-2024-0002", "LZ-JYJ-2024-0001"], "2", 1, 0),
        ("b", 2): (["LZ-JYJ-2024-0002", "LZ-JYJ-2024-0001"], "2", 2, 1),
        ("b", 3): (["LZ-JYJ-2024-0002", "LZ-JYJ-2024-0001"], "2", 2, 1),
        # newest first (06-05 twice: the later id first), counted up to COUNT_CAP
        ("gov", 1): (["LZ-SWJ-2024-0003", "LZ-JYJ-2024-0002"], "3+", 1, 0),
        ("gov", 2): (["LZ-SWJ-2024-0002", "LZ-JYJ-2024-0001"], "3+", 1, 0),
        ("gov", 3): (["LZ-SWJ-2024-0001"], "5", 1, 0),
    }
    assert built == [("-received", 2, 3)]    # built once (PER_PAGE and COUNT_CAP as set here), then the same


def test_the_whole_lists_other_orders_and_a_filtered_page_keep_their_rows(app, world, new_case, login,
                                                                          monkeypatch):
    """Each sort of the whole list reads the rows the filtered page of every case reads (a date range
    that holds them all: the separate statements of the page's ids, its rows and its capped count)."""
    for day in (3, 4, 5, 5, 7):
        new_case(world.a, date(2024, 6, day))
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    client = login(world.a.clerk)
    for sort in ("-received", "received", "due", "-due", "days_left", "-days_left"):
        whole, filtered = [], []
        for p in (1, 2, 3):
            whole.append(numbers(client.get(f"/cases?page={p}&sort={sort}").text))
            with statements(app) as seen:
                filtered.append(numbers(client.get(f"/cases?page={p}&sort={sort}&date_from=2024-01-01").text))
            assert not [s for s in seen if "AS found" in s]
        assert whole == filtered and sum(map(len, whole)) == 5, sort


def test_the_sort_links_are_what_url_for_wrote(app, world, new_case, login):
    """The column headers' sort links (templates/cases/search.html's sort_head): url_for once with a NUL
    for the sort key, each header's key put in place of its %00; the same addresses as
    url_for('cases.search', **dict(args, sort=KEY)), with a sort in the request or not, and with values
    that are quoted (%, &, a space, Chinese, a literal %00)."""
    from urllib.parse import urlencode

    new_case(world.a, date(2024, 5, 6), items=["a%00 b&c=专项资金"])
    client = login(world.a.clerk)
    for query in ({"text": "a%00 b&c=专项", "sort": "-due", "page": "1"},
                  {"number": "LZ-SWJ", "date_from": "2024-01-01", "sort": "received"}, {}):
        page = client.get("/cases?" + urlencode(query)).text
        head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
        links = re.findall(r'<a class="sort-link" href="([^"]+)">([^<]+)<', head)
        args = {k: v for k, v in query.items() if k != "page"}
        sort = query.get("sort", "-received")
        with app.test_request_context("/cases"):
            expected = []
            for key, label in (("received", "收到日期"), ("due", "答复期限"), ("days_left", "剩余工作日")):
                current = sort.lstrip("-") == key
                next_sort = "-" + key if current and not sort.startswith("-") else key
                expected.append((str(escape(url_for("cases.search", **dict(args, sort=next_sort)))), label))
        assert links == expected, (query, links)
        if "text" in query:     # the value's own "%00" stays quoted, the sort key in its place
            assert [href.startswith("/cases?text=a%2500+b%26c%3D") for href, _ in links] == [True] * 3
            assert [href.split("sort=")[1] for href, _ in links] == ["received", "due", "days_left"]


def test_a_governments_walk_of_every_case_has_the_agency_in_its_index(app):
    """ix_case_received_id_cover (migration 20261205_received_cover): every case newest first, which a
    government's list walks keeping its departments' cases, with the agency in the index on PostgreSQL
    (INCLUDE: an index-only walk; the government's page 10 on the million-case bench read 876 buffers,
    461 with it); it replaces ix_case_received_id, the same key without the agency."""
    from sqlalchemy import inspect, text

    from webapp.extensions import db

    with app.app_context():
        indexes = {i["name"]: i["column_names"] for i in inspect(db.engine).get_indexes("case")}
        assert "ix_case_received_id" not in indexes
        assert indexes["ix_case_received_id_cover"][:2] == ["received_on", "id"]
        if db.engine.dialect.name == "postgresql":
            definition = db.session.scalar(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_case_received_id_cover'"))
            assert definition.endswith('"case" USING btree (received_on, id) INCLUDE (agency_id)'), definition
        db.session.remove()
