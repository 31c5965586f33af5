"""A page of the whole case list (``/cases?page=N``: no filter, no special list) in one statement, built
once per process for each sort (webapp/prebuilt.py).

A filtered search reads a page in three statements (cases/queries.Search._page: the page's ids, their
rows, the capped count). The whole list has the same shape for every user: its PER_PAGE + 1 ids in
the list's order (a subquery, planned alone, LIMIT and all: PostgreSQL walks
ix_case_received_id_cover as before), a window counting them (``found``: more than PER_PAGE means a
next page), the first PER_PAGE joined to their rows (cases/list_rows.list_columns: the one more is
joined to nothing) and the list's count up to COUNT_CAP as ``CASE WHEN found > PER_PAGE THEN (count)
END``, an InitPlan that PostgreSQL runs only when the CASE needs it (a last page reads no count).

The visible agencies are an expanding parameter; the offset and the limits are written into the
text (each page number its own text): PostgreSQL's plan cache settles on a generic plan, where a
parameter's LIMIT or OFFSET (taken for a tenth of the table) kept the page's ids planned anew on
every execution. Filtered searches stay on their separate statements: a combined statement with
their conditions was planned worse for a government's common two-character name (BENCHMARKS.md,
Load, "case list, round 2").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, case, func, literal_column, select

from webapp.extensions import db
from webapp.models import Case
from webapp.prebuilt import prebuilt

from . import queries
from .list_rows import list_columns, list_joins
from .pager import Pager
from .queries import _order, capped


def _literal(n: int) -> Any:
    """``n`` written in the statement's text."""
    return literal_column(str(int(n)), Integer)


def _build(sort: str, per_page: int, cap: int) -> Any:
    scope = Case.agency_id.in_(bindparam("agencies", expanding=True))
    offset = bindparam("offset", type_=Integer, literal_execute=True)
    key = Case.received_on if sort.lstrip("-") == "received" else Case.due_on
    ids = _order(select(Case.id, key).where(scope), sort).offset(offset).limit(_literal(per_page + 1)).subquery()
    shown = _order(select(*ids.c, func.count().over().label("found")), sort, ids.c) \
        .limit(_literal(per_page)).subquery()
    count = capped(select(Case.id).where(scope), cap, _literal)
    stmt = list_joins(select(*list_columns(), shown.c.found,
                             case((shown.c.found > per_page, count)).label("capped"))
                      .select_from(shown).join(Case, Case.id == shown.c.id))
    return _order(stmt, sort, shown.c)


def _rows(agency_ids: list[int], sort: str, offset: int) -> list[Any]:
    """The rows of the whole list's page from ``offset`` (plain rows: ``list_columns``' and ``found``,
    the ids read up to PER_PAGE + 1, and ``capped``, the list's count up to COUNT_CAP + 1 when more
    than PER_PAGE were read, else None), through the session's connection (no ORM result processing)."""
    per_page, cap = queries.PER_PAGE, queries.COUNT_CAP     # (read now: tests set smaller ones)
    stmt = prebuilt(("whole_case_list", sort, per_page, cap), lambda: _build(sort, per_page, cap))
    return db.session.connection().execute(stmt, {"agencies": list(agency_ids), "offset": offset}).all()


def whole_list_page(agency_ids: list[int], sort: str, page: int) -> Pager:
    """Page ``page`` of the whole list of the agencies ``agency_ids`` (queries.Search.page without a
    filter): the total exact on the last page, else counted up to COUNT_CAP in the same statement; a
    page past the last counts the cases (a statement of its own) and shows the last page."""
    per_page, cap = queries.PER_PAGE, queries.COUNT_CAP
    offset = (page - 1) * per_page
    items = _rows(agency_ids, sort, offset)
    has_next = bool(items) and items[0].found > per_page
    if not has_next and (items or page == 1):   # the last page: the total is known
        return Pager(items=items, page=page, total=offset + len(items), has_next=False, exact=True,
                     per_page=per_page, cap=cap)
    if items:       # more after it: counted up to COUNT_CAP by the page's statement
        return Pager(items=items, page=page, total=items[0].capped, has_next=True, per_page=per_page, cap=cap)
    total = queries.capped_count(select(Case.id).where(Case.agency_id.in_(agency_ids)), cap)
    if 0 < total <= cap:      # a page number past the last shows the last page
        return whole_list_page(agency_ids, sort, -(-total // per_page))
    return Pager(items=items, page=page, total=total, has_next=False, per_page=per_page, cap=cap)
