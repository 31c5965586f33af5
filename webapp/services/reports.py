"""Table 三, table 四, the fee total and the checks of report.md, counted from the case history
with one aggregation query per table (no loop over cases in Python, no query per cell)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, Numeric, String, and_, bindparam, column, func, literal, or_, select, text
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
               prev_proactive: tuple[dict[str, Any], dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The checks of report.md, each naming its failing cells. ``prev_proactive``: (this year's ledger,
    last year's), over the agencies whose ledger of last year is in the service."""
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
            p, prev = prev_proactive[0][block], prev_proactive[1][block]
            want = prev["in_force"] + p["issued"] - p["repealed"]
            if p["in_force"] != want:
                bad.append(f"{block}/in_force = {p['in_force']} != {prev['in_force']} + {p['issued']} - "
                           f"{p['repealed']} = {want}")
        checks.append({"name": "proactive_in_force", "ok": not bad, "detail": "; ".join(bad)})
    return checks


_PROACTIVE_SUMS = ("rules_issued", "rules_repealed", "rules_in_force", "normative_issued", "normative_repealed",
                   "normative_in_force", "licensing_decisions", "penalty_decisions", "coercion_decisions")


@lru_cache(maxsize=32)
def _report_statement(by_app: bool, by_item: bool, by_filed: bool, by_decided: bool):
    """Everything build_report reads, in one statement (one round trip): table 三 by application
    and/or by item, table 四 by each agency's appeal-year policy, the fee total, the ledger of Y and
    Y-1 per agency, the agencies whose Y-1 was closed, and whether Y-1 is in the service. Rows:
    (tag, a, b, k, n, m)."""
    where = "c.received_on <= :end AND (c.closed_on IS NULL OR c.closed_on >= :start)"
    # Grouped by plain columns and boolean tests (PostgreSQL estimates those well and hashes the
    # groups), the CASEs applied to the groups; "c.closed_on <= :end" is NULL for an open case.
    is_new = "CASE WHEN c.received_on >= :start THEN 'new' ELSE 'in' END"
    group = "GROUP BY c.applicant_kind, c.received_on >= :start, c.closed_on <= :end, {}"
    parts = []
    if by_app:
        parts.append(f"SELECT 't3' AS tag, c.applicant_kind AS a, {is_new} AS b, "
                     "CASE WHEN c.closed_on <= :end THEN c.outcome END AS k, "
                     f"count(*) AS n, CAST(NULL AS NUMERIC) AS m FROM \"case\" c "
                     f"WHERE c.agency_id IN :app_ids AND {where} {group.format('c.outcome')}")
    if by_item:
        item_outcome = "coalesce(i.outcome, c.outcome)"
        parts.append(f"SELECT 't3', c.applicant_kind, {is_new}, CASE WHEN c.closed_on <= :end THEN {item_outcome} END, "
                     f"count(*), CAST(NULL AS NUMERIC) FROM \"case\" c JOIN case_item i ON i.case_id = c.id "
                     f"WHERE c.agency_id IN :item_ids AND {where} {group.format(item_outcome)}")
    # Table 四 for the agencies counting appeals by filing year, and for those counting by decision.
    conds = []
    if by_filed:
        conds.append(("filed_ids", "ap.filed_on >= :start AND ap.filed_on <= :end"))
    if by_decided:
        conds.append(("decided_ids", "((ap.decided_on >= :start AND ap.decided_on <= :end) OR (ap.filed_on >= :start "
                                     "AND ap.filed_on <= :end AND (ap.decided_on IS NULL OR ap.decided_on > :end)))"))
    for ids_name, cond in conds:
        parts.append(
            "SELECT 't4', ap.kind, CASE WHEN ap.decided_on IS NOT NULL AND ap.decided_on <= :end THEN ap.result "
            "ELSE 'pending' END, NULL, count(*), CAST(NULL AS NUMERIC) FROM appeal ap "
            f"WHERE ap.agency_id IN :{ids_name} AND {cond} GROUP BY 2, 3")
    sums = " || ',' || ".join(f"CAST(sum(p.{col}) AS TEXT)" for col in _PROACTIVE_SUMS)
    parts += [
        "SELECT 'fee', NULL, NULL, NULL, count(*), sum(c.fee_amount) FROM \"case\" c "
        "WHERE c.agency_id IN :ids AND c.fee_paid_on >= :start AND c.fee_paid_on <= :end",
        f"SELECT 'pro', CAST(p.year AS TEXT), CAST(p.agency_id AS TEXT), {sums}, count(*), sum(p.fees_10k_yuan) "
        "FROM proactive_year p WHERE p.agency_id IN :ids AND p.year IN (:year, :prev_year) "
        "GROUP BY p.year, p.agency_id",
        "SELECT 'rv', CAST(rv.agency_id AS TEXT), NULL, NULL, count(*), NULL FROM report_version rv "
        "WHERE rv.agency_id IN :ids AND rv.year = :prev_year GROUP BY rv.agency_id",
        "SELECT 'svc', NULL, NULL, NULL, count(*), NULL FROM (SELECT 1 AS one FROM \"case\" c "
        "WHERE c.agency_id IN :ids AND c.received_on <= :prev_end LIMIT 1) s",
    ]
    binds = [bindparam("ids", expanding=True), bindparam("start", type_=Date), bindparam("end", type_=Date),
             bindparam("prev_end", type_=Date), bindparam("year", type_=Integer), bindparam("prev_year", type_=Integer)]
    if by_app:
        binds.append(bindparam("app_ids", expanding=True))
    if by_item:
        binds.append(bindparam("item_ids", expanding=True))
    if by_filed:
        binds.append(bindparam("filed_ids", expanding=True))
    if by_decided:
        binds.append(bindparam("decided_ids", expanding=True))
    return (text("\nUNION ALL\n".join(parts)).bindparams(*binds)
            .columns(column("tag", String), column("a", String), column("b", String), column("k", String),
                     column("n", Integer), column("m", Numeric(18, 6))))


