"""What stands behind a figure of table 三, under either counting unit (rules.md §5, policy
``multi_item_outcome``): an agency that counts applications has one entry per case; an agency that
counts by item has one entry per requested item, classed by the item's own outcome (an item
without one, in a case ended by lapse or withdrawal, takes the case's), exactly as
services/reports.table3 counts them. So the lists always add up to the figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Agency, Case, CaseItem

from .reports import ALL_COLUMNS, COLUMNS, ROWS, _bounds, _classify, cases_in_cell, cell_case_ids, cell_filter


@dataclass(frozen=True)
class Entry:
    case: Case
    item: CaseItem | None = None      # set for agencies counting by item

    @property
    def outcome(self) -> str | None:
        if self.item is not None and self.item.outcome:
            return self.item.outcome
        return self.case.outcome


def split_by_unit(agencies: Sequence[Agency]) -> tuple[list[int], list[int]]:
    """(ids counting applications, ids counting items)."""
    by_item = [a.id for a in agencies if a.policy().multi_item_outcome == "item"]
    return [a.id for a in agencies if a.id not in by_item], by_item


def items_in_cell(agency_ids: Sequence[int], year: int, row: str, col: str):
    """The query of (Case, CaseItem) behind one cell, counting by item."""
    if row not in ROWS or col not in ALL_COLUMNS:
        raise ValueError("unknown cell")
    _is_new, _ended, where = _classify(year)
    outcome = func.coalesce(CaseItem.outcome, Case.outcome)
    q = select(Case, CaseItem).join(CaseItem, CaseItem.case_id == Case.id).where(Case.agency_id.in_(agency_ids),
                                                                                 where)
    q = cell_filter(q, year, row, col, outcome)
    return q.order_by(Case.received_on, Case.id, CaseItem.position)


def _count(q) -> int:
    return db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0


def entries_in_cell(agencies: Sequence[Agency], year: int, row: str, col: str, limit: int | None = None,
                    offset: int = 0) -> tuple[int, list[Entry]]:
    """(the figure, one page of the entries behind it): cases of the agencies counting applications
    first, then the items of those counting by item."""
    by_app, by_item = split_by_unit(agencies)
    total = 0
    out: list[Entry] = []
    want = limit
    if by_app:
        q = cases_in_cell(by_app, year, row, col)
        n = _count(q)
        total += n
        if want is None or want > 0:
            page = q.offset(offset)
            if want is not None:
                page = page.limit(want)
            out += [Entry(c) for c in db.session.scalars(page)]
        offset = max(0, offset - n)
        if want is not None:
            want -= len(out)
    if by_item:
        q = items_in_cell(by_item, year, row, col)
        total += _count(q)
        if want is None or want > 0:
            page = q.offset(offset)
            if want is not None:
                page = page.limit(want)
            out += [Entry(c, i) for c, i in db.session.execute(page)]
    return total, out


def cell_ids(agencies: Sequence[Agency], year: int) -> dict[str, list[int]]:
    """Every cell of table 三 -> the case ids behind it ("row/col"), a case listed once per item it
    has in the cell for agencies counting by item, so that each list has the cell's figure."""
    by_app, by_item = split_by_unit(agencies)
    cells = cell_case_ids(by_app, year) if by_app else {}
    if by_item:
        is_new, _ended, where = _classify(year)
        end = _bounds(year)[1]
        ended = func.coalesce(CaseItem.outcome, Case.outcome)
        q = (select(Case.id, Case.applicant_kind, is_new, Case.closed_on, ended)
             .join(CaseItem, CaseItem.case_id == Case.id).where(Case.agency_id.in_(by_item), where)
             .order_by(Case.id, CaseItem.position))
        for cid, kind, new, closed_on, outcome in db.session.execute(q):
            col = kind if kind in COLUMNS else "other_org"
            rows = ["new" if new else "carried_in"]
            rows += ["carried_out"] if closed_on is None or closed_on > end else [outcome, "total"]
            for r in rows:
                cells.setdefault(f"{r}/{col}", []).append(cid)
                cells.setdefault(f"{r}/total", []).append(cid)
        for ids in cells.values():
            ids.sort()
    return cells
