"""The supervision figures, aggregated in SQL from the case table's stored clock columns.

Per agency (a government's departments and the government itself):

- ``open``: cases not closed (status set and not ``closed``);
- ``due_soon``: the answer clock runs and the due date is today or within 3 working days (the
  dashboard's list of the same name);
- ``overdue``: the clock runs and the due date has passed (the dashboard's "已逾期");
- ``answered`` / ``late`` / ``on_time``: answers (closing by an answer: ``late`` is set only then,
  cases/services/ _derive) dated this calendar year, late ones, on-time ones;
- ``on_time_rate``: on_time / answered (None without answers);
- ``median_days``: the median of ``days_to_answer`` over those answers - working days of the
  response period used, paused days left out, counted from the (re)start (rules.md §1, §4).

Cost: two grouped queries over the indexes (agency, status, due_on) and (agency, closed_on), plus
one for the median that returns one row per (agency, distinct days_to_answer) - a histogram of at
most ~60 values per agency, however many cases - from which the median is read exactly. No case
row is loaded into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from webapp.cases.services import overdue_clause
from webapp.cases.services.clock import standing_due_on
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, Status
from webapp.domain.kinds import AgencyKind
from webapp.extensions import db
from webapp.models import Agency, Case

#: the figures of a row, in table order: key -> column heading
FIGURES: dict[str, str] = {
    "open": "未办结",
    "due_soon": "3个工作日内到期",
    "overdue": "已逾期未办结",
    "answered": "本年已答复",
    "late": "本年逾期答复",
    "on_time_rate": "按时答复率",
    "median_days": "答复用时中位数（工作日）",
    "unsigned": "待签收",
    "signing_hours": "平均等待签收（小时）",
}
#: the figures that drill down to a list of cases, and the list each one shows
DRILLS: dict[str, str] = {"open": "未办结案件", "due_soon": "3个工作日内到期的案件", "overdue": "已逾期未办结的案件",
                          "answered": "本年已答复的案件", "late": "本年逾期答复的案件", "on_time": "本年按时答复的案件"}
SORT_KEYS = ("name", *FIGURES)
OPEN_STATES = tuple(s.value for s in Status if s is not Status.CLOSED)


@dataclass
class Row:
    agency_id: int | None
    name: str
    kind: str = "department"
    open: int = 0
    due_soon: int = 0
    overdue: int = 0
    answered: int = 0
    late: int = 0
    histogram: dict[int, int] = field(default_factory=dict)   # days_to_answer -> answers
    unsigned: int = 0                 # routed to the agency, waiting for 签收 now (handovers/services.py)
    waited_hours: float = 0.0         # hours routings waited until signed for or sent back, summed
    waited_n: int = 0

    @property
    def signing_hours(self) -> float | None:
        return round(self.waited_hours / self.waited_n, 1) if self.waited_n else None

    @property
    def on_time(self) -> int:
        return self.answered - self.late

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.answered if self.answered else None

    @property
    def median_days(self) -> float | None:
        return median_of_histogram(self.histogram)

    def value(self, key: str) -> Any:
        return self.name if key == "name" else getattr(self, key)


def median_of_histogram(hist: dict[int, int]) -> float | None:
    """The median of the values a histogram (value -> count) stands for: the middle value, or the
    mean of the two middle ones."""
    n = sum(hist.values())
    if n == 0:
        return None
    wanted = (n // 2, n // 2 + 1) if n % 2 == 0 else (n // 2 + 1,)
    got: list[int] = []
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        while len(got) < len(wanted) and seen >= wanted[len(got)]:
            got.append(value)
    return sum(got) / len(got)


def year_bounds(today: date) -> tuple[date, date]:
    return date(today.year, 1, 1), date(today.year, 12, 31)


def supervised_agencies(user) -> list[Agency]:
    """The agencies whose figures ``user`` may supervise: a government-level user's government and
    its departments; an installation-wide account (no agency) every agency; nobody else any."""
    if not getattr(user, "is_authenticated", False):
        return []
    if user.agency_id is None:
        return list(db.session.scalars(select(Agency).order_by(Agency.code)))
    gov = db.session.get(Agency, user.agency_id)
    if gov is None or gov.kind != AgencyKind.GOVERNMENT:
        return []
    deps = list(db.session.scalars(select(Agency).where(Agency.parent_id == gov.id).order_by(Agency.code)))
    return [gov, *deps]


def _scope(agency_ids: list[int], figure: str, today: date, cal: WorkCalendar) -> list[Any]:
    """The WHERE clauses of one figure: the drill-down lists and the counts use the same ones."""
    first, last = year_bounds(today)
    running = Case.status.in_(CLOCK_RUNS_IN)      # due_on is set only while the clock runs
    answered = [Case.closed_on >= first, Case.closed_on <= last, Case.late.is_not(None)]
    where = {
        "open": [Case.status.in_(OPEN_STATES)],
        "due_soon": [running, Case.due_on >= today, Case.due_on <= cal.add_workdays(today, 3)],
        "overdue": [overdue_clause(today)],
        "answered": answered,
        "late": [*answered, Case.late.is_(True)],
        "on_time": [*answered, Case.late.is_(False)],
    }[figure]
    return [Case.agency_id.in_(agency_ids), *where]


def figures(agencies: list[Agency], today: date, cal: WorkCalendar) -> list[Row]:
    rows = {a.id: Row(a.id, a.name, a.kind) for a in agencies}
    ids = list(rows)
    if not ids:
        return []
    soon = cal.add_workdays(today, 3)
    running = Case.status.in_(CLOCK_RUNS_IN)
    n = func.count(Case.id)
    q = (select(Case.agency_id, n,
                func.sum(sql_case((running & (Case.due_on >= today) & (Case.due_on <= soon), 1), else_=0)),
                func.sum(sql_case((overdue_clause(today), 1), else_=0)))
         .where(Case.agency_id.in_(ids), Case.status.in_(OPEN_STATES)).group_by(Case.agency_id))
    for agency_id, n_open, n_soon, n_over in db.session.execute(q):
        r = rows[agency_id]
        r.open, r.due_soon, r.overdue = n_open, int(n_soon or 0), int(n_over or 0)
    first, last = year_bounds(today)
    q = (select(Case.agency_id, Case.late, Case.days_to_answer, func.count(Case.id))
         .where(Case.agency_id.in_(ids), Case.closed_on >= first, Case.closed_on <= last, Case.late.is_not(None))
         .group_by(Case.agency_id, Case.late, Case.days_to_answer))
    for agency_id, late, days, count in db.session.execute(q):
        r = rows[agency_id]
        r.answered += count
        if late:
            r.late += count
        if days is not None:
            r.histogram[days] = r.histogram.get(days, 0) + count
    from webapp.handovers.services import waiting_stats

    for agency_id, st in waiting_stats(ids).items():
        r = rows[agency_id]
        r.unsigned, r.waited_hours, r.waited_n = st["pending"], st["hours"], st["n"]
    return list(rows.values())


def total_row(rows: list[Row]) -> Row:
    t = Row(None, "合计", "total")
    for r in rows:
        t.open += r.open
        t.due_soon += r.due_soon
        t.overdue += r.overdue
        t.answered += r.answered
        t.late += r.late
        t.unsigned += r.unsigned
        t.waited_hours += r.waited_hours
        t.waited_n += r.waited_n
        for k, v in r.histogram.items():
            t.histogram[k] = t.histogram.get(k, 0) + v
    return t


def sort_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Sorted by one column; rows without a value (no answers: no rate, no median) always last."""
    if key not in SORT_KEYS:
        key = "name"
    have = [r for r in rows if r.value(key) is not None]
    missing = [r for r in rows if r.value(key) is None]
    have.sort(key=lambda r: (r.value(key), r.name), reverse=descending)
    return have + missing


