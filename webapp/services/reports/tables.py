"""Tables 3 and 4 of the annual report (applications and their outcomes; reviews and suits), the cases behind
each cell, and the fees collected."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy import case as sql_case

from webapp.domain.outcomes import Outcome
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseItem

REPORT_FORMAT = "disclosure-annual-report/1"
COLUMNS = ("natural_person", "commercial", "research", "public_interest", "legal_service", "other_org")
ALL_COLUMNS = COLUMNS + ("total",)
OUTCOMES = tuple(o.value for o in Outcome)
APPEAL_GROUPS = ("review", "litigation_direct", "litigation_after_review")
APPEAL_RESULTS = ("upheld", "corrected", "other", "pending")
ROWS = ("new", "carried_in") + OUTCOMES + ("total", "carried_out")


def _row() -> dict[str, int]:
    return dict.fromkeys(ALL_COLUMNS, 0)


def _bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _classify(year: int):
    """SQL expressions: is the case new in Y, and its outcome row if it ended in Y."""
    start, end = _bounds(year)
    is_new = sql_case((Case.received_on >= start, literal(1)), else_=literal(0))
    ended = sql_case((and_(Case.closed_on.is_not(None), Case.closed_on <= end), Case.outcome), else_=None)
    where = and_(Case.received_on <= end, or_(Case.closed_on.is_(None), Case.closed_on >= start))
    return is_new, ended, where


def table3(agency_ids: Sequence[int], year: int, per_item_ids: Sequence[int] = ()) -> dict[str, Any]:
    """Table 三 in one aggregation per counting unit. Agencies whose policy ``multi_item_outcome``
    is 'item' (``per_item_ids``) count requested items, each by its own outcome (an item without
    one, in a case ended by lapse or withdrawal, takes the case's); the others count applications."""
    apps = {"new": _row(), "carried_in": _row(), "outcomes": {o: _row() for o in OUTCOMES},
            "total": _row(), "carried_out": _row()}
    by_app = [i for i in agency_ids if i not in set(per_item_ids)]
    by_item = [i for i in agency_ids if i in set(per_item_ids)]
    is_new, ended, where = _classify(year)
    queries = []
    if by_app:
        queries.append(select(Case.applicant_kind, is_new.label("is_new"), ended.label("ended"), func.count())
                       .where(Case.agency_id.in_(by_app), where)
                       .group_by(Case.applicant_kind, is_new, ended))
    if by_item:
        end = _bounds(year)[1]
        item_ended = sql_case((and_(Case.closed_on.is_not(None), Case.closed_on <= end),
                               func.coalesce(CaseItem.outcome, Case.outcome)), else_=None)
        queries.append(select(Case.applicant_kind, is_new.label("is_new"), item_ended.label("ended"), func.count())
                       .join(CaseItem, CaseItem.case_id == Case.id)
                       .where(Case.agency_id.in_(by_item), where)
                       .group_by(Case.applicant_kind, is_new, item_ended))
    for q in queries:
        for kind, new, outcome, n in db.session.execute(q):
            col = kind if kind in COLUMNS else "other_org"
            target = [apps["new"] if new else apps["carried_in"]]
            if outcome is None:
                target.append(apps["carried_out"])
            else:
                target.append(apps["outcomes"][outcome])
                target.append(apps["total"])
            for row in target:
                row[col] += n
                row["total"] += n
    return apps


def cell_case_ids(agency_ids: Sequence[int], year: int) -> dict[str, list[int]]:
    """Every cell of table 三 -> the ids of the cases behind it ("row/col"); for freezing and
    drill-down. One query."""
    is_new, ended, where = _classify(year)
    q = (select(Case.id, Case.applicant_kind, is_new, ended)
         .where(Case.agency_id.in_(agency_ids), where).order_by(Case.id))
    cells: dict[str, list[int]] = {}
    for cid, kind, new, outcome in db.session.execute(q):
        col = kind if kind in COLUMNS else "other_org"
        rows = ["new" if new else "carried_in"]
        rows += ["carried_out"] if outcome is None else [outcome, "total"]
        for r in rows:
            cells.setdefault(f"{r}/{col}", []).append(cid)
            cells.setdefault(f"{r}/total", []).append(cid)
    return cells


def cell_filter(q, year: int, row: str, col: str, outcome):
    """Narrow a query over cases to one cell of table 三 (``outcome``: the outcome expression the
    rows are counted by: the case's, or an item's for agencies counting by item)."""
    start, end = _bounds(year)
    if col != "total":
        q = q.where(Case.applicant_kind.not_in(COLUMNS[:-1]) if col == "other_org" else Case.applicant_kind == col)
    if row == "new":
        return q.where(Case.received_on >= start)
    if row == "carried_in":
        return q.where(Case.received_on < start)
    if row == "carried_out":
        return q.where(or_(Case.closed_on.is_(None), Case.closed_on > end))
    q = q.where(Case.closed_on.is_not(None), Case.closed_on <= end)
    return q if row == "total" else q.where(outcome == row)


def cases_in_cell(agency_ids: Sequence[int], year: int, row: str, col: str):
    """The query of the cases behind one cell of table 三 (the web drill-down)."""
    if row not in ROWS or col not in ALL_COLUMNS:
        raise ValueError("unknown cell")
    _is_new, _ended, where = _classify(year)
    q = select(Case).where(Case.agency_id.in_(agency_ids), where)
    q = cell_filter(q, year, row, col, Case.outcome)
    return q.order_by(Case.received_on, Case.id)


def _appeal_filters(agency_ids: Sequence[int], year: int, appeal_year: str):
    start, end = _bounds(year)
    result = sql_case((and_(Appeal.decided_on.is_not(None), Appeal.decided_on <= end), Appeal.result),
                      else_=literal("pending"))
    if appeal_year == "decided":
        cond = or_(and_(Appeal.decided_on >= start, Appeal.decided_on <= end),
                   and_(Appeal.filed_on >= start, Appeal.filed_on <= end,
                        or_(Appeal.decided_on.is_(None), Appeal.decided_on > end)))
    else:
        cond = and_(Appeal.filed_on >= start, Appeal.filed_on <= end)
    return result, cond


def appeal_filters_for(agencies: Sequence[Agency], year: int):
    """(result, condition) for the appeals counted in ``year`` by several agencies, each by its own
    appeal-year policy (the condition refers to Case.agency_id: join Case)."""
    by_policy: dict[str, list[int]] = {}
    for a in agencies:
        by_policy.setdefault(a.policy().appeal_year, []).append(a.id)
    result = None
    conds = []
    for policy, ids in sorted(by_policy.items()):
        result, cond = _appeal_filters(ids, year, policy)
        conds.append(and_(Case.agency_id.in_(ids), cond))
    if result is None:
        result, _ = _appeal_filters([], year, "filed")
    return result, or_(*conds) if conds else literal(False)


def table4(agency_ids: Sequence[int], year: int, appeal_year: str = "filed") -> dict[str, Any]:
    """rules.md §7: an appeal counts in the year it was filed, classed by its result as of
    31 December of that year (policy appeal_year='decided' counts decisions of the year)."""
    result, cond = _appeal_filters(agency_ids, year, appeal_year)
    q = (select(Appeal.kind, result, func.count()).join(Case, Appeal.case_id == Case.id)
         .where(Case.agency_id.in_(agency_ids), cond).group_by(Appeal.kind, result))
    out = {g: dict.fromkeys(APPEAL_RESULTS + ("total",), 0) for g in APPEAL_GROUPS}
    for kind, res, n in db.session.execute(q):
        if kind in out:
            out[kind][res if res in APPEAL_RESULTS else "other"] += n
            out[kind]["total"] += n
    return out


def appeal_case_ids(agency_ids: Sequence[int], year: int, group: str, res: str, appeal_year: str = "filed"):
    result, cond = _appeal_filters(agency_ids, year, appeal_year)
    q = (select(Case).join(Appeal, Appeal.case_id == Case.id).where(Case.agency_id.in_(agency_ids), cond,
                                                                     Appeal.kind == group))
    if res != "total":
        q = q.where(result == res)
    return q.order_by(Appeal.filed_on, Case.id)


def fees_collected(agency_ids: Sequence[int], year: int) -> Decimal:
    start, end = _bounds(year)
    total = db.session.scalar(select(func.coalesce(func.sum(Case.fee_amount), 0)).where(
        Case.agency_id.in_(agency_ids), Case.fee_paid_on >= start, Case.fee_paid_on <= end))
    return Decimal(str(total or 0))
