"""Read-only queries of the dashboard and the search, always scoped to the visible agencies.

Sized for a province (issue 15: a million cases, a government over 50 departments): every list
loads its rows' applicants, items and clerks in a fixed number of statements; a page of results is
fetched with one row more than it shows (that row says whether there is a next page) and the total
is counted only up to COUNT_CAP - or, for a search whose matches are read all at once (a rare name),
counted exactly in the page's own statement; or, for one that tests the cases one by one (item text,
case number, a common name), not counted at all while more pages follow; a name's page is read from
an index in the list's order (cases/name_search.py); the dashboard's cases of
each status are counted up to COUNT_CAP too; text and names are matched through pg_trgm GIN indexes
on PostgreSQL (a name shorter than 3 characters, which has no trigram, by its whole or its beginning
on the btree index).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import joinedload, selectinload

from webapp.cases.services import overdue_clause
from webapp.cases.services.clock import overdue_branches, standing_due_on
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, Status
from webapp.extensions import db
from webapp.models import Case, CaseItem

from .matching import MIN_TRIGRAM, applicant_match, contains, item_match, name_match  # noqa: F401 (also read here)
from .name_search import applicant_filter
from .pager import Pager, capped_text

PER_PAGE = 25
COUNT_CAP = 1000      # a total above it shows as "1000+"
APPLICANT_IDS_CAP = 2000   # applicants a name search resolves to ids first (more: a walk, see below)
#: index entries a page of a name's cases may read per (agency, name) pair from
#: ix_case_agency_applicant_name: (agencies x names) x (rows before and on the page); more (a deep page
#: of many names), the name's cases are read and sorted (at most those of APPLICANT_IDS_CAP applicants)
NAME_PAGE_BUDGET = 6000
NAMES_CAP = 50        # names on file a name term may stand for (more: the applicants are looked up)


def with_rows(q):
    """What a list shows of each case, loaded for all its rows at once: the applicant and the assignee
    joined into the cases' statement (one row each: no round trip of their own), the items in one
    statement."""
    return q.options(joinedload(Case.applicant), joinedload(Case.assigned_to), selectinload(Case.items))


def capped(q, cap: int = COUNT_CAP, lit: Any = int):
    """The count of the rows of ``q`` up to ``cap + 1`` (so ``> cap`` means "more than cap"), as a
    scalar subquery: a statement of its own (``capped_count``) or a column of another (the dashboard,
    the whole list's page); ``lit``: how the limit is written (cases/whole_list.py: in the text)."""
    inner = q.order_by(None).with_only_columns(literal_column("1")).limit(lit(cap + 1)).subquery()
    return select(func.count()).select_from(inner).scalar_subquery()


def capped_count(q, cap: int = COUNT_CAP) -> int:
    """The rows of ``q``, counted up to ``cap + 1``."""
    return db.session.scalar(select(capped(q, cap))) or 0




def count_text(n: int) -> str:
    """A capped count as shown: "1000+" above COUNT_CAP."""
    return capped_text(n, COUNT_CAP)


#: the dashboard's lists, each also a case list (``/cases?list=NAME``): its title there
SPECIAL_LISTS = {"overdue": "已逾期", "due_soon": "3个工作日内到期", "notices_due": "补正告知即将到期",
                 "correction_lapses": "逾期未补正", "fee_lapses": "逾期未缴费"}


NEEDS_CALENDAR = ("due_soon", "notices_due")    # counted in working days from today


def special_list(name: str, today: date, cal: WorkCalendar | None) -> tuple[list, Any]:
    """The conditions of one of SPECIAL_LISTS on ``today`` and the column the dashboard orders it by."""
    running = Case.status.in_(CLOCK_RUNS_IN)      # due_on is set only while the clock runs
    if name == "overdue":
        return [overdue_clause(today)], standing_due_on()
    if name == "due_soon":
        return [running, Case.due_on >= today, Case.due_on <= cal.add_workdays(today, 3)], Case.due_on
    if name == "notices_due":
        return [Case.status == Status.REGISTERED.value, Case.correction_notice_due_on >= today,
                Case.correction_notice_due_on <= cal.add_workdays(today, 2)], Case.correction_notice_due_on
    if name == "correction_lapses":
        return [Case.status == Status.AWAITING_CORRECTION.value, Case.correction_reply_by < today], \
            Case.correction_reply_by
    if name == "fee_lapses":
        return [Case.status == Status.AWAITING_FEE.value, Case.fee_due_on < today], Case.fee_due_on
    raise KeyError(name)


#: the case list's sort keys (the ``sort`` argument; a leading "-" reverses): whitelisted, never a
#: column name taken from the request. 答复期限 and days left order alike (days left is read from the
#: stored due_on); cases without a running clock come last either way.
SORT_KEYS = {"received": "收到日期", "due": "答复期限", "days_left": "剩余工作日"}
DEFAULT_SORT = "-received"
#: the dashboard's lists that open in the dashboard's order (earliest due date first) unless sorted
#: otherwise: its "查看全部" continues the list it shows
LIST_SORTS = {"overdue": "due", "due_soon": "due"}


def sort_key(raw: str | None, special: str = "") -> str:
    """The sort argument if whitelisted, else the default: the dashboard's order for its lists
    (LIST_SORTS), newest received first otherwise."""
    raw = (raw or "").strip()
    default = LIST_SORTS.get(special, DEFAULT_SORT)
    return raw if raw.lstrip("-") in SORT_KEYS and raw.count("-") <= 1 and not raw.endswith("-") else default


def _order(q, sort: str, cols: Any = Case, due: Any = None, due_set: bool = False):
    """``q`` in the list's order; ``cols``: where the columns are read (Case, or a subquery's ``c``);
    ``due``: the due date to sort by, if not ``cols.due_on`` (the overdue list's: the one that stands);
    ``due_set``: every row of ``q`` has that date (a branch of the overdue list), so the rows without
    one need not be put last and an index on the date gives the order as it stands."""
    key, desc = sort.lstrip("-"), sort.startswith("-")
    ident = cols.id.desc() if desc else cols.id.asc()
    if key == "received":
        col = cols.received_on
        return q.order_by(col.desc() if desc else col.asc(), ident)
    # due / days_left: cases with no running clock (no due date) last in both directions
    col = cols.due_on if due is None else due
    if due_set:
        return q.order_by(col.desc() if desc else col.asc(), ident)
    no_clock = case((col.is_(None), 1), else_=0)
    return q.order_by(no_clock, col.desc() if desc else col.asc(), ident)


def first_rows(q, sort: str, due: Any, n: int):
    """The first ``n`` rows of ``q`` in the list's order, where every row has the due date ``due``
    (a branch of the overdue list). In the due order on PostgreSQL: the first ``n`` by the date
    alone and every row sharing the last one's date (``FETCH FIRST n ROWS WITH TIES``), which has
    the first ``n`` by (date, id) among them and is read in the index's order without a sort. Asked
    for (date, id) itself, PostgreSQL sorted all of a branch's rows whenever it expected fewer than
    ``n``, as it does for the largest agency's (it expects 10 of its 819 running overdue cases: it
    takes the status and the passed due date for independent, where a due date is set only while
    the clock runs)."""
    if sort.lstrip("-") != "received" and db.session.get_bind().dialect.name == "postgresql":
        return q.order_by(due.desc() if sort.startswith("-") else due.asc()).fetch(n, with_ties=True)
    return _order(q, sort, due=due, due_set=True).limit(n)


def _among(column, ids: list[int]):
    """``column IN ids``; on PostgreSQL one array parameter (``= ANY``) rather than one per id: the
    statement for 王伟芳's 1,425 applicants in a government is then compiled and sent as a short one."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def visible(agency_ids: list[int]):
    """The visible agencies' cases, their ids as one parameter on PostgreSQL (``_among``): a
    government's 51 ids as 51 parameters in each branch of the dashboard's statements were about a
    fifth of its CPU time (each rendered by SQLAlchemy, then the long statement split anew by psycopg,
    which caches only statements under 4 KB). One agency: an equality, which PostgreSQL takes as a
    condition of the index it walks (the largest agency's overdue page reads 14 buffers of
    ix_case_overdue_cover; as ``= ANY`` of one id it read 59)."""
    if len(agency_ids) == 1:
        return Case.agency_id == agency_ids[0]
    return _among(Case.agency_id, agency_ids)


def search_filters(agency_ids: list[int], *, number: str = "", applicant: str = "", text: str = "",
                   date_from: date | None = None, date_to: date | None = None, status: str = "",
                   assigned_to_id: int | None = None, special: str = "", today: date | None = None,
                   cal: WorkCalendar | None = None) -> Filters:
    where = Filters()
    if number:
        where.append(or_(contains(Case.number, number.strip()), contains(Case.ref, number.strip())))
        where.uncounted = True      # no index: each case's number is tested
    if applicant:      # (cases/name_search.py: the names on file, then the cases by name)
        applicant_filter(where, agency_ids, applicant, APPLICANT_IDS_CAP, NAMES_CAP)
    if text:
        # PostgreSQL walks the cases newest first testing each one's items when the text is
        # common (ix_case_received_id_cover; 1 case in 15 for 财政预算), and finds the items through the
        # trigram index when it is rare. Not counted: counting "1000+" of a common text tested about
        # 15,000 cases' items (BENCHMARKS.md, Province), where the page tests about 400.
        where.append(exists().where(and_(CaseItem.case_id == Case.id, item_match(text))))
        where.uncounted = True
    if date_from:
        where.append(Case.received_on >= date_from)
    if date_to:
        where.append(Case.received_on <= date_to)
    if status:
        where.append(Case.status == status)
    if assigned_to_id is not None:
        where.append(Case.assigned_to_id == assigned_to_id)
    if special in SPECIAL_LISTS and today is not None and (cal is not None or special not in NEEDS_CALENDAR):
        conditions = special_list(special, today, cal)[0]
        where.extend(conditions)
        if special == "overdue":    # its two branches, each read from an index of its own
            where.branches = (conditions[0], overdue_branches(today))
            where.overdue_on = today
    return where


class Filters(list):
    """The conditions of a search, and how its pages are read and counted."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # few matches, named by their applicants' ids: read them all, then sort (and count them
        # exactly in the same statement)
        self.sort_all = False
        # a condition tested case by case (no index names its matches: item text, case number, a
        # common name): a page reads as many cases as it needs, and while more pages follow the
        # total is not counted (a count would test every match up to COUNT_CAP: tens of times the page)
        self.uncounted = False
        self.serial = False      # the statements without parallel workers (see _serial)
        # a name's cases: the names (name_search.applicant_filter) and the condition on Case.applicant_name
        self.names: list[str] | None = None
        self.by_name: Any = None
        self.name_total: int | None = None     # the name's cases, counted without the other conditions
        # (a condition of the list, the branches it is the OR of, each as (its conditions, its due
        # date)): the matches are read as the UNION ALL of one statement per branch, each on its own
        # index (overdue: a BitmapOr of the two indexes read 8,069 of a government's rows from the
        # table, 56 ms; the union reads 4,617 index entries, 5 ms), a page as each branch's first rows
        self.branches: tuple | None = None
        self.overdue_on: date | None = None    # the overdue list's day (alone: cases/overdue.py reads its page)


@contextmanager
def _serial(on: bool):
    """No parallel workers for the statements meanwhile (PostgreSQL; the rest of the transaction is
    unchanged). A common name's walk: PostgreSQL multiplies the name's and the agency's frequencies,
    expects 579 of the largest agency's 6,000 王伟 cases, and splits the walk between workers that
    each read thousands of cases ahead (25,000 for 26 rows); alone it reads about 750."""
    if not on or db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    db.session.execute(sql_text("SET LOCAL max_parallel_workers_per_gather = 0"))
    yield      # (after an error the transaction is rolled back, and the setting with it)
    db.session.execute(sql_text("SET LOCAL max_parallel_workers_per_gather TO DEFAULT"))


@dataclass
class Search:
    """A search: the visible agencies and the filters. ``page`` reads one page of it."""

    agency_ids: list[int]
    where: list
    sort: str = DEFAULT_SORT

    def query(self) -> Any:
        """Every matching case, in the list's order (newest first unless sorted otherwise; the overdue
        list's due date is the one that stands, as on its pages)."""
        due = standing_due_on() if getattr(self.where, "branches", None) else None
        return _order(select(Case).where(Case.agency_id.in_(self.agency_ids), *self.where), self.sort, due=due)

    def page_ids(self, offset: int, limit: int) -> Any:
        """The ids of rows offset..offset+limit of ``query()``. PostgreSQL reads a government's
        newest cases walking ``ix_case_received_id_cover`` (every agency's cases, newest first) and keeping
        those of the visible agencies (57% of the cases for PV000 in bench/province.py): 26 rows read
        about 45, where the merge of one walk per department cost 25 ms and a sort every case."""
        where = [Case.agency_id.in_(self.agency_ids), *self.where]
        if getattr(self.where, "branches", None):
            found = self._firsts(offset + limit).subquery()
            return _order(select(found.c.id), self.sort, found.c).offset(offset).limit(limit)
        by_name = self._by_name(offset, limit)
        if by_name is not None:
            return by_name
        if getattr(self.where, "sort_all", False):
            # a name's cases past ``_by_name`` (SQLite, another order, a deep page of many names) or an
            # identity's (up to APPLICANT_IDS_CAP): read by ix_case_agency_applicant_name or
            # ix_case_applicant_id and sorted, and counted on the way (``total``: a window over them all). The subquery
            # (OFFSET 0 keeps PostgreSQL from flattening it) stops the planner from walking every case
            # newest first looking for them: it thought 822 of 王伟芳's 1,425 cases in a government
            # meant a short walk, and read 10,000 cases
            found = select(Case.id, Case.received_on, Case.due_on, func.count().over().label("total")) \
                .where(*where).offset(0).subquery()
            return _order(select(found.c.id, found.c.total), self.sort, found.c).offset(offset).limit(limit)
        return _order(select(Case.id).where(*where), self.sort).offset(offset).limit(limit)

    def _by_name(self, offset: int, limit: int) -> Any:
        """A page of a name's cases (``where.names``) in the list's order (received, either way), read
        from ix_case_agency_applicant_name: for each visible agency and name, its first
        ``offset + limit`` cases in that order (a LATERAL top-N: the first entries of one range of the
        index), merged - at most agencies x names x (offset + limit) entries, however many people
        share the name (a government's 1,411 cases of 王伟芳 were read and sorted; now at most
        51 x 26 entries of the index, and a count of the name's entries). With the page, the total
        (``total``, exact, as when every match was read). None where this does not apply: not a name,
        another order, a deep page of many names (NAME_PAGE_BUDGET), SQLite (no LATERAL)."""
        names = getattr(self.where, "names", None)
        if names is None or self.sort.lstrip("-") != "received" or getattr(self.where, "branches", None) \
                or db.session.get_bind().dialect.name != "postgresql" \
                or len(self.agency_ids) * len(names) * (offset + limit) > NAME_PAGE_BUDGET:
            return None
        rest = [w for w in self.where if w is not self.where.by_name]
        if not rest and self.where.name_total is not None:     # counted with the names (name_search.py)
            total = literal(self.where.name_total)
        else:
            total = select(func.count()).where(visible(self.agency_ids), *self.where).scalar_subquery()
        agency = func.unnest(bindparam(None, list(self.agency_ids), type_=ARRAY(Integer))) \
            .table_valued("agency_id").render_derived()
        name = func.unnest(bindparam(None, list(names), type_=ARRAY(String))).table_valued("name").render_derived()
        each = _order(select(Case.id, Case.received_on)
                      .where(Case.agency_id == agency.c.agency_id, Case.applicant_name == name.c.name, *rest),
                      self.sort).limit(offset + limit).lateral()
        return _order(select(each.c.id, total.label("total"))
                      .select_from(agency.join(name, true()).join(each, true())), self.sort, each.c) \
            .offset(offset).limit(limit)

    def _union(self, *columns: Any) -> Any:
        """The matches as the UNION ALL of one statement per branch of ``where.branches`` (no case
        is in two: cases/services/clock.overdue_branches). Removing duplicates hashed every match:
        4,500 of a government's overdue cases, most of the page's 9 ms on the million-case bench."""
        return union_all(*(select(*columns).where(*branch) for branch, _due in self._branches()))

    def _branches(self) -> list[tuple[list, Any]]:
        """Each branch of ``where.branches`` with all its conditions (the visible agencies, the
        other filters, its own), and the column of its due date."""
        either, branches = self.where.branches
        rest = [visible(self.agency_ids), *(w for w in self.where if w is not either)]
        return [([*rest, *branch], due) for branch, due in branches]

    def _firsts(self, n: int) -> Any:
        """The first ``n`` matches of each branch in the list's order, joined (UNION ALL): the first
        ``n`` of the list are among them. Each branch's due date is set on its every row and is the
        one that stands (``due_on`` while the clock runs, ``paused_due_on`` while it is paused; never
        both: ck_case_one_due_date), so in the due order a branch is a range of its index read from
        its start: the government's first page reads 26 entries of ix_case_overdue_cover per status
        (index only) where sorting every overdue case by the date that stands fetched 4,551 rows
        from the table (8,001 buffers, 12 ms on the million-case bench)."""
        firsts = []
        for where, due in self._branches():
            first = first_rows(select(Case.id, Case.received_on, due.label("due_on")).where(*where), self.sort, due, n)
            first = first.subquery()
            firsts.append(select(first.c.id, first.c.received_on, first.c.due_on))
        return union_all(*firsts)

    def page(self, page: int, page_statement: Any = None) -> Pager:
        """The page; ``page_statement(search, offset, limit)``: the statement (and its parameters) that
        reads its ids (and a count beside them), if not ``page_ids`` (cases/listing.py)."""
        with _serial(getattr(self.where, "serial", False)):
            return self._page(page, page_statement)

    def _page(self, page: int, page_statement: Any = None) -> Pager:
        from .list_rows import rows_by_id

        offset = (page - 1) * PER_PAGE
        statement = page_statement(self, offset, PER_PAGE + 1) if page_statement is not None \
            else (self.page_ids(offset, PER_PAGE + 1), {})
        found = db.session.execute(*statement).all()
        has_next = len(found) > PER_PAGE
        ids = [r[0] for r in found[:PER_PAGE]]
        rows = rows_by_id(ids)      # plain rows of the columns the list shows (cases/list_rows.py)
        items = [rows[i] for i in ids]

        def pager(total: int | None, exact: bool = False) -> Pager:
            return Pager(items=items, page=page, total=total, has_next=has_next, exact=exact, per_page=PER_PAGE,
                         cap=COUNT_CAP)

        if not has_next and (items or page == 1):   # the last page: the total is known
            return pager(offset + len(items), exact=True)
        if found and len(found[0]) > 1:     # counted by the page's statement (it read every match; the
            return pager(found[0][1], exact=not getattr(self.where, "branches", None))   # overdue list: capped)
        if items and getattr(self.where, "uncounted", False):
            return pager(None)
        # a page with more after it, or one past the end: counted up to COUNT_CAP
        scope = Case.agency_id.in_(self.agency_ids)
        if getattr(self.where, "branches", None):
            matches = self._union(Case.id).subquery()
            total = capped_count(select(matches.c.id).select_from(matches))
        else:
            total = capped_count(select(Case.id).where(scope, *self.where))
        if not items and 0 < total <= COUNT_CAP:      # a page number past the last shows the last page
            return self._page(-(-total // PER_PAGE), page_statement)
        return pager(total)
