"""Table 三, table 四, the fee total and the checks of report.md, counted from the case history
with one aggregation query per table (no loop over cases in Python, no query per cell)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy import case as sql_case

from webapp.domain.outcomes import Outcome
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseItem, ProactiveYear, ReportVersion

from .money import decimal_str

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


def cases_in_cell(agency_ids: Sequence[int], year: int, row: str, col: str):
    """The query of the cases behind one cell of table 三 (the web drill-down)."""
    if row not in ROWS or col not in ALL_COLUMNS:
        raise ValueError("unknown cell")
    start, end = _bounds(year)
    _is_new, _ended, where = _classify(year)
    q = select(Case).where(Case.agency_id.in_(agency_ids), where)
    if col != "total":
        if col == "other_org":
            q = q.where(Case.applicant_kind.not_in(COLUMNS[:-1]))
        else:
            q = q.where(Case.applicant_kind == col)
    if row == "new":
        q = q.where(Case.received_on >= start)
    elif row == "carried_in":
        q = q.where(Case.received_on < start)
    elif row == "carried_out":
        q = q.where(or_(Case.closed_on.is_(None), Case.closed_on > end))
    elif row == "total":
        q = q.where(Case.closed_on.is_not(None), Case.closed_on <= end)
    else:
        q = q.where(Case.closed_on.is_not(None), Case.closed_on <= end, Case.outcome == row)
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


ZERO_PROACTIVE = {
    "rules": {"issued": 0, "repealed": 0, "in_force": 0},
    "normative_documents": {"issued": 0, "repealed": 0, "in_force": 0},
    "licensing_decisions": 0, "penalty_decisions": 0, "coercion_decisions": 0, "fees_10k_yuan": "0",
}


def proactive(agency_ids: Sequence[int], year: int) -> tuple[dict[str, Any], bool]:
    """Table 二 summed over the agencies; and whether any ledger exists for that year."""
    rows = list(db.session.scalars(select(ProactiveYear).where(ProactiveYear.agency_id.in_(agency_ids),
                                                               ProactiveYear.year == year)))
    out = {"rules": dict(ZERO_PROACTIVE["rules"]), "normative_documents": dict(ZERO_PROACTIVE["normative_documents"]),
           "licensing_decisions": 0, "penalty_decisions": 0, "coercion_decisions": 0}
    fees = Decimal(0)
    for r in rows:
        p = r.to_proactive()
        for block in ("rules", "normative_documents"):
            for k in ("issued", "repealed", "in_force"):
                out[block][k] += p[block][k]
        for k in ("licensing_decisions", "penalty_decisions", "coercion_decisions"):
            out[k] += p[k]
        fees += Decimal(str(r.fees_10k_yuan or 0))
    out["fees_10k_yuan"] = decimal_str(fees)
    return out, bool(rows)


def _year_in_service(agency_ids: Sequence[int], year: int) -> bool:
    """Whether year Y is in the service: a frozen version, a ledger, or cases of that year or before."""
    if db.session.scalar(select(func.count(ReportVersion.id)).where(ReportVersion.agency_id.in_(agency_ids),
                                                                    ReportVersion.year == year)):
        return True
    return bool(db.session.scalar(select(func.count(Case.id)).where(Case.agency_id.in_(agency_ids),
                                                                    Case.received_on <= date(year, 12, 31))))


def frozen_version(agency_id: int, year: int) -> ReportVersion | None:
    return db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency_id,
                                                         ReportVersion.year == year)
                             .order_by(ReportVersion.version.desc()).limit(1))


def run_checks(report: dict[str, Any], prev_carried_out: dict[str, int] | None,
               prev_proactive: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The checks of report.md, each naming its failing cells."""
    apps = report["applications"]
    checks = []
    bad = [c for c in ALL_COLUMNS
           if apps["new"][c] + apps["carried_in"][c] != apps["total"][c] + apps["carried_out"][c]]
    checks.append({"name": "balance", "ok": not bad,
                   "detail": "; ".join(f"{c}: new {apps['new'][c]} + carried_in {apps['carried_in'][c]} != "
                                       f"total {apps['total'][c]} + carried_out {apps['carried_out'][c]}"
                                       for c in bad)})
    bad = [c for c in ALL_COLUMNS if apps["total"][c] != sum(apps["outcomes"][o][c] for o in OUTCOMES)]
    checks.append({"name": "outcome_sum", "ok": not bad,
                   "detail": "; ".join(f"total/{c} = {apps['total'][c]} != sum of outcomes "
                                       f"{sum(apps['outcomes'][o][c] for o in OUTCOMES)}" for c in bad)})
    rows = [("new", apps["new"]), ("carried_in", apps["carried_in"])] + \
        [(o, apps["outcomes"][o]) for o in OUTCOMES] + [("total", apps["total"]), ("carried_out", apps["carried_out"])]
    bad_rows = [(name, r) for name, r in rows if r["total"] != sum(r[c] for c in COLUMNS)]
    checks.append({"name": "column_sum", "ok": not bad_rows,
                   "detail": "; ".join(f"{name}/total = {r['total']} != {sum(r[c] for c in COLUMNS)}"
                                       for name, r in bad_rows)})
    if prev_carried_out is not None:
        bad = [c for c in ALL_COLUMNS if apps["carried_in"][c] != prev_carried_out.get(c, 0)]
        checks.append({"name": "carry_over", "ok": not bad,
                       "detail": "; ".join(f"carried_in/{c} = {apps['carried_in'][c]} != carried_out of "
                                           f"{report['year'] - 1} {prev_carried_out.get(c, 0)}" for c in bad)})
    if prev_proactive is not None:
        bad = []
        for block in ("rules", "normative_documents"):
            p, prev = report["proactive"][block], prev_proactive[block]
            want = prev["in_force"] + p["issued"] - p["repealed"]
            if p["in_force"] != want:
                bad.append(f"{block}/in_force = {p['in_force']} != {prev['in_force']} + {p['issued']} - "
                           f"{p['repealed']} = {want}")
        checks.append({"name": "proactive_in_force", "ok": not bad, "detail": "; ".join(bad)})
    return checks


