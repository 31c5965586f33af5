"""The whole report of agencies and a year: its figures read in one statement, the frozen version, and its
checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, Numeric, String, bindparam, column, select, text

from webapp.extensions import db
from webapp.models import Agency, ReportVersion

from ..money import decimal_str
from .ledger import _PROACTIVE_SUMS, ZERO_PROACTIVE, _sum_ledgers
from .tables import ALL_COLUMNS, APPEAL_GROUPS, APPEAL_RESULTS, COLUMNS, OUTCOMES, REPORT_FORMAT, _bounds, _row


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