def build_report(agencies: Sequence[Agency], year: int) -> dict[str, Any]:
    """The report JSON of report.md for one agency, or consolidated for several: every cell the sum of
    the agencies' own reports (each with its own counting policies, frozen carry-over and ledger).

    One statement reads everything (_report_statement); a second one only when Y-1 was closed for
    some of several agencies but not all (their counted carried_in is replaced by the frozen one)."""
    agencies = sorted(agencies, key=lambda a: a.code)
    ids = list(dict.fromkeys(a.id for a in agencies))
    policies = {a.id: a.policy() for a in agencies}
    params = _statement_params(ids, policies, year)
    apps, appeals, fees, ledgers, closed_prev, prev_cases = _read(ids, policies, params)

    prev_carried_out = None
    if closed_prev or prev_cases:
        # Y-1 is in the service: its carried_out is, by the counting rules, exactly this year's
        # carried_in counted from the cases (received before Y and not ended before Y began) ...
        prev_carried_out = dict(apps["carried_in"])
    if closed_prev:
        # ... and once Y-1 is closed for an agency, its carried_in is the frozen carried_out of Y-1
        # (report.md); the carry_over check then compares the two.
        latest: dict[int, dict] = {}
        for aid, data, opening in db.session.execute(
                select(ReportVersion.agency_id, ReportVersion.data, ReportVersion.opening)
                .where(ReportVersion.agency_id.in_(sorted(closed_prev)), ReportVersion.year == year - 1)
                .order_by(ReportVersion.agency_id, ReportVersion.version.desc())):
            if aid not in latest and opening:
                # an opening balance (services/opening.py): last year's in-force counts are the
                # published ones, the start of the in-force chain
                ledgers.setdefault(year - 1, {})[aid] = data["proactive"]
            latest.setdefault(aid, data)
        counted = apps["carried_in"]
        if len(closed_prev) < len(ids):     # the closed agencies' own counted carried_in comes out
            closed = sorted(closed_prev)
            counted = _read(closed, policies, _statement_params(closed, policies, year))[0]["carried_in"]
        carried_in = {c: apps["carried_in"][c] - counted[c] for c in ALL_COLUMNS}
        for data in latest.values():
            for c in ALL_COLUMNS:
                carried_in[c] += data["applications"]["carried_out"][c]
        apps["carried_in"] = carried_in
    zero = {**ZERO_PROACTIVE, "rules": dict(ZERO_PROACTIVE["rules"]),
            "normative_documents": dict(ZERO_PROACTIVE["normative_documents"])}
    this_year, last_year = ledgers.get(year, {}), ledgers.get(year - 1, {})
    report = {
        "format": REPORT_FORMAT,
        "year": year,
        "agencies": [{"code": a.code, "name": a.name} for a in agencies],
        "proactive": _sum_ledgers(this_year.values()) if this_year else zero,
        "applications": apps,
        "appeals": appeals,
        "fees_collected_yuan": decimal_str(fees),
    }
    # The in-force check where last year's ledger is in the service: over those agencies only.
    prev_proactive = None
    if last_year:
        prev_proactive = (_sum_ledgers([this_year.get(aid, zero) for aid in last_year]),
                          _sum_ledgers(last_year.values()))
    report["checks"] = run_checks(report, prev_carried_out, prev_proactive)
    return report


