"""The case list's rows (templates/cases/search.html): what each row shows, read as plain columns of one
statement and turned into the cells' values once in Python.

A page of 25 cases was read as Case objects with their applicants and clerks (joined) and their
items (a statement of their own), and the template then asked each row for about 30 attributes, a
``url_for``, the status macro, the days left and the overdue rule: about 120 Python calls a row to
load it and 200 to render it. Now: the columns the row shows, the applicant's name and identity
number, the clerk's name, and the first item's text and the number of items (two correlated
subqueries), in one statement built once per process (webapp/prebuilt.py; the whole list's page reads
them in its one statement: cases/whole_list.py); each row's cells
(``ShownRow``) computed by the rules the template applied (the masked identity number, days left,
the overdue rule, the outcome's wording), and the rows' HTML written from them in Python
(``ShownRows.html``: the template's loop over the cells cost about 40 Python calls a row).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

from markupsafe import Markup, escape
from sqlalchemy import String, bindparam, func, select, type_coerce

from webapp.cases.services.applicants import mask_id
from webapp.cases.services.clock import overdue_row
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN
from webapp.domain.labels import ROLE_ZH, outcome_text
from webapp.domain.outcomes import Outcome
from webapp.extensions import db
from webapp.models import Applicant, Case, CaseItem, User
from webapp.platform.template_helpers import status_zh
from webapp.prebuilt import prebuilt


def days_left(c: Case, today: date, cal: WorkCalendar) -> int | None:
    """Working days from today to the stored 答复期限 (negative once passed); None while no clock runs.
    Read from the derived column, one calendar lookup: no clock is replayed per row."""
    if c.due_on is None or c.status not in CLOCK_RUNS_IN:
        return None
    try:
        return cal.workdays_between(today, c.due_on)
    except Exception:   # a date outside the calendar's years: no figure rather than an error page
        return None


def urgency(n: int | None) -> str:
    """The CSS class of a days-left cell."""
    if n is None:
        return "days-none"
    if n < 0:
        return "days-overdue"
    if n <= 3:
        return "days-urgent"
    if n <= 5:
        return "days-soon"
    return "days-ok"


def _columns() -> tuple:
    items = select(func.count(CaseItem.id)).where(CaseItem.case_id == Case.id).correlate(Case).scalar_subquery()
    first = select(CaseItem.text).where(CaseItem.case_id == Case.id).correlate(Case) \
        .order_by(CaseItem.position, CaseItem.id).limit(1).scalar_subquery()
    # the status and the outcome as stored (str: no enum built for each row; every use looks its wording up)
    return (Case.id, Case.number, Case.received_on, type_coerce(Case.status, String).label("status"), Case.late,
            Case.due_on, Case.due_provisional, Case.paused_due_on,
            type_coerce(Case.outcome, String).label("outcome"), Applicant.name.label("applicant_name"),
            Applicant.id_number.label("id_number"), Case.assigned_to_id, User.display_name.label("assignee"),
            first.label("first_item"), items.label("item_count"))


def list_columns() -> tuple:
    """The columns a row of the list shows (``id``, ``number``, ``received_on``, ``status``, ``late``,
    ``due_on``, ``due_provisional``, ``paused_due_on``, ``outcome``, ``applicant_name``, ``id_number``,
    ``assigned_to_id``, ``assignee``, ``first_item``, ``item_count``), built once per process: columns of
    the case, of ``list_joins``' applicant and clerk, and its first item's text and number of items
    (two subqueries correlated to the case)."""
    return prebuilt("case_list_columns", _columns)


def list_joins(q: Any) -> Any:
    """``q`` (a select whose FROM holds the case) with the applicant and the clerk of ``list_columns``."""
    return q.join(Applicant, Applicant.id == Case.applicant_id).outerjoin(User, User.id == Case.assigned_to_id)


def _statement() -> Any:
    return list_joins(select(*list_columns()).select_from(Case)).where(Case.id.in_(bindparam("ids", expanding=True)))


def rows_by_id(ids: Iterable[int]) -> dict[int, Any]:
    """The list's columns (``list_columns``) of the cases ``ids`` (plain rows), by id."""
    ids = list(ids)
    if not ids:
        return {}
    rows = db.session.connection().execute(prebuilt("case_list_rows", _statement), {"ids": ids})
    return {r.id: r for r in rows.all()}


#: each outcome's wording (``outcome_text``), looked up once
_OUTCOME_TEXT = {o.value: outcome_text(o.value) for o in Outcome}


class ShownRow(NamedTuple):
    """One row of the case list as shown (its cells, as ``ShownRows.html`` writes them)."""

    id: int
    url: str               # the case page
    number: str
    applicant: str
    masked_id: str         # "" when no identity number is on file
    first_item: str
    more_items: int        # the number of items when more than one, else 0
    received_on: Any       # a date or ""
    status: str            # the stored code ("none" when empty: the CSS class)
    status_label: str
    late: bool
    due_on: Any            # a date or "—"
    provisional: bool
    overdue: bool
    days: int | None       # working days left (negative once passed), None while no clock runs
    days_class: str
    outcome: str
    assignee: str          # the clerk's name, "—" when unassigned