def drill_query(agency_ids: list[int], figure: str, today: date, cal: WorkCalendar):
    # an overdue case paused after its period ran out has no due_on: its paused_due_on orders it
    order = {"open": (Case.due_on, Case.id), "due_soon": (Case.due_on, Case.id),
             "overdue": (standing_due_on(), Case.id)}
    q = select(Case).where(*_scope(agency_ids, figure, today, cal))
    return q.order_by(*order.get(figure, (Case.closed_on.desc(), Case.id.desc())))


def monthly(agency_ids: list[int], today: date, months: int = 12) -> list[tuple[str, int, int]]:
    """(YYYY-MM, on time, late) for the last ``months`` calendar months up to today's: one grouped
    query by answer date (at most a year's days x 2 rows)."""
    y, m = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    keys.reverse()
    start = date(keys[0][0], keys[0][1], 1)
    got = {k: [0, 0] for k in keys}
    q = (select(Case.closed_on, Case.late, func.count(Case.id))
         .where(Case.agency_id.in_(agency_ids), Case.closed_on >= start, Case.closed_on <= today,
                Case.late.is_not(None))
         .group_by(Case.closed_on, Case.late))
    for on, late, n in db.session.execute(q):
        got[(on.year, on.month)][1 if late else 0] += n
    return [(f"{y}-{m:02d}", v[0], v[1]) for (y, m), v in got.items()]
