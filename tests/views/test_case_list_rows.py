"""Issue 15 (closed-loop load), the case list's rows: read as plain columns in one statement
(cases/list_rows.py) and shown as the cells computed once; each row is what the template made of
the Case objects before (the old row kept here), for the cases whose cells take a rule: a masked
identity number and none, several items, a running case in time and overdue, a case paused for a
fee after its period ran out (overdue on its paused due date), a case awaiting correction (no
clock), a case answered late, an unassigned case and one reassigned."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from flask import render_template_string
from markupsafe import escape
from sqlalchemy import select

from tests.factories import paper_applicant, person
from webapp.cases import list_rows, queries
from webapp.cases.services.applicants import mask_id
from webapp.cases.services.calendar import current_calendar
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Case, User

from .test_province_scale import statements

E = EventType

#: the row as templates/cases/search.html wrote it from Case objects before this change
OLD_ROW = """{% from "cases/_macros.html" import status_badge %}{% for c in cases %}{% set n = days_left(c, today, cal) %}
    <tr>
      {% if assignees %}<td class="no-print"><input type="checkbox" name="case_ids" value="{{ c.id }}" class="row-check" aria-label="选择{{ c.number }}"></td>{% endif %}
      <td class="nowrap"><a href="{{ url_for('cases.show', case_id=c.id) }}">{{ c.number }}</a></td>
      <td class="nowrap">{{ c.applicant.name }}{% if c.applicant.id_number %}<br><span class="muted mono">{{ mask_id(c.applicant.id_number) }}</span>{% endif %}</td>
      <td class="clip">{{ c.items[0].text if c.items else '' }}{% if c.items | length > 1 %} <span class="muted">等{{ c.items | length }}项</span>{% endif %}</td>
      <td class="mono nowrap">{{ c.received_on or '' }}</td>
      <td class="nowrap">{{ status_badge(c.status) }}{% if c.late %} <span class="badge badge-danger">逾期答复</span>{% endif %}</td>
      <td class="mono nowrap">{{ c.due_on or '—' }}{% if c.due_provisional %} <span class="badge badge-provisional">暂定</span>{% endif %}{% if case_overdue(c, today) %} <span class="badge badge-danger">已逾期</span>{% endif %}</td>
      <td class="days {{ urgency(n) }} nowrap" data-days="{{ '' if n is none else n }}">{% if n is none %}—{% elif n < 0 %}已逾期{{ -n }}日{% else %}{{ n }}日{% endif %}</td>
      <td>{{ outcome_text(c.outcome) }}</td>
      <td class="nowrap">{{ c.assigned_to.display_name if c.assigned_to else '—' }}</td>
    </tr>
{% endfor %}"""  # noqa: E501 (the template's lines as they were)

ROW = re.compile(r"<tr>\s*(?:<td class=\"no-print\">.*?)?<td class=\"nowrap\"><a href=\"/cases/\d+\">.*?</tr>", re.S)


def _tricky(new_case, world, in_app) -> dict[str, int]:
    long_ago = date(2024, 4, 1)
    ids = {
        "masked_id": new_case(world.a, date(2024, 6, 3), applicant=person("李四")),
        "no_id_several_items": new_case(world.a, date(2024, 6, 4), applicant=paper_applicant("某某公司", "commercial"),
                                        items=["甲文件", "乙文件", "丙文件"]),
        "overdue": new_case(world.a, long_ago),
        "paused_overdue": new_case(world.a, long_ago,
                                   [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))]),
        "awaiting_correction": new_case(world.a, date(2024, 6, 3), [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4))]),
        "answered_late": new_case(world.a, long_ago, [Event(E.ANSWERED, date(2024, 6, 7), outcome=Outcome.DISCLOSED)]),
        "unassigned": new_case(world.a, date(2024, 6, 5), actor="approver"),
    }

    def reassign():
        case = db.session.get(Case, ids["masked_id"])
        case.assigned_to_id = world.a.clerk2
    in_app(reassign)
    return ids


def _old_rows(app, ids: list[int], today: date, with_boxes: bool) -> list[str]:
    with app.test_request_context("/cases"):
        cases = {c.id: c for c in db.session.scalars(queries.with_rows(select(Case).where(Case.id.in_(ids))))}
        html = render_template_string(OLD_ROW, cases=[cases[i] for i in ids], today=today, cal=current_calendar(),
                                      days_left=list_rows.days_left, urgency=list_rows.urgency, mask_id=mask_id,
                                      assignees=with_boxes)
        db.session.remove()
    return ROW.findall(html)


def test_each_row_shows_what_the_case_objects_showed(app, world, new_case, in_app, login, today):
    ids = _tricky(new_case, world, in_app)
    for user in (world.a.clerk, world.a.auditor):     # with and without the boxes of bulk assignment
        page = login(user).get("/cases?sort=received").text
        boxes = 'class="row-check"' in page
        assert boxes == (user == world.a.clerk)
        rows = ROW.findall(page)
        shown = [int(i) for i in re.findall(r'<a href="/cases/(\d+)">', "".join(rows))]
        assert sorted(shown) == sorted(ids.values())
        assert rows == _old_rows(app, shown, today, boxes)
    # the cells the rules make, as they read (the clerk's page)
    page = login(world.a.clerk).get("/cases").text
    row = {name: next(r for r in ROW.findall(page) if f'href="/cases/{i}"' in r) for name, i in ids.items()}
    assert '<br><span class="muted mono">' in row["masked_id"] and "<br>" not in row["no_id_several_items"]
    assert '甲文件 <span class="muted">等3项</span>' in row["no_id_several_items"]
    assert row["overdue"].count("已逾期") == 2 and row["paused_overdue"].count("已逾期") == 1     # no days left: paused
    assert 'data-days=""' in row["paused_overdue"] and 'data-days=""' in row["awaiting_correction"]
    assert "逾期答复" in row["answered_late"] and "逾期答复" not in row["overdue"]
    assert row["unassigned"].endswith('<td class="nowrap">—</td>\n    </tr>')
    clerk2 = in_app(lambda: db.session.get(User, world.a.clerk2).display_name)
    assert row["masked_id"].endswith(f'<td class="nowrap">{clerk2}</td>\n    </tr>')


def test_a_page_of_the_list_reads_its_rows_in_one_statement(app, world, new_case, login):
    for day in (3, 4, 5):
        new_case(world.a, date(2024, 6, day), items=["甲", "乙"])
    client = login(world.a.clerk)
    client.get("/cases")
    with statements(app) as seen:
        page = client.get("/cases").text
    assert len(re.findall(r'<a href="/cases/\d+">', page)) == 3
    flat = [" ".join(s.replace('"', "").split()) for s in seen]
    # the rows with their applicants, clerks, first items and item counts: one statement; no
    # statement of the items (before: SELECT case_item.case_id, ... WHERE case_item.case_id IN (...))
    rows = [s for s in flat if s.startswith("SELECT case.id, case.number, case.received_on")]
    assert len(rows) == 1 and "JOIN applicant" in rows[0] and "count(case_item.id)" in rows[0]
    assert not [s for s in flat if s.startswith("SELECT case_item.")]
    assert not [s for s in flat if s.startswith("SELECT case.id, case.agency_id, case.ref")]    # no Case entity


def test_the_bulk_assignments_options_are_what_the_templates_loop_wrote(app):
    """cases/list_rows.assignee_options: one string for the select's options, as the loop of
    templates/cases/search.html wrote them (each name escaped, each role in its wording, an unknown
    role as stored)."""
    loop = ('{% for id, name, role, _agency in assignees %}<option value="{{ id }}">{{ name }}（{{ role | role_zh }}）'
            '</option>{% endfor %}')
    assignees = [(7, "王五", "approver", 1), (12, "<b>赵&\"六'</b>", "clerk", 1), (30, "钱七", "custodian", 2),
                 (31, None, None, 2)]
    with app.test_request_context("/cases"):
        old = render_template_string(loop, assignees=assignees)
    assert str(list_rows.assignee_options(assignees)) == old
    assert old == ('<option value="7">王五（负责人）</option>'
                   '<option value="12">&lt;b&gt;赵&amp;&#34;六&#39;&lt;/b&gt;（经办人）</option>'
                   '<option value="30">钱七（custodian）</option><option value="31">None（）</option>')


def test_the_pagers_links_are_what_url_for_wrote(app, world, new_case, login):
    """The pager's links (templates/cases/search.html): url_for once, each page's number put in its
    place, the same addresses as url_for('cases.search', page=N, **args) for each link."""
    from flask import url_for

    for i in range(26):
        new_case(world.a, date(2024, 5, 6 + i % 20))
    query = {"applicant": "", "date_from": "2024-01-01", "status": "registered", "sort": "-due"}
    page = login(world.a.clerk).get("/cases?page=2&" + "&".join(f"{k}={v}" for k, v in query.items())).text
    pager = re.search(r'<nav class="pager no-print" aria-label="分页">(.*?)</nav>', page, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', pager)
    with app.test_request_context("/cases"):
        expected = [(str(escape(url_for("cases.search", page=p, **query))), label)
                    for p, label in ((1, "上一页"), (1, "1"))]
    assert links == expected
    assert '<strong aria-current="page">2</strong>' in pager


def test_a_list_without_any_search_field_uses_the_blank_form_valid_as_it_is(app):
    """cases/routes.run_search: with none of the form's fields in the request (/cases?page=2, a list)
    the blank form, never validated per request: it is valid and holds what the form built from such
    a request holds; a request with a field, even empty, gets its own form, validated."""
    from werkzeug.datastructures import MultiDict

    from webapp.cases import routes
    from webapp.cases.forms import SearchForm

    assert routes.SEARCH_FIELDS == ("number", "applicant", "text", "date_from", "date_to", "status", "mine")
    with app.test_request_context("/cases?page=2"):
        built = SearchForm(MultiDict({"page": "2", "list": "overdue", "sort": "due"}))
        assert built.validate() and routes.BLANK_SEARCH.validate()
        blank = routes.BLANK_SEARCH.data
        assert {k: v or None for k, v in built.data.items()} == {k: v or None for k, v in blank.items()}
        assert built.errors == routes.BLANK_SEARCH.errors == {}
        form, search, special, _sort = routes.run_search(MultiDict({"page": "2", "list": "overdue"}))
        assert form is routes.BLANK_SEARCH and search is not None and special == "overdue"
        form, search, *_ = routes.run_search(MultiDict({"number": "", "date_from": "2024-13-01"}))
        assert form is not routes.BLANK_SEARCH and search is None and list(form.errors) == ["date_from"]