def build_report(agencies: Sequence[Agency], year: int) -> dict[str, Any]:
    """The report JSON of report.md for one agency, or consolidated (cells summed) for several."""
    agencies = sorted(agencies, key=lambda a: a.code)
    ids = [a.id for a in agencies]
    appeal_year = agencies[0].policy().appeal_year if len(agencies) == 1 else "filed"
    per_item = [a.id for a in agencies if a.policy().multi_item_outcome == "item"]
    apps = table3(ids, year, per_item)
    prev_carried_out = None
    frozen_prev = [frozen_version(a.id, year - 1) for a in agencies]
    if all(v is not None for v in frozen_prev) and frozen_prev:
        # Once Y-1 is closed, carried_in is its frozen carried_out (report.md)
        live_carried_in = apps["carried_in"]
        frozen = _row()
        for v in frozen_prev:
            for c in ALL_COLUMNS:
                frozen[c] += v.data["applications"]["carried_out"][c]
        apps["carried_in"] = frozen
        prev_carried_out = dict(live_carried_in)
    elif _year_in_service(ids, year - 1):
        prev_carried_out = table3(ids, year - 1, per_item)["carried_out"]
    pro, _has = proactive(ids, year)
    prev_pro, has_prev = proactive(ids, year - 1)
    report = {
        "format": REPORT_FORMAT,
        "year": year,
        "agencies": [{"code": a.code, "name": a.name} for a in agencies],
        "proactive": pro,
        "applications": apps,
        "appeals": table4(ids, year, appeal_year),
        "fees_collected_yuan": decimal_str(fees_collected(ids, year)),
    }
    report["checks"] = run_checks(report, prev_carried_out, prev_pro if has_prev else None)
    return report


def proactive_ledger_empty(agency_ids: Iterable[int], year: int) -> bool:
    return not proactive(list(agency_ids), year)[1]
