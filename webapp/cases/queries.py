"""Read-only queries of the dashboard and the search, always scoped to the visible agencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, Status
from webapp.extensions import db
from webapp.models import Applicant, Case, CaseItem

PER_PAGE = 25
LIST_LIMIT = 100
STATUS_ORDER = [s.value for s in Status]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def counts_by_status(agency_ids: list[int], assigned_to_id: int | None = None) -> dict[str, int]:
    q = select(Case.status, func.count(Case.id)).where(Case.agency_id.in_(agency_ids)).group_by(Case.status)
    if assigned_to_id is not None:
        q = q.where(Case.assigned_to_id == assigned_to_id)
    got = {status: n for status, n in db.session.execute(q) if status}
    return {s: got.get(s, 0) for s in STATUS_ORDER}


@dataclass
class Dashboard:
    mine: dict[str, int]
    agency: dict[str, int]
    due_soon: list[Case] = field(default_factory=list)
    overdue: list[Case] = field(default_factory=list)
    notices_due: list[Case] = field(default_factory=list)
    correction_lapses: list[Case] = field(default_factory=list)
    fee_lapses: list[Case] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)   # list name -> every case it stands for
    list_limit: int = LIST_LIMIT
    due_soon_until: date | None = None
    notices_until: date | None = None
    holiday_notice_missing: int | None = None   # the year whose notice is missing


def dashboard(agency_ids: list[int], user_id: int, today: date, cal: WorkCalendar) -> Dashboard:
    d = Dashboard(mine=counts_by_status(agency_ids, user_id), agency=counts_by_status(agency_ids))
    scope = Case.agency_id.in_(agency_ids)
    registered = Case.status == Status.REGISTERED.value
    running = Case.status.in_(CLOCK_RUNS_IN)      # due_on is set only while the clock runs

    def cases(name: str, *where, order=Case.due_on) -> list[Case]:
        rows = list(db.session.scalars(select(Case).where(scope, *where).order_by(order, Case.id)
                                       .limit(LIST_LIMIT)))
        # the badge counts them all, when there are more than a list shows
        d.totals[name] = len(rows) if len(rows) < LIST_LIMIT else (
            db.session.scalar(select(func.count(Case.id)).where(scope, *where)) or 0)
        return rows

    d.due_soon_until = cal.add_workdays(today, 3)
    d.due_soon = cases("due_soon", running, Case.due_on >= today, Case.due_on <= d.due_soon_until)
    d.overdue = cases("overdue", running, Case.due_on < today)
    d.notices_until = cal.add_workdays(today, 2)
    d.notices_due = cases("notices_due", registered, Case.correction_notice_due_on >= today,
                          Case.correction_notice_due_on <= d.notices_until, order=Case.correction_notice_due_on)
    d.correction_lapses = cases("correction_lapses", Case.status == Status.AWAITING_CORRECTION.value,
                                Case.correction_reply_by < today,
                                order=Case.correction_reply_by)
    d.fee_lapses = cases("fee_lapses", Case.status == Status.AWAITING_FEE.value, Case.fee_due_on < today,
                         order=Case.fee_due_on)
    # rules.md §1: from 1 November, warn while next year's State Council notice is missing
    next_year = today.year + 1
    if today.month >= 11 and cal.is_provisional(date(next_year, 1, 1)):
        d.holiday_notice_missing = next_year
    return d


#: the case list's sort keys (the ``sort`` argument; a leading "-" reverses): whitelisted, never a
#: column name taken from the request. 答复期限 and days left order alike (days left is read from the
#: stored due_on); cases without a running clock come last either way.
SORT_KEYS = {"received": "收到日期", "due": "答复期限", "days_left": "剩余工作日"}
DEFAULT_SORT = "-received"


def sort_key(raw: str | None) -> str:
    """The sort argument if whitelisted, else the default (newest received first)."""
    raw = (raw or "").strip()
    return raw if raw.lstrip("-") in SORT_KEYS and raw.count("-") <= 1 and not raw.endswith("-") else DEFAULT_SORT


def _order(q, sort: str):
    key, desc = sort.lstrip("-"), sort.startswith("-")
    if key == "received":
        col = Case.received_on
        return q.order_by(col.desc() if desc else col.asc(), Case.id.desc() if desc else Case.id.asc())
    # due / days_left: cases with no running clock (no due_on) last in both directions
    no_clock = case((Case.due_on.is_(None), 1), else_=0)
    col = Case.due_on
    return q.order_by(no_clock, col.desc() if desc else col.asc(), Case.id.desc() if desc else Case.id.asc())


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


def search_query(agency_ids: list[int], *, number: str = "", applicant: str = "", text: str = "",
                 date_from: date | None = None, date_to: date | None = None, status: str = "",
                 assigned_to_id: int | None = None, special: str = "", today: date | None = None,
                 sort: str = DEFAULT_SORT) -> Any:
    q = select(Case).where(Case.agency_id.in_(agency_ids))
    if number:
        q = q.where(or_(Case.number.ilike(_like(number.strip()), escape="\\"),
                        Case.ref.ilike(_like(number.strip()), escape="\\")))
    if applicant:
        a = applicant.strip()
        q = q.where(Case.applicant_id.in_(select(Applicant.id).where(or_(
            Applicant.name.ilike(_like(a), escape="\\"), Applicant.id_number == a.upper(),
            Applicant.uscc == a.upper()))))
    if text:
        q = q.where(exists().where(and_(CaseItem.case_id == Case.id,
                                        CaseItem.text.ilike(_like(text.strip()), escape="\\"))))
    if date_from:
        q = q.where(Case.received_on >= date_from)
    if date_to:
        q = q.where(Case.received_on <= date_to)
    if status:
        q = q.where(Case.status == status)
    if assigned_to_id is not None:
        q = q.where(Case.assigned_to_id == assigned_to_id)
    if special == "overdue" and today is not None:
        q = q.where(Case.status.in_(CLOCK_RUNS_IN), Case.due_on < today)
    return _order(q, sort_key(sort))


def paginate(q, page: int):
    """One page of the list; a page number past the last shows the last page."""
    pagination = db.paginate(q, page=page, per_page=PER_PAGE, error_out=False, max_per_page=PER_PAGE)
    if page > 1 and pagination.pages and page > pagination.pages:
        pagination = db.paginate(q, page=pagination.pages, per_page=PER_PAGE, error_out=False,
                                 max_per_page=PER_PAGE)
    return pagination
