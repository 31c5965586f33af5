"""One definition of a cell of tables 三 and 四 (report.md counting rules), used by the report's grouped
statement (build.py), the lists behind the figures (tables.py, reporting/services/drilldown.py), the close-out's
frozen ids (reporting/services/closeout.py) and the tests. A change here changes the figure and its list alike.

Table 三: a case (or, for an agency counting by item, each requested item) counts in year Y when it
was received by 31 December and had not ended before 1 January (``in_year``). Its row: new if received
in Y, else carried in; and, if it ended by 31 December, the row of its outcome (the item's own, or the
case's for an item without one) and the total, else carried out (``rows_of``). Its column: the
applicant kind as classed on receipt (``column_of``).

Table 四: an appeal counts by its agency's appeal-year policy (``appeal_counted``), classed by its
result as of 31 December (``appeal_result``, ``appeal_cell``).

The terms are SQLAlchemy expressions over a source of case columns (the ``Case`` entity, or the
columns of a subquery of cases) and a ``Span`` of the year's first and last day (dates, or bind
parameters in the cached report statement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, and_, func, literal_column, or_
from sqlalchemy import case as sql_case
from sqlalchemy.sql.elements import ColumnElement

from webapp.domain.outcomes import Outcome

COLUMNS = ("natural_person", "commercial", "research", "public_interest", "legal_service", "other_org")
ALL_COLUMNS = COLUMNS + ("total",)
OUTCOMES = tuple(o.value for o in Outcome)
ROWS = ("new", "carried_in") + OUTCOMES + ("total", "carried_out")
APPEAL_GROUPS = ("review", "litigation_direct", "litigation_after_review")
APPEAL_RESULTS = ("upheld", "corrected", "other", "pending")


@dataclass(frozen=True)
class Span:
    """The report year's first and last day."""
    start: Any
    end: Any


def span(year: int) -> Span:
    return Span(date(year, 1, 1), date(year, 12, 31))


# --- table 三 --------------------------------------------------------------------------------------

def received_by_end(c, y: Span) -> ColumnElement[bool]:
    return c.received_on <= y.end


def open_at_start(c, y: Span) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Not ended before Y began, as two disjoint ranges of closed_on (still open; closed since 1 January):
    the report statement reads each as a range of the (agency, closed_on) index."""
    return c.closed_on.is_(None), c.closed_on >= y.start


def in_year(c, y: Span) -> ColumnElement[bool]:
    """The cases counted in table 三 of Y (every cell's rows are among them)."""
    return and_(received_by_end(c, y), or_(*open_at_start(c, y)))


def is_new(c, y: Span) -> ColumnElement[bool]:
    """Received in Y (new), else carried in."""
    return c.received_on >= y.start


def ended(c, y: Span) -> ColumnElement[bool]:
    """Ended by 31 December (NULL, not true, for a case still open)."""
    return c.closed_on <= y.end


def item_outcome(c, item) -> ColumnElement[str]:
    """An item's outcome; an item without one (in a case ended by lapse or withdrawal) takes the case's."""
    return func.coalesce(item.outcome, c.outcome)


def new_or_in(c, y: Span) -> ColumnElement[str]:
    """'new' or 'in' (carried in), as the report statement reads it."""
    return sql_case((is_new(c, y), literal_column("'new'", String)), else_=literal_column("'in'", String))


def counted_outcome(c, y: Span, outcome) -> ColumnElement[str]:
    """The outcome row a unit counts in, NULL for one carried out (not ended by 31 December)."""
    return sql_case((ended(c, y), outcome))


def column_of(kind: str | None) -> str:
    """The table 三 column of an applicant kind."""
    return kind if kind in COLUMNS else "other_org"


def rows_of(new: bool, outcome: str | None) -> tuple[str, ...]:
    """The rows a unit counts in: new or carried in; its outcome row and the total if it ended
    (``outcome`` as counted_outcome gives it), else carried out."""
    first = "new" if new else "carried_in"
    return (first, "carried_out") if outcome is None else (first, outcome, "total")


def in_column(c, col: str) -> ColumnElement[bool] | None:
    """SQL for column_of(c.applicant_kind) == col (None: no condition, the total column)."""
    if col == "total":
        return None
    if col == "other_org":
        return c.applicant_kind.not_in(COLUMNS[:-1])
    return c.applicant_kind == col


def in_cell(c, y: Span, row: str, col: str, outcome) -> list[ColumnElement[bool]]:
    """The conditions of one cell of table 三 (``outcome``: the case's, or item_outcome for an agency
    counting by item); SQL for ``in_year and row in rows_of(...) and column_of(...) == col``."""
    if row not in ROWS or col not in ALL_COLUMNS:
        raise ValueError("unknown cell")
    conds = [in_year(c, y)]
    column = in_column(c, col)
    if column is not None:
        conds.append(column)
    counted = counted_outcome(c, y, outcome)
    if row == "new":
        conds.append(is_new(c, y))
    elif row == "carried_in":
        conds.append(~is_new(c, y))
    elif row == "carried_out":
        conds.append(counted.is_(None))
    elif row == "total":
        conds.append(counted.is_not(None))
    else:
        conds.append(counted == row)
    return conds


def fee_paid_in(c, y: Span) -> ColumnElement[bool]:
    """A fee counted in the fee total of Y (paid in Y)."""
    return and_(c.fee_paid_on >= y.start, c.fee_paid_on <= y.end)


# --- table 四 --------------------------------------------------------------------------------------

def appeal_result(ap, y: Span) -> ColumnElement[str]:
    """An appeal's result as of 31 December: pending unless decided by then."""
    return sql_case((and_(ap.decided_on.is_not(None), ap.decided_on <= y.end), ap.result),
                    else_=literal_column("'pending'", String))


def appeal_counted(ap, y: Span, appeal_year: str) -> ColumnElement[bool]:
    """rules.md §7: an appeal counts in the year it was filed; by policy appeal_year='decided', in the
    year it was decided (one filed in Y and not decided by its end counts as pending in Y)."""
    filed = and_(ap.filed_on >= y.start, ap.filed_on <= y.end)
    if appeal_year != "decided":
        return filed
    return or_(and_(ap.decided_on >= y.start, ap.decided_on <= y.end),
               and_(filed, or_(ap.decided_on.is_(None), ap.decided_on > y.end)))


def appeal_cell(kind: str, result: str) -> tuple[str, str] | None:
    """(group, result column) of an appeal of ``kind`` with ``result`` as appeal_result gives it;
    None for a kind outside table 四."""
    if kind not in APPEAL_GROUPS:
        return None
    return kind, result if result in APPEAL_RESULTS else "other"


def appeal_in_column(result, res: str) -> ColumnElement[bool] | None:
    """SQL for appeal_cell(...)[1] == res over ``result`` (an appeal_result expression); None for the
    total column."""
    if res == "total":
        return None
    if res not in APPEAL_RESULTS:
        raise ValueError("unknown cell")
    if res == "other":
        return result.not_in([r for r in APPEAL_RESULTS if r != "other"])
    return result == res
