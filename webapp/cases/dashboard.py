"""The clerk's dashboard: the status counts and the lists of cases needing action today.

Bounded whatever the size of the database (issue 15): each list shows at most DASHBOARD_ROWS cases
(its most urgent) and links to the case list filtered the same way (``/cases?list=NAME``); its badge
counts the cases it stands for exactly up to COUNT_CAP and as "1000+" above (a shorter list is its own
count). The whole dashboard is one statement (``_statement``, built once per process): each list's
rows as plain columns, turned into their cells once (``ListRow``), with its capped count beside them,
the cases of each status, mine counted up to the cap and the agency's summed from its counter rows
(``case_status_count``, kept by triggers: cases/status_counts.py) and shown capped alike, and the
panels of other features it shows (the online queue's days, the flagged letters' count, the open
督办通知: their partials' template globals read each in a statement of its own), all joined by UNION
ALL and tagged by what they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Date, Integer, bindparam, func, literal, literal_column, null, select, union_all
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from webapp.cases.services.applicants import mask_id
from webapp.cases.services.clock import overdue_branches, standing_due_on
from webapp.delivery.services import flagged_where
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, Status
from webapp.extensions import db
from webapp.models import Applicant, Case, CaseStatusCount, CaseStatusPending, SupervisionNotice, User
from webapp.models.delivery import Delivery
from webapp.models.submission import Submission
from webapp.platform.template_helpers import status_zh
from webapp.prebuilt import prebuilt
from webapp.public.services.queue import QueueSummary, queue_days, summary_of
from webapp.supervision.services import notices_query

from . import queries
from .queries import first_rows

DASHBOARD_ROWS = 20
#: the open 督办通知 listed: of the newest open ones the user's agency may see, those addressed to it
#: (as platform/feature_helpers.supervision_open_notices)
OPEN_NOTICES = 50
STATUS_ORDER = [s.value for s in Status]


#: what a list shows of a case (cases/dashboard_html.case_table), read as plain columns
_SHOWN = (Case.id, Case.number, Case.received_on, Case.status, Case.extended, Case.due_on, Case.due_provisional,
          Case.correction_notice_due_on, Case.correction_reply_by, Case.fee_due_on)
_AT = {c.key: i for i, c in enumerate(_SHOWN)}


class ListRow(NamedTuple):
    """A case as a dashboard list shows it: its cells (cases/dashboard_html.case_table writes them),
    computed once from the plain columns of the dashboard's statement. Plain
    columns rather than Case objects with their applicants, clerks and items: the ORM's objects were
    most of the Python work that grew with the rows (40 rows on a government's dashboard, 9 on the
    demo's); cells rather than a row object the template asked for about 20 attributes, a macro and
    two filters a row."""

    id: int
    number: str
    applicant: Any         # the applicant's name, "" without an applicant on file
    masked_id: str         # the masked identity number, "" without one
    received_on: Any       # a date or ""
    status: str            # the stored code ("none" when empty: the CSS class)
    status_label: str
    extended: bool
    date: Any              # the list's date (``_DATES``), "—" when empty
    provisional: bool      # a provisional 答复期限 (the lists by due date only)
    assignee: Any          # the clerk's name, "—" when unassigned


#: the date each list shows (the template's column heading names it)
_DATES = {"due_soon": "due_on", "overdue": "due_on", "notices_due": "correction_notice_due_on",
          "correction_lapses": "correction_reply_by", "fee_lapses": "fee_due_on"}


def _row(row: Any, date_at: int) -> ListRow:
    """``row`` (the statement's columns: ``_SHOWN``, the applicant's id, name and identity number, the
    clerk's id and name) as its list (whose date is column ``date_at``) shows it."""
    n = len(_SHOWN)
    person = row[n] is not None
    id_number = row[n + 2] if person else None
    return ListRow(row[0], row[1], row[n + 1] if person else "", mask_id(id_number) if id_number else "",
                   row[2] or "", row[3] or "none", status_zh(row[3]), bool(row[4]), row[date_at] or "—",
                   date_at == _AT["due_on"] and bool(row[6]), row[n + 4] if row[n + 3] is not None else "—")


class CaseNumber(NamedTuple):
    number: str


class Notice(NamedTuple):
    """An open 督办通知 as the dashboard lists it (templates/supervision/_dashboard_notices.html)."""

    id: int
    case: CaseNumber | None     # None: addressed to the department, no case
    message: str
    reply_by: date


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
    queue: QueueSummary | None = None           # the online submissions waiting (``queue_ids``)
    delivery_flags: int | None = None           # letters returned or undelivered (``flags``)
    notices: list[Notice] = field(default_factory=list)   # open 督办通知 to ``notices_agency``, newest first


def dashboard(agency_ids: list[int], user_id: int, today: date, cal: WorkCalendar, *,
              queue_ids: list[int] | None = None, flags: bool = False, notices_agency: int | None = None) -> Dashboard:
    """The dashboard's figures from one statement (``_statement``): its five lists' first rows, each
    with its capped count, and the cases of each status, mine and the agency's, each row tagged by
    what it is (``LISTS``) and read in the lists' order; with ``queue_ids``, the summary of those
    agencies' queue of online submissions (public/services/queue.py); with ``flags``, the count of
    the agencies' returned or undelivered letters (delivery/services.py); with ``notices_agency``,
    the open 督办通知 addressed to that agency (supervision/services.py)."""
    dialect = db.session.get_bind().dialect.name
    one = len(agency_ids) == 1
    queue, notices = bool(queue_ids), notices_agency is not None
    # the key names everything the statement is built from (the row and count limits too)
    stmt = prebuilt(("dashboard", dialect, one, queue, flags, notices, DASHBOARD_ROWS, queries.COUNT_CAP, OPEN_NOTICES),
                    lambda: _statement(dialect, one, queue, flags, notices))
    d = Dashboard(mine=dict.fromkeys(STATUS_ORDER, 0), agency=dict.fromkeys(STATUS_ORDER, 0))
    d.due_soon_until = cal.add_workdays(today, 3)
    d.notices_until = cal.add_workdays(today, 2)
    params = {"today": today, "due_soon_until": d.due_soon_until, "notices_until": d.notices_until,
              "user_id": user_id}
    if one:
        params["agency_id"] = agency_ids[0]
    else:
        params["agency_ids"] = list(agency_ids)
    if queue:
        params["queue_ids"] = list(queue_ids)
    if notices:
        params["notices_agency"] = notices_agency
    lists: list[list[ListRow]] = [[] for _ in LISTS]
    totals = [0] * len(LISTS)
    days = []
    n = len(_SHOWN)
    # plain rows on the session's connection (the ORM's execution around a Core statement: ~70 calls)
    for row in db.session.connection().execute(stmt, params).all():
        tag = row[n + 6]
        if tag < len(LISTS):
            lists[tag].append(_row(row, _DATE_AT[tag]))
            totals[tag] = row[n + 5]
        elif tag == MINE:       # the cases of one status: its name in the status column, its count the total
            d.mine[row[3]] = row[n + 5]
        elif tag == AGENCY:     # the agencies' exact count of a status, shown capped as a counted one
            d.agency[row[3]] = min(row[n + 5], queries.COUNT_CAP + 1)
        elif tag == QUEUE:      # a day of the queue: the day in the received_on column, its submissions the total
            days.append((row[2], row[n + 5]))
        elif tag == FLAGS:
            d.delivery_flags = row[n + 5]
        else:                   # a notice: its case's number, its reply date (received_on), its message (name)
            d.notices.append(Notice(row[0], CaseNumber(row[1]) if row[1] is not None else None, row[n + 1], row[2]))
    d.notices.sort(reverse=True)    # newest (highest id) first
    for name, rows, total in zip(LISTS, lists, totals, strict=True):
        setattr(d, name, rows)
        # a full list stands for more: counted up to COUNT_CAP (the case list pages through them all)
        d.totals[name] = len(rows) if len(rows) < DASHBOARD_ROWS else total
    if queue_ids is not None:
        d.queue = summary_of(days, cal, today)
    # rules.md §1: from 1 November, warn while next year's State Council notice is missing
    next_year = today.year + 1
    if today.month >= 11 and cal.is_provisional(date(next_year, 1, 1)):
        d.holiday_notice_missing = next_year
    return d


#: the dashboard's lists, in the order of their tags (0-4); then the cases of each status assigned to
#: the user (MINE), the agencies' (AGENCY), the days of the queue of online submissions (QUEUE) and
#: the count of flagged letters (FLAGS) and the open 督办通知 (NOTICES) (``_statement``)
LISTS = ("due_soon", "overdue", "notices_due", "correction_lapses", "fee_lapses")
MINE, AGENCY, QUEUE, FLAGS, NOTICES = range(len(LISTS), len(LISTS) + 5)
_DATE_AT = [_AT[_DATES[name]] for name in LISTS]


def _scope(dialect: str, one: bool, column: Any = Case.agency_id):
    """``queries.visible`` on parameters (of ``column``): one agency an equality (``agency_id``);
    several an IN list (``agency_ids``, ``_in``)."""
    if one:
        return column == bindparam("agency_id", type_=Integer)
    return _in(dialect, column, "agency_ids")


def _in(dialect: str, column: Any, name: str):
    """``column`` IN the list of parameter ``name``, on PostgreSQL written into the statement's text at
    each execution (``_inline``)."""
    if dialect == "postgresql":
        return column.in_(bindparam(name, expanding=True, literal_execute=True))
    return column.in_(bindparam(name, expanding=True))


def _statement(dialect: str, one: bool, queue: bool = False, flags: bool = False, notices: bool = False) -> Any:
    """The whole dashboard as one statement, built once per process and shape (``dashboard``: its
    values are bound at execution: the agencies, the user, today and the lists' last days). UNION ALL
    of, for each list, the rows of its first DASHBOARD_ROWS ids with their count up to COUNT_CAP + 1
    beside them, the list's tag and its order column (``sortkey``), then the cases of each status,
    mine counted up to COUNT_CAP + 1 (MINE) and the agencies' summed from their counter rows
    (AGENCY, ``case_status_count``: a government's 510 rows), the status in the status column and
    the count in ``total``; with ``queue``, the days of the queue of online submissions
    (QUEUE, public/services/queue.queue_days); with ``flags``, the count of flagged letters (FLAGS,
    delivery/services.flagged_where); with ``notices``, the open notices (NOTICES,
    supervision/services.notices_query); ordered by (tag, the list's order, id). These were seven
    statements, each list's built anew on every request: building them was most of the dashboard's
    Python (15,555 -> 9,571 calls a request on bench/pages.py's demo data, 12 -> 6 statements); the
    queue's, the flags' and the notices' were three more (6 -> 3 statements a dashboard)."""
    scope = _scope(dialect, one)
    today = bindparam("today", type_=Date)
    conditions = {   # queries.special_list's, on parameters
        "notices_due": ([Case.status == Status.REGISTERED.value, Case.correction_notice_due_on >= today,
                         Case.correction_notice_due_on <= bindparam("notices_until", type_=Date)],
                        Case.correction_notice_due_on),
        "correction_lapses": ([Case.status == Status.AWAITING_CORRECTION.value, Case.correction_reply_by < today],
                              Case.correction_reply_by),
        "fee_lapses": ([Case.status == Status.AWAITING_FEE.value, Case.fee_due_on < today], Case.fee_due_on),
    }
    branches = []
    for tag, name in enumerate(LISTS):
        # the first ids in a subquery (index-only for the clock's lists: ix_case_overdue_cover), then
        # their rows: reading whole rows first fetched a government's 4,600 overdue cases to sort them
        if name == "overdue":
            first, matches = _first_of_branches(scope, overdue_branches(today))
            order = standing_due_on()
        elif name == "due_soon":    # one branch per status the clock runs in, as the overdue list's
            until = bindparam("due_soon_until", type_=Date)
            first, matches = _first_of_branches(scope, [((Case.status == literal(s, Case.status.type),
                                                          Case.due_on >= today, Case.due_on <= until), Case.due_on)
                                                        for s in CLOCK_RUNS_IN])
            order = Case.due_on
        else:
            where, order = conditions[name]
            first = select(Case.id).where(scope, *where).order_by(order, Case.id).limit(DASHBOARD_ROWS)
            matches = select(Case.id).where(scope, *where)
        branches.append(_rows(first, order, matches, tag))
    nulls = [null().label(c.key) for c in _SHOWN]
    mine = [scope, Case.assigned_to_id == bindparam("user_id", type_=Integer)]
    for status in STATUS_ORDER:
        first = select(Case.id).where(*mine, Case.status == status).limit(queries.COUNT_CAP + 1).subquery()
        shown = [*nulls[:3], literal_column(f"'{status}'").label("status"), *nulls[4:]]
        branches.append(select(*shown, *[null()] * 5, func.count().label("total"),
                               literal_column(str(MINE), Integer).label("tag"), null().label("sortkey"))
                        .select_from(first))
    # the agencies' cases of each status: their counter rows summed (cases/status_counts.py, kept by
    # triggers), not their cases counted (a government's 6,200-8,800 index entries, 1.3 ms); on
    # PostgreSQL with this transaction's own changes not yet added at its commit (status_counts.py)
    c = CaseStatusCount
    counted = select(c.status, c.n).where(_scope(dialect, one, c.agency_id))
    if dialect == "postgresql":
        p = CaseStatusPending
        counted = union_all(counted, select(p.status, p.n).where(
            p.tx == func.txid_current_if_assigned(), _scope(dialect, one, p.agency_id)))
    counted = counted.subquery()
    branches.append(select(*nulls[:3], counted.c.status.label("status"), *nulls[4:], *[null()] * 5,
                           func.sum(counted.c.n).label("total"), literal_column(str(AGENCY), Integer).label("tag"),
                           null().label("sortkey"))
                    .group_by(counted.c.status))
    if queue:       # the queue's days: the day in received_on, its submissions as the total
        days = queue_days(_in(dialect, Submission.agency_id, "queue_ids")).subquery()
        branches.append(select(null(), null(), days.c.submitted_on, *[null()] * 12, days.c.n,
                               literal_column(str(QUEUE), Integer), null()))
    if flags:       # the flagged letters counted in the total
        branches.append(select(*[null()] * 15, func.count(Delivery.id), literal_column(str(FLAGS), Integer), null())
                        .where(*flagged_where(_scope(dialect, one, Delivery.agency_id))))
    if notices:     # the open notices: id, case number, reply date (received_on), message (the name column)
        agency = bindparam("notices_agency", type_=Integer)
        top = notices_query(agency, open_only=True, limit=OPEN_NOTICES) \
            .with_only_columns(SupervisionNotice.id, SupervisionNotice.agency_id).subquery()
        branches.append(select(SupervisionNotice.id, Case.number, SupervisionNotice.reply_by, *[null()] * 8,
                               SupervisionNotice.message, *[null()] * 4, literal_column(str(NOTICES), Integer), null())
                        .select_from(top).join(SupervisionNotice, SupervisionNotice.id == top.c.id)
                        .outerjoin(Case, Case.id == SupervisionNotice.case_id).where(top.c.agency_id == agency))
    stmt = union_all(*branches).order_by(literal_column("tag"), literal_column("sortkey"), literal_column("id"))
    if dialect != "postgresql":
        return stmt
    return _inline(stmt, {"user_id"})


#: the statement's values per request; every other parameter is a constant of its shape
_VALUES = {"agency_id", "agency_ids", "queue_ids", "notices_agency", "today", "due_soon_until", "notices_until",
           "user_id"}


def _inline(stmt: Any, keep: Any) -> Any:
    """``stmt`` (PostgreSQL) with its constants (the statuses, the row limits, the counts' cap: their
    values set when it was built) written into its text once, and the request's values but ``keep``
    written in at each execution (``literal_execute``), for PostgreSQL's plan cache: psycopg prepares
    a statement text after its 5th execution on a connection, and PostgreSQL then plans it for each
    execution's parameters (a custom plan) until a plan for any values (generic) looks no dearer.

    Only the user stays a parameter: the agencies (one, or a government's 51) and the day's dates are
    in the text, one text per agency (or government) and day. With them as parameters PostgreSQL
    planned the statement anew on every request on the million-case bench (a generic plan cannot tell
    how many cases lie before a date parameter, and it looked dearer): 4.8 ms of planning for a
    department's dashboard (the statement 5.5 -> 1.7 ms with its values in the text), 3.0 ms for a
    government's; on the demo's 247 cases the generic plan was taken after 5 executions (2.1 ms of
    planning saved either way). Never plan_cache_mode: the other statements (the search) need their
    custom plans."""
    dialect = db.session.get_bind().dialect

    def replace(el: Any) -> Any:
        if not isinstance(el, BindParameter) or el.key in keep or el.literal_execute:
            return None
        if el.key in _VALUES or el.expanding:
            return _literal_execute(el)
        return literal_column(str(el.compile(dialect=dialect, compile_kwargs={"literal_binds": True})), el.type)
    return visitors.replacement_traverse(stmt, {}, replace)


def _literal_execute(bind: Any) -> Any:
    bind = bind._clone()
    bind.literal_execute = True
    return bind


def _rows(first: Any, order: Any, matches: Any, tag: int) -> Any:
    """The cases of the ids ``first`` selects and the rows of ``matches`` counted up to COUNT_CAP + 1
    beside them (a full list's count was a statement of its own), tagged ``tag``, with the list's
    order column (``sortkey``)."""
    total = queries.capped(matches)
    return select(*_SHOWN, Applicant.id, Applicant.name, Applicant.id_number, Case.assigned_to_id,
                  User.display_name, total.label("total"), literal_column(str(tag), Integer).label("tag"),
                  order.label("sortkey")) \
        .select_from(Case).outerjoin(Applicant, Applicant.id == Case.applicant_id) \
        .outerjoin(User, User.id == Case.assigned_to_id) \
        .where(Case.id.in_(first.scalar_subquery()))


def _first_of_branches(scope, branches):
    """A list's first ids and all its matches, each read as its ``branches`` ((conditions, the date
    it is ordered by), no case in two) joined: each branch's first DASHBOARD_ROWS on its own index
    (ix_case_overdue_cover index-only, ix_case_paused_due), then the earliest of those. The overdue
    list (cases/services/clock.overdue_branches): both branches in one condition made PostgreSQL OR
    two bitmaps and read every overdue row of a government from the table (6,700 blocks, 19 ms; its
    count 1,500 blocks, 8 ms). The due-soon list, one branch per status the clock runs in: the
    statuses in one range of ix_case_overdue_cover are not in due order, and PostgreSQL read and
    sorted all of them (a government's 572 due soon) for the first 20."""
    tops, every = [], []
    for branch, due in branches:
        top = first_rows(select(Case.id, due.label("due")).where(scope, *branch), "due", due, DASHBOARD_ROWS)
        top = top.subquery()
        tops.append(select(top.c.id, top.c.due))
        every.append(select(Case.id).where(scope, *branch))
    joined = union_all(*tops).subquery()
    first = select(joined.c.id).order_by(joined.c.due, joined.c.id).limit(DASHBOARD_ROWS)
    matches = union_all(*every).subquery()
    return first, select(matches.c.id).select_from(matches)
