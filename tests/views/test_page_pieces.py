"""Issue 15 (closed-loop load), the pieces of the case page, the dashboard and the case list written in
Python or built once per process: each is what the template wrote before (the old template text kept
here), on values chosen for every branch, with markup characters in every text, under two prefixes
(SCRIPT_NAME)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import render_template_string, request, url_for
from markupsafe import Markup

from webapp.cases import case_urls, dashboard_html, list_html, routes
from webapp.cases.case_html import deadlines_html, timeline_html
from webapp.cases.case_urls import CaseUrls
from webapp.cases.dashboard import Dashboard, ListRow
from webapp.cases.forms import SearchForm
from webapp.cases.page_reads import EventRow
from webapp.cases.pager import Pager
from webapp.cases.view import TimelineRow, status_badge
from webapp.domain.clock import Status

PREFIXES = ["", "/g%3C%26%22"]     # (as SCRIPT_NAME: /g<&")
MARKUP = "<b>&'\"</b>"


def _ctx(app, prefix: str, path: str = "/"):
    """A request under ``prefix`` (SCRIPT_NAME, URL-quoted)."""
    return app.test_request_context(path, base_url=f"http://localhost{prefix}")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_case_pages_links_are_what_url_for_writes(app, prefix):
    with _ctx(app, prefix):
        for case_id in (1, 42, 2**62):
            urls = CaseUrls(case_id)
            for endpoint in ("cases.show", "cases.personal", "cases.attach", "desk.comment",
                             "cases.fee_preview_json", "cases.act_assign"):
                assert urls(endpoint) == url_for(endpoint, case_id=case_id)
            for kind in ("answer", "extension", "fee"):
                assert urls.letter(kind) == url_for("cases.letter", case_id=case_id, kind=kind)
                assert urls.letter(kind, 7) == url_for("cases.letter", case_id=case_id, kind=kind, event=7)
            assert urls.attachment(123) == url_for("cases.attachment", case_id=case_id, attachment_id=123)
        assert any(key[0] == request.environ["SCRIPT_NAME"] for key in case_urls._patterns)


def test_a_prefix_holding_the_sentinel_is_answered_by_url_for(app):
    prefix = f"/x{case_urls._CASE}"
    with _ctx(app, prefix):
        assert CaseUrls(5)("cases.show") == url_for("cases.show", case_id=5) == f"{prefix}/cases/5"
        assert case_urls._patterns[(prefix, "cases.show", None, ())] is None


OLD_SEARCH_FORM = '{% include "cases/_search_form.html" %}'


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_blank_search_form_is_rendered_once_as_the_template_writes_it(app, prefix):
    with _ctx(app, prefix):
        for sort in (None, "-received", "due", "-days_left"):
            html = routes.blank_search_html(routes.BLANK_SEARCH, sort)
            old = render_template_string(OLD_SEARCH_FORM, form=routes.BLANK_SEARCH, statuses=routes.STATUSES, sort=sort)
            assert html == old and 'name="status"' in html
            assert (f'<input type="hidden" name="sort" value="{sort}">' in html) == (sort not in (None, "-received"))
            assert routes.blank_search_html(routes.BLANK_SEARCH, sort) is html      # kept
        assert routes.blank_search_html(SearchForm(), None) is None                # another form: the template's


#: the dashboard's list macro (templates/cases/_macros.html case_table) as it was
OLD_TABLE = """{% macro case_table(rows, case_url, date_label='答复期限', empty='暂无') -%}
{# rows: cases/dashboard.py ListRow, each row's cells computed once; case_url: a case's address without
   its id (url_for once for the page) #}{% if rows %}
<table class="grid">
  <thead><tr><th>编号</th><th>申请人</th><th>收到日期</th><th>状态</th><th>{{ date_label }}</th><th>承办人</th></tr></thead>
  <tbody>
  {% for id, number, applicant, masked_id, received_on, status, status_label, extended, date, provisional, assignee in rows %}
  <tr>
    <td class="nowrap"><a href="{{ case_url }}{{ id }}">{{ number }}</a></td>
    <td class="nowrap">{{ applicant }}{% if masked_id %} <span class="muted mono">{{ masked_id }}</span>{% endif %}</td>
    <td class="mono">{{ received_on }}</td>
    <td><span class="status status-{{ status }}">{{ status_label }}</span>{% if extended %} <span class="badge">已延期</span>{% endif %}</td>
    {# the list's date #}
    <td class="mono">{{ date }}{% if provisional %} <span class="badge badge-provisional" title="该年度放假安排尚未发布，期限暂定">暂定</span>{% endif %}</td>
    <td class="nowrap">{{ assignee }}</td>
  </tr>
  {% endfor %}
  </tbody>
</table>
{% else %}
<p class="muted">{{ empty }}</p>
{% endif %}
{%- endmacro %}{{ case_table(rows, case_url, date_label, empty) }}"""  # noqa: E501 (the macro's lines as they were)
OLD_COUNTS = """<tr>{% for _value, label in statuses %}<th>{{ label }}</th>{% endfor %}</tr>
<tr>{% for value, _label in statuses %}<td><a href="{{ search_url }}?status={{ value }}{{ query }}">{{ count_text(counts[value]) }}</a></td>{% endfor %}</tr>"""  # noqa: E501

ROWS = [
    ListRow(1, "2024-0001", "张三", "1101**********1234", date(2024, 6, 3), "registered", "办理中", False,
            date(2024, 6, 28), False, "王五"),
    ListRow(22, MARKUP, MARKUP, "", "", "none", "—", True, "—", True, "—"),
    ListRow(333, "2024-0003", "某某公司", "", date(2024, 5, 6), "awaiting_fee", MARKUP, True, date(2024, 6, 7), True,
            MARKUP),
]


def test_the_dashboards_tables_and_counts_are_what_the_template_wrote(app):
    with _ctx(app, ""):
        for rows in (ROWS, ROWS[:1], []):
            for label, empty in (("答复期限", "暂无"), (MARKUP, MARKUP)):
                for case_url in ("/cases/", "/g<&>/cases/"):
                    old = render_template_string(OLD_TABLE, rows=rows, case_url=case_url, date_label=label, empty=empty)
                    assert dashboard_html.case_table(rows, case_url, label, empty) == old
        statuses = [*routes.STATUSES, (MARKUP, MARKUP)]
        counts = {value: n for (value, _label), n in zip(statuses, [0, 7, 1000, 1001, 5, 3, 2, 1, 9, 9], strict=False)}
        for query in ("", "&amp;mine=y"):
            for search_url in ("/cases", "/g<&\"/cases"):
                old = render_template_string(OLD_COUNTS, statuses=statuses, counts=counts, search_url=search_url,
                                             query=Markup(query), count_text=routes.queries.count_text)
                new = (f"<tr>{dashboard_html.status_heads(statuses)}</tr>\n"
                       f"<tr>{dashboard_html.count_cells(statuses, counts, search_url, query)}</tr>")
                assert new == old
        assert "1000+" in new and ">1000<" in new


#: the dashboard's "查看全部" macro as it was
OLD_MORE = """{% macro more(name, label='') -%}
{% if d.totals[name] > d[name] | length %}此处列出{{ label }}{{ d[name] | length }}件，{% endif %}<a class="see-all" href="{{ search_url }}?list={{ name }}">查看全部</a>{% if d.totals[name] > d[name] | length %}（{{ count_text(d.totals[name]) }}件）{% endif %}。
{%- endmacro %}{{ more(name, label) }}"""  # noqa: E501


def test_each_lists_see_all_line_is_what_the_macro_wrote(app):
    rows = ROWS[:2]
    with _ctx(app, ""):
        for total in (0, 2, 3, 1000, 1001):
            d = Dashboard(mine={}, agency={}, overdue=rows, fee_lapses=[],
                          totals={"overdue": total, "fee_lapses": total})
            for name in ("overdue", "fee_lapses"):
                for label, search_url in (("期限最早的", "/cases"), (MARKUP, "/g<&>/cases")):
                    old = render_template_string(OLD_MORE, d=d, name=name, label=label, search_url=search_url,
                                                 count_text=routes.queries.count_text)
                    assert dashboard_html.more(d, name, search_url, label) == old
        assert "此处列出期限最早的2件" in dashboard_html.more(d, "overdue", "/cases", "期限最早的")
        assert "（1000+件）" in dashboard_html.more(d, "overdue", "/cases", "")


#: the list's sortable heading macro and its pager's loop (templates/cases/search.html) as they were
OLD_SORT_HEAD = """{% macro sort_head(key, label, sort_url) -%}
{% set current = sort.lstrip('-') == key %}
{% set desc = sort.startswith('-') %}
{% set next_sort = ('-' ~ key) if (current and not desc) else key %}
<th class="nowrap" aria-sort="{{ ('descending' if desc else 'ascending') if current else 'none' }}"><a class="sort-link" href="{{ sort_url.replace('%00', next_sort) }}">{{ label }}{% if current %}<span class="sort-mark" aria-hidden="true">{{ '↓' if desc else '↑' }}</span>{% endif %}</a></th>
{%- endmacro %}{{ sort_head(key, label, sort_url) }}"""  # noqa: E501
OLD_PAGES = """{% for p in pagination.iter_pages(left_edge=1, left_current=2, right_current=3, right_edge=1) %}
      {% if p %}{% if p == pagination.page %}<strong aria-current="page">{{ p }}</strong>{% else %}<a href="{{ at }}?page={{ p }}{{ rest }}">{{ p }}</a>{% endif %}{% else %}<span>…</span>{% endif %}
    {% endfor %}"""  # noqa: E501


def test_the_lists_headings_and_pager_are_what_the_template_wrote(app):
    with _ctx(app, ""):
        for sort in ("-received", "received", "due", "-due", "days_left", "-days_left"):
            for key, label in (("received", "收到日期"), ("due", MARKUP), ("days_left", "剩余工作日")):
                for sort_url in ("/cases?sort=%00", "/cases?a=%3C%26&sort=%00&x=%22"):
                    old = render_template_string(OLD_SORT_HEAD, sort=sort, key=key, label=label, sort_url=sort_url)
                    assert list_html.sort_head(key, label, sort, sort_url) == old
        for page, total, has_next, exact in ((1, 30, True, False), (5, 300, True, False), (12, 300, False, True),
                                             (3, 5000, True, False), (4, None, True, False), (1, 1, False, True)):
            pager = Pager(items=[], page=page, total=total, has_next=has_next, exact=exact)
            for at, rest in (("/cases", ""), ("/g<&>/cases", "&amp;x=<\"'>")):
                old = render_template_string(OLD_PAGES, pagination=pager, at=at, rest=rest)
                assert list_html.page_links(pager, at, rest) == old


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_lists_addresses_are_what_url_for_writes(app, prefix):
    with _ctx(app, prefix):
        for args in ({}, {"status": "registered", "mine": "y"},
                     {"list": "overdue", "text": "甲 & <乙>", "sort": "due"}):
            urls = list_html.list_urls(args)
            at, rest = url_for("cases.search", page=0, **args).split("?page=0", 1)
            assert urls == (url_for("desk.export", **args), url_for("cases.search", **dict(args, sort="\x00")),
                            at, rest, url_for("cases.search"), url_for("desk.bulk_assign"),
                            url_for("desk.filter_save"), url_for("cases.show", case_id=0)[:-1])
        assert list_html.list_urls({}) is list_html._plain[request.environ["SCRIPT_NAME"]]


#: the case page's timeline loop (templates/cases/case.html) as it was
OLD_TIMELINE = """{% for row in timeline %}
    {% set ev = row.event %}
    <li class="tl-item {{ 'tl-workflow' if row.workflow else 'tl-note' }} tl-{{ ev.type }}">
      <div class="tl-head">
        <span class="tl-date mono">{{ ev.on }}</span>
        <strong class="tl-type">{{ row.label }}</strong>
        <span class="tl-who">{{ ev.actor_name or '系统' }}</span>
        <span class="tl-at muted">记录于 {{ ev.recorded_at | local_time }}</span>
      </div>
      {% if row.workflow and (ev.status_before != ev.status_after or ev.due_before != ev.due_after) %}
      <div class="tl-change">
        状态：{{ ev.status_before | status_zh if ev.status_before else '（新登记）' }} → {{ ev.status_after | status_zh }}
        　答复期限：<span class="mono">{{ ev.due_before or '—' }}</span> → <span class="mono">{{ ev.due_after or '—' }}</span>
      </div>
      {% endif %}
      {% if row.summary %}
      <dl class="tl-payload">
        {% for label, value in row.summary %}<dt>{{ label }}</dt><dd>{{ value }}</dd>{% endfor %}
      </dl>
      {% endif %}
      {% if row.letter_kind and can('case.letter') %}
      <a class="tl-letter" href="{{ url_for('cases.letter', case_id=case.id, kind=row.letter_kind, event=ev.id) }}">下载文书（.docx）</a>
      {% endif %}
    </li>
    {% endfor %}"""  # noqa: E501


def _event(i: int, type_: str, before, after, due0=None, due1=None, actor: str | None = "李四") -> EventRow:
    recorded = datetime(2024, 6, i, 23, 30, tzinfo=UTC).replace(tzinfo=None)     # (naive UTC, as stored)
    return EventRow(i, i, type_, date(2024, 6, i), {}, actor, recorded, before, after, due0, due1)


TIMELINE = [
    TimelineRow(_event(1, "registered", None, Status.REGISTERED, None, date(2024, 6, 28)), "登记", [], True, None),
    TimelineRow(_event(2, "answered", Status.REGISTERED, Status.CLOSED, date(2024, 6, 28), None, actor=None), "答复",
                [("办理结果", "予以公开"), (MARKUP, MARKUP)], True, "answer"),
    TimelineRow(_event(3, "note", Status.CLOSED, Status.CLOSED), "备注", [("备注", MARKUP)], False, None),
    TimelineRow(_event(4, "extended", Status.REGISTERED, Status.REGISTERED, date(2024, 6, 28), date(2024, 7, 5),
                       actor=MARKUP), MARKUP, [], True, "extension"),
    TimelineRow(_event(5, "legacy<&>", "legacy", "legacy"), "legacy<&>", [("x", "1")], True, None),
    TimelineRow(_event(6, "consultation_started", Status.REGISTERED, Status.REGISTERED, date(2024, 6, 28),
                       date(2024, 6, 28)), "征求意见", [], True, None),
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("letters", [True, False])
def test_the_timeline_is_what_the_template_wrote(app, prefix, letters):
    class FakeCase:
        id = 77

    with _ctx(app, prefix):
        old = render_template_string(OLD_TIMELINE, timeline=TIMELINE, case=FakeCase, can=lambda action: letters)
        new = timeline_html(TIMELINE, CaseUrls(77), letters)
    assert new == old
    assert new.count('class="tl-letter"') == (2 if letters else 0) and "记录于 2024-06-02 07:30" in new
    assert new.count('<div class="tl-change">') == 3


def test_the_status_badge_is_the_macros(app):
    with _ctx(app, ""):
        for code in (None, "", Status.REGISTERED, Status.CLOSED, "legacy<&>"):
            old = render_template_string('{% from "cases/_macros.html" import status_badge %}{{ status_badge(code) }}',
                                         code=code)
            assert status_badge(code) == old


#: the case page's deadlines loop (templates/cases/case.html) as it was
OLD_DEADLINES = """    {% for dl in deadlines %}
    <tr class="deadline deadline-{{ dl.kind }}">
      <td>{{ dl.label_zh }}{% if dl.paused %} <span class="badge">暂停中</span>{% endif %}</td>
      <td class="mono">{{ dl.due_on or '—' }}{% if dl.provisional %} <span class="badge badge-provisional" title="该年度放假安排尚未发布，按《全国年节及纪念日放假办法》暂定推算">暂定</span>{% endif %}</td>
      <td class="num">{% if dl.working_days_left is none %}—{% elif dl.overdue %}<span class="overdue">{% if dl.working_days_left < 0 %}已超过{{ -dl.working_days_left }}个工作日{% else %}已逾期{% endif %}</span>{% else %}{{ dl.working_days_left }}{% endif %}</td>
      <td><details class="explain"><summary>计算说明</summary><p>{{ dl.explanation.text_zh() }}</p></details></td>
    </tr>
    {% endfor %}"""  # noqa: E501


class _Explanation:
    def __init__(self, text: str) -> None:
        self.text = text

    def text_zh(self) -> str:
        return self.text


class _Deadline:
    def __init__(self, kind, label, due_on, left, paused, text, overdue=False, provisional=False) -> None:
        self.kind, self.label_zh, self.due_on, self.working_days_left, self.paused = kind, label, due_on, left, paused
        self.explanation, self.overdue, self.provisional = _Explanation(text), overdue, provisional


DEADLINES = [
    _Deadline("response", "答复期限", date(2024, 6, 28), 5, False, "自收到申请之日起20个工作日"),
    _Deadline("response", "答复期限", date(2024, 6, 3), -4, False, MARKUP, overdue=True, provisional=True),
    _Deadline("correction_notice", MARKUP, date(2024, 6, 3), 0, True, "x", overdue=True),
    _Deadline("correction_reply<&>", "补正期限", None, None, True, "", provisional=True),
    _Deadline("response", "答复期限", date(2024, 6, 3), -2, False, "y"),
]


def test_the_deadlines_are_what_the_template_wrote():
    from jinja2 import Environment

    old = Environment(autoescape=True).from_string(OLD_DEADLINES.strip()).render(deadlines=DEADLINES)
    new = deadlines_html(DEADLINES)
    assert new == old
    assert "已超过4个工作日" in new and "已逾期</span>" in new and new.count("暂停中") == 2
