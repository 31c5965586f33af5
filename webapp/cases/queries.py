"""Read-only queries of the dashboard and the search, always scoped to the visible agencies.

Sized for a province (issue 15: a million cases, a government over 50 departments): every list
loads its rows' applicants, items and clerks in a fixed number of statements; a page of results is
fetched with one row more than it shows (that row says whether there is a next page) and the total
is counted only up to COUNT_CAP; the dashboard counts the open statuses exactly (index-only on
``ix_case_agency_status_due``) and the closed cases only up to COUNT_CAP; text and names are
matched through pg_trgm GIN indexes on PostgreSQL (a name shorter than 3 characters, which has no
trigram, by its whole or its beginning on the btree index).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import selectinload

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, Status
from webapp.extensions import db
from webapp.models import Applicant, Case, CaseItem
from webapp.services.cases import overdue_clause

PER_PAGE = 25
LIST_LIMIT = 100
COUNT_CAP = 1000      # a total above it shows as "1000+"
APPLICANT_IDS_CAP = 5000   # applicants a name search resolves to ids first (more: a subquery)
MIN_TRIGRAM = 3       # pg_trgm indexes nothing shorter: a shorter name is matched whole or by prefix
STATUS_ORDER = [s.value for s in Status]
OPEN_STATUSES = [s.value for s in Status if s is not Status.CLOSED]


def with_rows(q):
    """What a list shows of each case, loaded for all its rows at once (one statement each)."""
    return q.options(selectinload(Case.applicant), selectinload(Case.items), selectinload(Case.assigned_to))


def capped_count(q, cap: int = COUNT_CAP) -> int:
    """The rows of ``q``, counted up to ``cap + 1`` (so ``> cap`` means "more than cap")."""
    inner = q.order_by(None).with_only_columns(literal_column("1")).limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(inner)) or 0


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def counts_by_status(agency_ids: list[int], assigned_to_id: int | None = None) -> dict[str, int]:
    """Exact counts of the open statuses (few rows, read from the (agency, status, due) index) and
    the closed cases counted up to COUNT_CAP: a government's closed cases are most of a million rows,
    and the dashboard links to them rather than counting them on every visit."""
    scope = [Case.agency_id.in_(agency_ids)]
    if assigned_to_id is not None:
        scope.append(Case.assigned_to_id == assigned_to_id)
    q = select(Case.status, func.count()).where(*scope, Case.status.in_(OPEN_STATUSES)).group_by(Case.status)
    got = {status: n for status, n in db.session.execute(q) if status}
    got[Status.CLOSED.value] = capped_count(select(Case.id).where(*scope, Case.status == Status.CLOSED.value))
    return {s: got.get(s, 0) for s in STATUS_ORDER}


def count_text(n: int) -> str:
    """A capped count as shown: "1000+" above COUNT_CAP."""
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)


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
        rows = list(db.session.scalars(with_rows(select(Case).where(scope, *where).order_by(order, Case.id)
                                                 .limit(LIST_LIMIT))))
        # the badge counts them all, when there are more than a list shows
        d.totals[name] = len(rows) if len(rows) < LIST_LIMIT else (
            db.session.scalar(select(func.count(Case.id)).where(scope, *where)) or 0)
        return rows

    d.due_soon_until = cal.add_workdays(today, 3)
    d.due_soon = cases("due_soon", running, Case.due_on >= today, Case.due_on <= d.due_soon_until)
    d.overdue = cases("overdue", overdue_clause(today), order=func.coalesce(Case.due_on, Case.paused_due_on))
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


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def applicant_match(a: str):
    """The applicants a search term names: an identity number or USCC exactly, or the name. A name
    term of MIN_TRIGRAM characters or more is found anywhere in the name (a pg_trgm GIN index on
    PostgreSQL); a shorter one - a two-character name such as 王芳 - has no trigram to look up, so
    it matches the whole name or its beginning (the btree index on the name)."""
    a = a.strip()
    if len(a) >= MIN_TRIGRAM:
        name = Applicant.name.ilike(_like(a), escape="\\")
    else:          # a range on the btree: exactly the names beginning with it in code-point order
        # (SQLite; PostgreSQL with a C or C.UTF-8 collation). A LIKE beside it made PostgreSQL
        # misjudge how many names match (1,165 estimated, 50,000 read for 王伟 in bench/province.py).
        name = and_(Applicant.name >= a, Applicant.name < a + "\U0010ffff")
    return or_(name, Applicant.id_number == a.upper(), Applicant.uscc == a.upper())


def item_match(text: str):
    """The items a search term is found in (a pg_trgm GIN index on PostgreSQL)."""
    return CaseItem.text.ilike(_like(text.strip()), escape="\\")


def search_filters(agency_ids: list[int], *, number: str = "", applicant: str = "", text: str = "",
                   date_from: date | None = None, date_to: date | None = None, status: str = "",
                   assigned_to_id: int | None = None, special: str = "", today: date | None = None) -> Filters:
    where = Filters()
    if number:
        where.append(or_(Case.number.ilike(_like(number.strip()), escape="\\"),
                         Case.ref.ilike(_like(number.strip()), escape="\\")))
    if applicant:
        # the applicants first (trigram or btree index), then their cases by ix_case_applicant_id:
        # left to itself PostgreSQL walks a large agency's cases newest first and tests each one's
        # applicant (it cannot tell how few names a trigram pattern matches): 600 ms for 王伟芳
        # (each case has its own applicant row, of the case's agency: services/applicant_records.py)
        match = select(Applicant.id).where(Applicant.agency_id.in_(agency_ids), applicant_match(applicant))
        ids = list(db.session.scalars(match.limit(APPLICANT_IDS_CAP + 1)))
        where.append(Case.applicant_id.in_(ids if len(ids) <= APPLICANT_IDS_CAP else match))
        where.narrow = True
    if text:
        where.append(exists().where(and_(CaseItem.case_id == Case.id, item_match(text))))
        where.narrow = True
    if date_from:
        where.append(Case.received_on >= date_from)
    if date_to:
        where.append(Case.received_on <= date_to)
    if status:
        where.append(Case.status == status)
        where.narrow |= status in OPEN_STATUSES      # few: the (agency, status, due) index finds them
    if assigned_to_id is not None:
        where.append(Case.assigned_to_id == assigned_to_id)
    if special == "overdue" and today is not None:
        where.append(overdue_clause(today))
        where.narrow = True
    return where


class Filters(list):
    """The conditions of a search; ``narrow`` when an index of their own finds the matches (a name,
    a text, an open status, the overdue list) rather than a walk through each agency's newest
    cases: for a government, the merge of 51 such walks took 1.2 s to find that no item matched."""

    narrow = False


@dataclass
class Search:
    """A search: the visible agencies and the filters. ``page`` reads one page of it."""

    agency_ids: list[int]
    where: list
    sort: str = DEFAULT_SORT

    def query(self) -> Any:
        """Every matching case, in the list's order (newest first unless sorted otherwise)."""
        return _order(select(Case).where(Case.agency_id.in_(self.agency_ids), *self.where), self.sort)

    def page_ids(self, offset: int, limit: int) -> Any:
        """The ids of rows offset..offset+limit of ``query()``. For several agencies on PostgreSQL,
        a merge of one ordered scan of ``ix_case_agency_received`` per agency: a single
        ``agency_id IN (...) ORDER BY received_on DESC`` cannot use the index's order and sorts every
        case of a government."""
        order = (Case.received_on.desc(), Case.id.desc())
        if len(self.agency_ids) == 1 or getattr(self.where, "narrow", False) or not _is_postgresql() \
                or self.sort != DEFAULT_SORT:
            return _order(select(Case.id).where(Case.agency_id.in_(self.agency_ids), *self.where), self.sort) \
                .offset(offset).limit(limit)
        branches = [select(Case.id, Case.received_on).where(Case.agency_id == a, *self.where)
                    .order_by(*order).limit(offset + limit) for a in sorted(set(self.agency_ids))]
        merged = union_all(*[b.subquery().select() for b in branches]).subquery()
        return (select(merged.c.id).order_by(merged.c.received_on.desc(), merged.c.id.desc())
                .offset(offset).limit(limit))

    def page(self, page: int) -> Pager:
        offset = (page - 1) * PER_PAGE
        ids = list(db.session.scalars(self.page_ids(offset, PER_PAGE + 1)))
        has_next = len(ids) > PER_PAGE
        ids = ids[:PER_PAGE]
        rows = {c.id: c for c in db.session.scalars(with_rows(select(Case).where(Case.id.in_(ids))))} \
            if ids else {}
        items = [rows[i] for i in ids]
        if not has_next and (items or page == 1):   # the last page: the total is known
            return Pager(items=items, page=page, total=offset + len(items), has_next=False, exact=True)
        # a page with more after it, or one past the end: counted up to COUNT_CAP
        total = capped_count(select(Case.id).where(Case.agency_id.in_(self.agency_ids), *self.where))
        if not items and 0 < total <= COUNT_CAP:      # a page number past the last shows the last page
            return self.page(-(-total // PER_PAGE))
        return Pager(items=items, page=page, total=total, has_next=has_next)


def search_query(agency_ids: list[int], sort: str = DEFAULT_SORT, **filters: Any) -> Any:
    """Every matching case in the list's order (for exports and tests; the list pages with ``Search``)."""
    return Search(agency_ids, search_filters(agency_ids, **filters), sort_key(sort)).query()


@dataclass
class Pager:
    """One page of a list, without counting every matching row: ``total`` is exact up to COUNT_CAP
    and "more than COUNT_CAP" above it (``capped``); ``has_next`` comes from reading one row more
    than the page shows."""

    items: list
    page: int
    total: int
    has_next: bool
    exact: bool = False      # read on the last page: exact whatever its size
    per_page: int = PER_PAGE

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP and not self.exact

    @property
    def total_text(self) -> str:
        return count_text(self.total)

    @property
    def pages(self) -> int:
        known = -(-(self.total if self.exact else min(self.total, COUNT_CAP)) // self.per_page)
        return max(known, self.page + 1 if self.has_next else self.page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(self, left_edge: int = 1, left_current: int = 2, right_current: int = 3,
                   right_edge: int = 1):
        """As Flask-SQLAlchemy's: page numbers with None for a gap; past the cap no last page."""
        pages = self.pages
        last = None if self.capped else pages
        shown = set(range(1, min(left_edge, pages) + 1))
        shown |= set(range(max(1, self.page - left_current), min(pages, self.page + right_current) + 1))
        if last is not None:
            shown |= set(range(max(1, last - right_edge + 1), last + 1))
        prev = 0
        for p in sorted(shown):
            if p != prev + 1:
                yield None
            yield p
            prev = p
