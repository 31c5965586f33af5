"""Issue 15 (closed-loop load), the dashboard as one statement (webapp/cases/dashboard._statement):
its five lists and the cases of each status, mine and the agency's, in one UNION ALL built once per
process, every user's and day's values bound as parameters (on PostgreSQL the agencies and dates written
into its text at each execution); a government's scope (its departments)
and an agency's each get their own rows and counts from the same statement text."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from flask import render_template_string
from sqlalchemy import event, select
from sqlalchemy.orm import joinedload

from tests.factories import paper_applicant, person
from webapp.cases.dashboard import dashboard
from webapp.cases.services.applicants import mask_id
from webapp.cases.services.calendar import current_calendar
from webapp.domain.workflow import Event
from webapp.domain.workflow import EventType as E
from webapp.extensions import db
from webapp.models import Case

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
    # the user's cases of each status counted (5 branches), the agencies' summed from their counter
    # rows in one branch (cases/status_counts.py), no longer counted from "case"
    assert all(s.count("count(*) AS total, 5 AS tag") == 5 and s.count("AS total, 6 AS tag") == 1
               and "sum(anon_" in s and s.count("FROM case_status_count") == 1 for s in (*stmt_a, *stmt_gov))


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
    # the government's own agency and its departments: its lists' and counts' 23 (the due-soon list's
    # two branches, each read for its rows and its count; the agencies' status counts two: the counter
    # rows and this transaction's pending changes) and its flagged letters' (1); its online
    # queue's its own agency alone (actable_agency_ids: its clerk acts for it only)
    scope = scopes[0]
    own = [s for s in scopes if s != scope]
    assert scopes.count(scope) == 23 + 1 and len(own) == 1 and own[0] in scope.split(", ")
    assert {world.a.agency_id, world.b.agency_id} < {int(i) for i in scopes[0].split(", ")}
    assert len(scopes[0].split(", ")) == 3
    assert f"'{today.isoformat()}'" in gov_text


#: a dashboard list as templates/cases/_macros.html case_table wrote it from Case objects before its
#: rows' cells were computed once (cases/dashboard.ListRow)
OLD_TABLE = """{% from "cases/_macros.html" import status_badge %}{% set case_url = url_for('cases.show', case_id=0)[:-1] %}<table class="grid">
  <thead><tr><th>编号</th><th>申请人</th><th>收到日期</th><th>状态</th><th>{{ date_label }}</th><th>承办人</th></tr></thead>
  <tbody>
  {% for c in cases %}
  <tr>
    <td class="nowrap"><a href="{{ case_url }}{{ c.id }}">{{ c.number }}</a></td>
    <td class="nowrap">{{ c.applicant.name }}{% if c.applicant.id_number %} <span class="muted mono">{{ mask_id(c.applicant.id_number) }}</span>{% endif %}</td>
    <td class="mono">{{ c.received_on or '' }}</td>
    <td>{{ status_badge(c.status) }}{% if c.extended %} <span class="badge">已延期</span>{% endif %}</td>
    {% set d = c[date_col] %}
    <td class="mono">{{ d or '—' }}{% if date_col == 'due_on' and c.due_provisional %} <span class="badge badge-provisional" title="该年度放假安排尚未发布，期限暂定">暂定</span>{% endif %}</td>
    <td class="nowrap">{{ c.assigned_to.display_name if c.assigned_to else '—' }}</td>
  </tr>
  {% endfor %}
  </tbody>
</table>"""  # noqa: E501 (the macro's lines as they were)


def test_each_lists_rows_show_what_the_case_objects_showed(app, world, new_case, login, today):
    """Each list's rows (cells computed once from the statement's plain columns) as the macro wrote
    them from Case objects: a masked identity number and none, an extended case, an unassigned one,
    a case paused for a fee (no 答复期限 in the overdue list), each list's own date."""
    new_case(world.a, date(2024, 4, 15), applicant=person("李四"))                         # overdue
    new_case(world.a, date(2024, 4, 16), applicant=paper_applicant("某某公司", "commercial"), actor="approver")
    new_case(world.a, date(2024, 4, 1), [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
    new_case(world.a, date(2024, 5, 6), [Event(E.EXTENDED, date(2024, 5, 20), days=5)])     # overdue, extended
    new_case(world.a, date(2024, 5, 13))                                                   # due soon
    new_case(world.a, date(2024, 5, 31))                                                   # notice due
    new_case(world.a, date(2024, 4, 15), [Event(E.CORRECTION_REQUESTED, date(2024, 4, 16), reply_by=date(2024, 6, 7))])
    new_case(world.a, date(2024, 4, 15), [Event(E.FEE_NOTICE, date(2024, 4, 16), amount_yuan=Decimal(100))])
    page = login(world.a.clerk).get("/").text
    lists = [("overdue", "due_on", "答复期限", 4), ("due-soon", "due_on", "答复期限", 1),
             ("notices-due", "correction_notice_due_on", "补正告知期限", 1),
             ("correction-lapses", "correction_reply_by", "补正期限", 1), ("fee-lapses", "fee_due_on", "缴费期限", 1)]
    tables = re.findall(r'<table class="grid">.*?</table>', page, re.S)
    assert len(tables) == len(lists)
    for table, (name, date_col, label, rows) in zip(tables, lists, strict=True):
        ids = [int(i) for i in re.findall(r'<a href="/cases/(\d+)">', table)]
        assert len(ids) == rows, name
        with app.test_request_context("/"):
            cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(ids)).options(
                joinedload(Case.applicant), joinedload(Case.assigned_to)))}
            old = render_template_string(OLD_TABLE, cases=[cases[i] for i in ids], mask_id=mask_id,
                                         date_col=date_col, date_label=label)
            db.session.remove()
        assert table == old, name
    overdue = tables[0]
    # three identity numbers masked (the company has none), the company's case unassigned
    assert overdue.count('<span class="muted mono">') == 3 and overdue.count('<td class="nowrap">—</td>') == 1
    assert overdue.count('<td class="mono">—</td>') == 1           # the paused case: no due date
    assert overdue.count('<span class="badge">已延期</span>') == 1
    # the cells, computed once per row from the statement's columns (cases/dashboard.ListRow)
    with app.test_request_context("/"):
        d = dashboard([world.a.agency_id], world.a.clerk, today, current_calendar())
        db.session.remove()
    company = next(r for r in d.overdue if r.applicant == "某某公司")
    assert (company.masked_id, company.received_on, company.status, company.status_label, company.extended,
            company.provisional, company.assignee) == ("", date(2024, 4, 16), "registered", "办理中", False, False, "—")
    paused = next(r for r in d.overdue if r.date == "—")
    assert paused.status == "awaiting_fee"
