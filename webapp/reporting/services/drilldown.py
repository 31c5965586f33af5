"""What stands behind a figure of table 三, under either counting unit (rules.md §5, policy
``multi_item_outcome``): an agency that counts applications has one entry per case; an agency that
counts by item has one entry per requested item, classed by the item's own outcome (an item
without one, in a case ended by lapse or withdrawal, takes the case's). Every list is selected by the
cell's one definition (reporting/services/cells.py), the one the report's figures are counted by: so the
lists always add up to the figures.

Once an agency's previous year is closed, its 上年结转 figure is the frozen carried_out of that year
(report.md), and so is the list behind it: the case ids frozen with the version, not today's reading
of the cases (a case of the closed year mended since would otherwise leave or join the list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Agency, Case, CaseItem, ReportVersion
from webapp.reporting.services import ALL_COLUMNS, cases_in_cell, cell_case_ids

from . import cells as report_cells


@dataclass(frozen=True)
class Entry:
    case: Case
    item: CaseItem | None = None      # set for agencies counting by item
    frozen: bool = False              # listed from the previous year's frozen carry-over
    item_outcome: str | None = None   # the item's outcome as counted (cells.item_outcome)

    @property
    def outcome(self) -> str | None:
        return self.case.outcome if self.item is None else self.item_outcome


def split_by_unit(agencies: Sequence[Agency]) -> tuple[list[int], list[int]]:
    """(ids counting applications, ids counting items)."""
    by_item = [a.id for a in agencies if a.policy().multi_item_outcome == "item"]
    return [a.id for a in agencies if a.id not in by_item], by_item


def items_in_cell(agency_ids: Sequence[int], year: int, row: str, col: str):
    """The query of (Case, CaseItem, the item's counted outcome) behind one cell, counting by item."""
    outcome = report_cells.item_outcome(Case, CaseItem)
    conds = report_cells.in_cell(Case, report_cells.span(year), row, col, outcome)
    return (select(Case, CaseItem, outcome).join(CaseItem, CaseItem.case_id == Case.id)
            .where(Case.agency_id.in_(agency_ids), *conds).order_by(Case.received_on, Case.id, CaseItem.position))


def _count(q) -> int:
    return db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0


def frozen_carried_in(agency_ids: Sequence[int], year: int) -> dict[int, dict[str, list[int]]]:
    """Agency id -> column -> the case ids frozen as carried out of ``year - 1`` by its latest
    version, for the agencies whose previous year is closed (a case once per item it counted)."""
    out: dict[int, dict[str, list[int]]] = {}
    for aid, cells in db.session.execute(
            select(ReportVersion.agency_id, ReportVersion.cells)
            .where(ReportVersion.agency_id.in_(list(agency_ids)), ReportVersion.year == year - 1,
                   ReportVersion.opening.is_(False))
            .order_by(ReportVersion.agency_id, ReportVersion.version.desc())):
        if aid not in out:
            out[aid] = {c: [int(x) for x in (cells or {}).get(f"carried_out/{c}", [])] for c in ALL_COLUMNS}
    return out


def opening_carried_in(agency_ids: Sequence[int], year: int) -> dict[int, dict[str, int]]:
    """Agency id -> column -> 上年结转 of ``year`` taken from the agency's opening balance of
    ``year - 1`` (reporting/services/opening.py): figures from a published report, no case list behind them."""
    out: dict[int, dict[str, int]] = {}
    for aid, data in db.session.execute(
            select(ReportVersion.agency_id, ReportVersion.data)
            .where(ReportVersion.agency_id.in_(list(agency_ids)), ReportVersion.year == year - 1,
                   ReportVersion.opening.is_(True))
            .order_by(ReportVersion.agency_id, ReportVersion.version.desc())):
        out.setdefault(aid, {c: int(data["applications"]["carried_out"][c]) for c in ALL_COLUMNS})
    return out


def entries_in_cell(agencies: Sequence[Agency], year: int, row: str, col: str, limit: int | None = None,
                    offset: int = 0) -> tuple[int, list[Entry]]:
    """(the figure, one page of the entries behind it): cases of the agencies counting applications
    first, then the items of those counting by item. 上年结转 of the agencies whose previous year is
    closed: their frozen lists first."""
    if row == "carried_in":
        opening = opening_carried_in([a.id for a in agencies], year)
        if opening:       # the opening figures count, with no entries behind them
            rest = [a for a in agencies if a.id not in opening]
            n = sum(v[col] for v in opening.values())
            if not rest:
                return n, []
            more, tail = entries_in_cell(rest, year, row, col, limit, offset)
            return n + more, tail
        frozen = frozen_carried_in([a.id for a in agencies], year)
        if frozen:
            ids = [cid for aid in sorted(frozen) for cid in frozen[aid][col]]
            page = ids[offset:] if limit is None else ids[offset:offset + limit]
            cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(set(page))))}
            out = [Entry(cases[cid], frozen=True) for cid in page if cid in cases]
            rest = [a for a in agencies if a.id not in frozen]
            if not rest:
                return len(ids), out
            room = None if limit is None else max(0, limit - len(out))
            more, tail = entries_in_cell(rest, year, row, col, room, max(0, offset - len(ids)))
            return len(ids) + more, out + (tail if room is None or room > 0 else [])
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
            out += [Entry(c, i, item_outcome=o) for c, i, o in db.session.execute(page)]
    return total, out


def cell_ids(agencies: Sequence[Agency], year: int) -> dict[str, list[int]]:
    """Every cell of table 三 -> the case ids behind it ("row/col"), a case listed once per item it
    has in the cell for agencies counting by item, so that each list has the cell's figure."""
    by_app, by_item = split_by_unit(agencies)
    cells = cell_case_ids(by_app, year) if by_app else {}
    if by_item:
        y = report_cells.span(year)
        outcome = report_cells.counted_outcome(Case, y, report_cells.item_outcome(Case, CaseItem))
        q = (select(Case.id, Case.applicant_kind, report_cells.is_new(Case, y), outcome)
             .join(CaseItem, CaseItem.case_id == Case.id)
             .where(Case.agency_id.in_(by_item), report_cells.in_year(Case, y))
             .order_by(Case.id, CaseItem.position))
        for cid, kind, new, counted in db.session.execute(q):
            col = report_cells.column_of(kind)
            for r in report_cells.rows_of(bool(new), counted):
                cells.setdefault(f"{r}/{col}", []).append(cid)
                cells.setdefault(f"{r}/total", []).append(cid)
        for ids in cells.values():
            ids.sort()
    frozen = frozen_carried_in([a.id for a in agencies], year)
    if frozen:
        counted = {cid for c in ALL_COLUMNS for cid in cells.get(f"carried_in/{c}", [])}
        theirs = set(db.session.scalars(select(Case.id).where(Case.id.in_(counted),
                                                              Case.agency_id.in_(list(frozen))))) if counted else set()
        for c in ALL_COLUMNS:
            key = f"carried_in/{c}"
            kept = [cid for cid in cells.get(key, []) if cid not in theirs]
            cells[key] = sorted(kept + [cid for aid in frozen for cid in frozen[aid][c]])
    return cells
