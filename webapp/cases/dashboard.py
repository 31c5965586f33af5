"""The clerk's dashboard: the status counts and the lists of cases needing action today.

Bounded whatever the size of the database (issue 15): each list shows at most DASHBOARD_ROWS cases
(its most urgent) and links to the case list filtered the same way (``/cases?list=NAME``); its badge
counts the cases it stands for exactly up to COUNT_CAP and as "1000+" above, and only when the list
is full (a shorter list is its own count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, union_all

from webapp.cases.services.clock import overdue_branches
from webapp.domain.calendar import WorkCalendar
from webapp.extensions import db
from webapp.models import Case

from .queries import capped_count, counts_by_status, special_list, visible, with_rows

DASHBOARD_ROWS = 20


@dataclass
class Dashboard:
    mine: dict[str, int]
    agency: dict[str, int]
    due_soon: list[Case] = field(default_factory=list)
    overdue: list[Case] = field(default_factory=list)
    notices_due: list[Case] = field(default_factory=list)
    correction_lapses: list[Case] = field(default_factory=list)
    fee_lapses: list[Case] = field(default_factory=list)
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
        rows = list(db.session.scalars(with_rows(select(Case).where(Case.id.in_(first.scalar_subquery()))
                                                 .order_by(order, Case.id), items=False)))
        setattr(d, name, rows)
        # a full list stands for more: counted up to COUNT_CAP (the case list pages through them all)
        d.totals[name] = len(rows) if len(rows) < DASHBOARD_ROWS else capped_count(matches)
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
        top = select(Case.id, due.label("due")).where(scope, *branch).order_by(due, Case.id).limit(DASHBOARD_ROWS)
        top = top.subquery()
        tops.append(select(top.c.id, top.c.due))
        every.append(select(Case.id).where(scope, *branch))
    joined = union_all(*tops).subquery()
    first = select(joined.c.id).order_by(joined.c.due, joined.c.id).limit(DASHBOARD_ROWS)
    matches = union_all(*every).subquery()
    return first, select(matches.c.id).select_from(matches)
