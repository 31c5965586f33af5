"""The clerk's dashboard: the status counts and the lists of cases needing action today.

Bounded whatever the size of the database (issue 15): each list shows at most DASHBOARD_ROWS cases
(its most urgent) and links to the case list filtered the same way (``/cases?list=NAME``); its badge
counts the cases it stands for exactly up to COUNT_CAP and as "1000+" above (a shorter list is its own
count). A list is one statement: its rows as plain columns (``ListRow``) and its capped count beside
them; the cases of each status, mine and the agency's, one statement each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, literal, literal_column, select, union_all

from webapp.cases.services.clock import overdue_branches
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import Status
from webapp.extensions import db
from webapp.models import Applicant, Case, User

from . import queries
from .queries import first_rows, special_list, visible

DASHBOARD_ROWS = 20
STATUS_ORDER = [s.value for s in Status]


class Person(NamedTuple):
    name: str
    id_number: str | None


class Clerk(NamedTuple):
    display_name: str


#: what a list shows of a case (templates/cases/_macros.html case_table), read as plain columns
_SHOWN = (Case.id, Case.number, Case.received_on, Case.status, Case.extended, Case.due_on, Case.due_provisional,
          Case.correction_notice_due_on, Case.correction_reply_by, Case.fee_due_on)


class ListRow:
    """A case as a dashboard list shows it: its columns in ``_SHOWN``, its applicant's name and
    identity number (``applicant``) and its clerk's name (``assigned_to``, None when unassigned).
    Read as plain columns of one statement rather than as Case objects with their applicants,
    clerks and items (the items were loaded and never shown): the ORM's objects were most of the
    Python work that grew with the rows (40 rows on a government's dashboard, 9 on the demo's)."""

    __slots__ = (*(c.key for c in _SHOWN), "applicant", "assigned_to")

    def __init__(self, row: Any) -> None:
        for name, value in zip(self.__slots__[:len(_SHOWN)], row[:len(_SHOWN)], strict=True):
            setattr(self, name, value)
        n = len(_SHOWN)
        self.applicant = Person(row[n + 1], row[n + 2]) if row[n] is not None else None
        self.assigned_to = Clerk(row[n + 4]) if row[n + 3] is not None else None


def _rows(first: Any, order: Any, matches: Any) -> tuple[list[ListRow], int]:
    """The cases of the ids ``first`` selects, in the list's order, and the rows of ``matches``
    counted up to COUNT_CAP + 1, in one statement (the count a scalar subquery beside the rows:
    a full list's count was a statement of its own)."""
    capped = matches.order_by(None).with_only_columns(literal_column("1")).limit(queries.COUNT_CAP + 1).subquery()
    total = select(func.count()).select_from(capped).scalar_subquery()
    q = select(*_SHOWN, Applicant.id, Applicant.name, Applicant.id_number, Case.assigned_to_id, User.display_name,
               total.label("total")) \
        .select_from(Case).outerjoin(Applicant, Applicant.id == Case.applicant_id) \
        .outerjoin(User, User.id == Case.assigned_to_id) \
        .where(Case.id.in_(first.scalar_subquery())).order_by(order, Case.id)
    found = db.session.execute(q).all()
    return [ListRow(r) for r in found], found[0].total if found else 0


def counts_by_status(agency_ids: list[int], assigned_to_id: int | None = None) -> dict[str, int]:
    """The cases of each status, each counted up to COUNT_CAP, in one statement: a government's
    closed cases are most of a million rows and its open ones thousands, and the dashboard links to
    them rather than counting them all on every visit. (The open statuses counted exactly read every
    open case of every agency for a government on the million-case bench: 15,866 index entries, each
    tested against its 51 agencies, 5-7 ms; capped, at most 1,001 per status.)"""
    mine = assigned_to_id is not None
    params = {"agency_ids": list(agency_ids), "cap": queries.COUNT_CAP + 1}
    if mine:
        params["assigned_to_id"] = assigned_to_id
    got = dict(db.session.execute(_by_status(db.session.get_bind().dialect.name, mine), params).all())
    return {s: got.get(s, 0) for s in STATUS_ORDER}


@functools.cache
def _by_status(dialect: str, mine: bool) -> Any:
    """counts_by_status's statement, built once (its values are parameters): building its ten
    selects on every dashboard cost three times the CPU time of running it."""
    if dialect == "postgresql":     # the agencies as one array parameter (``_among``)
        scope = [Case.agency_id == any_(bindparam("agency_ids", type_=ARRAY(Integer)))]
    else:
        scope = [Case.agency_id.in_(bindparam("agency_ids", expanding=True))]
    if mine:
        scope.append(Case.assigned_to_id == bindparam("assigned_to_id"))
    each = []
    for status in STATUS_ORDER:
        first = select(Case.id).where(*scope, Case.status == status).limit(bindparam("cap")).subquery()
        each.append(select(literal(status).label("status"), func.count().label("n")).select_from(first))
    return union_all(*each)


@dataclass
class Dashboard:
    mine: dict[str, int]
    agency: dict[str, int]
    due_soon: list[ListRow] = field(default_factory=list)
    overdue: list[ListRow] = field(default_factory=list)
    notices_due: list[ListRow] = field(default_factory=list)
    correction_lapses: list[ListRow] = field(default_factory=list)
    fee_lapses: list[ListRow] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)   # list name -> its cases, counted up to COUNT_CAP
    due_soon_until: date | None = None
    notices_until: date | None = None
    holiday_notice_missing: int | None = None   # the year whose notice is missing


