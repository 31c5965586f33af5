"""Tables 3 and 4 of the annual report (applications and their outcomes; reviews and suits) counted table
by table, the cases behind each cell, and the fees collected: every cell as cells.py defines it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, literal, or_, select

from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseItem

from . import cells
from .cells import ALL_COLUMNS, APPEAL_GROUPS, APPEAL_RESULTS, COLUMNS, OUTCOMES, ROWS

REPORT_FORMAT = "disclosure-annual-report/1"
__all__ = ["ALL_COLUMNS", "APPEAL_GROUPS", "APPEAL_RESULTS", "COLUMNS", "OUTCOMES", "REPORT_FORMAT", "ROWS"]


def _row() -> dict[str, int]:
    return dict.fromkeys(ALL_COLUMNS, 0)


def _bounds(year: int) -> tuple[date, date]:
    y = cells.span(year)
    return y.start, y.end


def empty_table3() -> dict[str, Any]:
    return {"new": _row(), "carried_in": _row(), "outcomes": {o: _row() for o in OUTCOMES},
            "total": _row(), "carried_out": _row()}


class Table3Counts:
    """Table 三 being counted (``apps``): units added by applicant kind, new or carried in, and counted
    outcome, placed by cells.column_of and cells.rows_of (memoised per kind of unit: a report statement
    returns thousands of groups of a few hundred kinds)."""

    def __init__(self) -> None:
        self.apps = empty_table3()
        self._rows = {r: self.apps["outcomes"][r] if r in OUTCOMES else self.apps[r] for r in ROWS}
        self._placed: dict[tuple[str, bool, str | None], tuple[str, list[dict[str, int]]]] = {}

    def place(self, kind: str, new: bool, outcome: str | None) -> tuple[str, list[dict[str, int]]]:
        """(column, rows) a unit counts in; memoised by (kind, new, outcome)."""
        key = (kind, new, outcome)
        placed = self._placed.get(key)
        if placed is None:
            placed = self._placed[key] = (cells.column_of(kind), [self._rows[r] for r in cells.rows_of(new, outcome)])
        return placed

    def add(self, kind: str, new: bool, outcome: str | None, n: int) -> None:
        col, rows = self.place(kind, new, outcome)
        for row in rows:
            row[col] += n
            row["total"] += n


def empty_table4() -> dict[str, dict[str, int]]:
    return {g: dict.fromkeys(APPEAL_RESULTS + ("total",), 0) for g in APPEAL_GROUPS}


def add_to_table4(appeals: dict[str, dict[str, int]], kind: str, result: str, n: int) -> None:
    cell = cells.appeal_cell(kind, result)
    if cell is not None:
        appeals[cell[0]][cell[1]] += n
        appeals[cell[0]]["total"] += n


def table3(agency_ids: Sequence[int], year: int, per_item_ids: Sequence[int] = ()) -> dict[str, Any]:
    """Table 三 in one aggregation per counting unit. Agencies whose policy ``multi_item_outcome``
    is 'item' (``per_item_ids``) count requested items, each by its own outcome (an item without
    one, in a case ended by lapse or withdrawal, takes the case's); the others count applications."""
    counts = Table3Counts()
    y = cells.span(year)
    by_app = [i for i in agency_ids if i not in set(per_item_ids)]
    by_item = [i for i in agency_ids if i in set(per_item_ids)]
    queries = []
    for ids, outcome, join in ((by_app, Case.outcome, False),
                               (by_item, cells.item_outcome(Case, CaseItem), True)):
        if not ids:
            continue
        new, counted = cells.is_new(Case, y), cells.counted_outcome(Case, y, outcome)
        q = select(Case.applicant_kind, new, counted, func.count())
        if join:
            q = q.join(CaseItem, CaseItem.case_id == Case.id)
        queries.append(q.where(Case.agency_id.in_(ids), cells.in_year(Case, y))
                       .group_by(Case.applicant_kind, new, counted))
    for q in queries:
        for kind, new, outcome, n in db.session.execute(q):
            counts.add(kind, bool(new), outcome, n)
    return counts.apps


def cell_case_ids(agency_ids: Sequence[int], year: int) -> dict[str, list[int]]:
    """Every cell of table 三 -> the ids of the cases behind it ("row/col"), counting applications; for
    freezing and drill-down. One query."""
    y = cells.span(year)
    q = (select(Case.id, Case.applicant_kind, cells.is_new(Case, y), cells.counted_outcome(Case, y, Case.outcome))
         .where(Case.agency_id.in_(agency_ids), cells.in_year(Case, y)).order_by(Case.id))
    out: dict[str, list[int]] = {}
    for cid, kind, new, outcome in db.session.execute(q):
        col = cells.column_of(kind)
        for r in cells.rows_of(bool(new), outcome):
            out.setdefault(f"{r}/{col}", []).append(cid)
            out.setdefault(f"{r}/total", []).append(cid)
    return out


def cases_in_cell(agency_ids: Sequence[int], year: int, row: str, col: str):
    """The query of the cases behind one cell of table 三, counting applications (the web drill-down)."""
    conds = cells.in_cell(Case, cells.span(year), row, col, Case.outcome)
    return select(Case).where(Case.agency_id.in_(agency_ids), *conds).order_by(Case.received_on, Case.id)


def appeal_filters_for(agencies: Sequence[Agency], year: int):
    """(result, condition) for the appeals counted in ``year`` by several agencies, each by its own
    appeal-year policy (the condition refers to Case.agency_id: join Case)."""
    y = cells.span(year)
    by_policy: dict[str, list[int]] = {}
    for a in agencies:
        by_policy.setdefault(a.policy().appeal_year, []).append(a.id)
    conds = [and_(Case.agency_id.in_(ids), cells.appeal_counted(Appeal, y, policy))
             for policy, ids in sorted(by_policy.items())]
    return cells.appeal_result(Appeal, y), or_(*conds) if conds else literal(False)


def table4(agency_ids: Sequence[int], year: int, appeal_year: str = "filed") -> dict[str, Any]:
    """rules.md §7: an appeal counts in the year it was filed, classed by its result as of
    31 December of that year (policy appeal_year='decided' counts decisions of the year)."""
    y = cells.span(year)
    result = cells.appeal_result(Appeal, y)
    q = (select(Appeal.kind, result, func.count()).join(Case, Appeal.case_id == Case.id)
         .where(Case.agency_id.in_(agency_ids), cells.appeal_counted(Appeal, y, appeal_year))
         .group_by(Appeal.kind, result))
    out = empty_table4()
    for kind, res, n in db.session.execute(q):
        add_to_table4(out, kind, res, n)
    return out


def appeals_in_cell(agency_ids: Sequence[int], year: int, group: str, res: str, appeal_year: str = "filed",
                    *columns):
    """The query of (Case, *columns) of the appeals behind one cell of table 四 (a case once per appeal)."""
    y = cells.span(year)
    result = cells.appeal_result(Appeal, y)
    q = (select(Case, *columns).join(Appeal, Appeal.case_id == Case.id)
         .where(Case.agency_id.in_(agency_ids), cells.appeal_counted(Appeal, y, appeal_year), Appeal.kind == group))
    column = cells.appeal_in_column(result, res)
    if column is not None:
        q = q.where(column)
    return q.order_by(Appeal.filed_on, Case.id)


def appeal_case_ids(agency_ids: Sequence[int], year: int, group: str, res: str, appeal_year: str = "filed"):
    return appeals_in_cell(agency_ids, year, group, res, appeal_year)


def appeal_cell_ids(agency_ids: Sequence[int], year: int, appeal_year: str = "filed") -> dict[str, list[int]]:
    """Every cell of table 四 -> the ids of the cases behind it ("appeals/GROUP/RESULT"), one id
    per appeal (a case with two reviews of the year is listed twice). One query."""
    y = cells.span(year)
    q = (select(Appeal.kind, cells.appeal_result(Appeal, y), Case.id).join(Case, Appeal.case_id == Case.id)
         .where(Case.agency_id.in_(agency_ids), cells.appeal_counted(Appeal, y, appeal_year))
         .order_by(Case.id, Appeal.id))
    out: dict[str, list[int]] = {}
    for kind, res, cid in db.session.execute(q):
        cell = cells.appeal_cell(kind, res)
        if cell is not None:
            out.setdefault(f"appeals/{cell[0]}/{cell[1]}", []).append(cid)
            out.setdefault(f"appeals/{cell[0]}/total", []).append(cid)
    return out


def fees_collected(agency_ids: Sequence[int], year: int) -> Decimal:
    total = db.session.scalar(select(func.coalesce(func.sum(Case.fee_amount), 0)).where(
        Case.agency_id.in_(agency_ids), cells.fee_paid_in(Case, cells.span(year))))
    return Decimal(str(total or 0))