#: ``{{ v }}``'s escaping of a ``str`` (markupsafe's: & < > ' "), done in C by ``str.translate``
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def html_text(value: Any) -> str:
    """``{{ value }}``'s text as Jinja's autoescape writes it: a ``str`` by ``str.translate`` (in C),
    anything else by markupsafe (a Markup as it is). The one escape of the pages written in Python
    (list_html.py, dashboard_html.py, case_html.py)."""
    return value.translate(_ESCAPE) if type(value) is str else str(escape(value))


def _days_cell(n: int | None) -> str:
    return "—" if n is None else f"已逾期{-n}日" if n < 0 else f"{n}日"


class ShownRows(list):
    """The page's ``ShownRow``s; ``html`` writes them as the table's rows."""

    def html(self, checkboxes: Any) -> Markup:
        """The rows of the list's ``<tbody>``, byte for byte as the template's loop wrote them (each
        cell's ``{{ }}`` escaped as markupsafe escapes; ``checkboxes``: the bulk assignment's column):
        the loop cost about 40 Python calls a row (16 escapes, each two calls), this one a row. The
        number, applicant, item text, outcome and clerk are ``str`` (NOT NULL columns; the outcome's
        wording, "—"), escaped by ``translate``; the dates (or "", "—") written as ``str`` writes them,
        which is what their escaping wrote."""
        e = _ESCAPE
        return Markup("".join([
            "\n    \n    <tr>\n      "
            + (f'<td class="no-print"><input type="checkbox" name="case_ids" value="{r.id}" class="row-check" '
               f'aria-label="选择{r.number.translate(e)}"></td>' if checkboxes else "")
            + f'\n      <td class="nowrap"><a href="{r.url.translate(e)}">{r.number.translate(e)}</a></td>'
            f'\n      <td class="nowrap">{r.applicant.translate(e)}'
            + (f'<br><span class="muted mono">{r.masked_id.translate(e)}</span>' if r.masked_id else "")
            + f'</td>\n      <td class="clip">{r.first_item.translate(e)}'
            + (f' <span class="muted">等{r.more_items}项</span>' if r.more_items else "")
            + f'</td>\n      <td class="mono nowrap">{r.received_on}</td>'
            f'\n      <td class="nowrap"><span class="status status-{r.status.translate(e)}">'
            f'{r.status_label.translate(e)}</span>'
            + (' <span class="badge badge-danger">逾期答复</span>' if r.late else "")
            + f'</td>\n      <td class="mono nowrap">{r.due_on}'
            + (' <span class="badge badge-provisional">暂定</span>' if r.provisional else "")
            + (' <span class="badge badge-danger">已逾期</span>' if r.overdue else "")
            + f'</td>\n      <td class="days {r.days_class} nowrap" data-days="{"" if r.days is None else r.days}">'
            f'{_days_cell(r.days)}</td>\n      <td>{r.outcome.translate(e)}</td>'
            f'\n      <td class="nowrap">{r.assignee.translate(e)}</td>\n    </tr>\n    '
            for r in self]))


def shown_rows(rows: Iterable[Any], today: date, cal: WorkCalendar, case_url: str) -> ShownRows:
    """The cells of each row (``rows``: of ``list_columns``); ``case_url``: the case
    page's address without the id (``url_for`` once for the page, not once a row)."""
    out = ShownRows()
    for r in rows:
        n = days_left(r, today, cal)
        count = r.item_count
        out.append(ShownRow(
            r.id, f"{case_url}{r.id}", r.number, r.applicant_name, mask_id(r.id_number) if r.id_number else "",
            r.first_item if count else "", count if count > 1 else 0, r.received_on or "",
            r.status or "none", status_zh(r.status), bool(r.late), r.due_on or "—", bool(r.due_provisional),
            overdue_row(r, today), n, urgency(n), _OUTCOME_TEXT.get(r.outcome) or outcome_text(r.outcome),
            r.assignee if r.assigned_to_id is not None else "—"))
    return out


#: each role's wording, escaped once (its HTML in an option)
_ROLE_HTML = {code: str(escape(label)) for code, label in ROLE_ZH.items()}


def assignee_options(assignees: Iterable[Any]) -> Markup:
    """The bulk assignment's options, one ``<option value="ID">NAME（ROLE）</option>`` a clerk
    (``assignees``: cases/services/desk.assignable_users' rows), as the template's loop wrote them
    (``role_zh``'s wording): an agency's hundred clerks were about 2,800 Python calls of that loop (7
    pieces output and 3 escapes an option), now a ``translate`` each (markupsafe's escaping, in C)."""
    return Markup("".join([
        f'<option value="{id}">{html_text(name)}'
        f'（{_ROLE_HTML.get(role) or escape(role or "")}）</option>'
        for id, name, role, _agency in assignees]))