def dashboard(agency_ids: list[int], user_id: int, today: date, cal: WorkCalendar) -> Dashboard:
    d = Dashboard(mine=counts_by_status(agency_ids, user_id), agency=counts_by_status(agency_ids))
    scope = visible(agency_ids)
    for name in ("due_soon", "overdue", "notices_due", "correction_lapses", "fee_lapses"):
        where, order = special_list(name, today, cal)
        # the first ids in a subquery (index-only for the clock's lists: ix_case_overdue_cover), then
        # their rows: reading whole rows first fetched a government's 4,600 overdue cases to sort them
        if name == "overdue":
            first, matches = _overdue_first(scope, today)
        else:
            first = select(Case.id).where(scope, *where).order_by(order, Case.id).limit(DASHBOARD_ROWS)
            matches = select(Case.id).where(scope, *where)
        rows, total = _rows(first, order, matches)
        setattr(d, name, rows)
        # a full list stands for more: counted up to COUNT_CAP (the case list pages through them all)
        d.totals[name] = len(rows) if len(rows) < DASHBOARD_ROWS else total
    d.due_soon_until = cal.add_workdays(today, 3)
    d.notices_until = cal.add_workdays(today, 2)
    # rules.md §1: from 1 November, warn while next year's State Council notice is missing
    next_year = today.year + 1
    if today.month >= 11 and cal.is_provisional(date(next_year, 1, 1)):
        d.holiday_notice_missing = next_year
    return d


def _overdue_first(scope, today: date):
    """The overdue list's first ids and all its matches, each read as its two branches joined
    (cases/services/clock.overdue_branches): each branch's first DASHBOARD_ROWS on its own index
    (ix_case_overdue_cover index-only, ix_case_paused_due), then the earliest of those. Both
    branches in one condition made PostgreSQL OR two bitmaps and read every overdue row of a
    government from the table (6,700 blocks, 19 ms; its count 1,500 blocks, 8 ms)."""
    tops, every = [], []
    for branch, due in overdue_branches(today):
        top = first_rows(select(Case.id, due.label("due")).where(scope, *branch), "due", due, DASHBOARD_ROWS)
        top = top.subquery()
        tops.append(select(top.c.id, top.c.due))
        every.append(select(Case.id).where(scope, *branch))
    joined = union_all(*tops).subquery()
    first = select(joined.c.id).order_by(joined.c.due, joined.c.id).limit(DASHBOARD_ROWS)
    matches = union_all(*every).subquery()
    return first, select(matches.c.id).select_from(matches)