def _statement_params(ids: list[int], policies: dict[int, Any], year: int) -> dict[str, Any]:
    start, end = _bounds(year)
    params: dict[str, Any] = {"ids": ids, "start": start, "end": end, "prev_end": date(year - 1, 12, 31),
                              "year": year, "prev_year": year - 1}
    for name, keep in (("app_ids", lambda p: p.multi_item_outcome != "item"),
                       ("item_ids", lambda p: p.multi_item_outcome == "item"),
                       ("filed_ids", lambda p: p.appeal_year != "decided"),
                       ("decided_ids", lambda p: p.appeal_year == "decided")):
        chosen = [i for i in ids if keep(policies[i])]
        if chosen:
            params[name] = chosen
    return params


def _read(ids: list[int], policies: dict[int, Any], params: dict[str, Any]):
    """Run the report statement: (applications, appeals, fee total, {year: {agency: ledger}}, agencies
    whose Y-1 was closed, whether Y-1 is in the service)."""
    stmt = _report_statement(*(name in params for name in ("app_ids", "item_ids", "filed_ids", "decided_ids")))
    apps = {"new": _row(), "carried_in": _row(), "outcomes": {o: _row() for o in OUTCOMES},
            "total": _row(), "carried_out": _row()}
    appeals = {g: dict.fromkeys(APPEAL_RESULTS + ("total",), 0) for g in APPEAL_GROUPS}
    fees = Decimal(0)
    ledgers: dict[int, dict[int, dict[str, Any]]] = {}
    closed_prev: set[int] = set()
    prev_cases = 0
    for tag, a, b, k, n, m in db.session.execute(stmt, params):
        if tag == "t3":
            col = a if a in COLUMNS else "other_org"
            target = [apps["new"] if b == "new" else apps["carried_in"]]
            target += [apps["carried_out"]] if k is None else [apps["outcomes"][k], apps["total"]]
            for row in target:
                row[col] += n
                row["total"] += n
        elif tag == "t4":
            if a in appeals:
                appeals[a][b if b in APPEAL_RESULTS else "other"] += n
                appeals[a]["total"] += n
        elif tag == "fee":
            fees = Decimal(str(m or 0))
        elif tag == "pro":
            v = [int(x) for x in k.split(",")]
            ledgers.setdefault(int(a), {})[int(b)] = {
                "rules": {"issued": v[0], "repealed": v[1], "in_force": v[2]},
                "normative_documents": {"issued": v[3], "repealed": v[4], "in_force": v[5]},
                "licensing_decisions": v[6], "penalty_decisions": v[7], "coercion_decisions": v[8],
                "fees_10k_yuan": decimal_str(m or 0)}
        elif tag == "rv":
            closed_prev.add(int(a))
        elif tag == "svc":
            prev_cases = n
    return apps, appeals, fees, ledgers, closed_prev, prev_cases


def _sum_ledgers(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Ledgers (table 二) summed cell by cell."""
    out = {**ZERO_PROACTIVE, "rules": dict(ZERO_PROACTIVE["rules"]),
           "normative_documents": dict(ZERO_PROACTIVE["normative_documents"])}
    fees = Decimal(0)
    for r in rows:
        for block in ("rules", "normative_documents"):
            for col in ("issued", "repealed", "in_force"):
                out[block][col] += r[block][col]
        for key in ("licensing_decisions", "penalty_decisions", "coercion_decisions"):
            out[key] += r[key]
        fees += Decimal(str(r["fees_10k_yuan"]))
    out["fees_10k_yuan"] = decimal_str(fees)
    return out


def proactive_ledger_empty(agency_ids: Iterable[int], year: int) -> bool:
    return not proactive(list(agency_ids), year)[1]
