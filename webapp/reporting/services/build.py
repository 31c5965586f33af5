"""The whole report of agencies and a year: its figures read in one statement, the frozen version, and its
checks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    String,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)

from webapp.cases.services.money import decimal_str
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseItem, ProactiveYear, ReportVersion

from . import cells
from .ledger import _PROACTIVE_SUMS, ZERO_PROACTIVE, _sum_ledgers
from .tables import (
    ALL_COLUMNS,
    COLUMNS,
    OUTCOMES,
    REPORT_FORMAT,
    Table3Counts,
    _bounds,
    add_to_table4,
    empty_table4,
)


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


def _cols(tag: str, a=None, b=None, k=None, n=None, m=None, g=None) -> list:
    """One part's columns of the report statement: (tag, a, b, k, n, m, g)."""
    def typed(x, type_):
        return type_coerce(null() if x is None else x, type_)
    return [literal_column(f"'{tag}'", String).label("tag"), typed(a, String).label("a"), typed(b, String).label("b"),
            typed(k, String).label("k"), typed(n, Integer).label("n"), typed(m, Numeric(18, 6)).label("m"),
            typed(g, Integer).label("g")]


@lru_cache(maxsize=32)
def _report_statement(by_app: bool, by_item: bool, by_filed: bool, by_decided: bool, by_agency: bool = False):
    """Everything build_report reads, in one statement (one round trip): table 三 by application
    and/or by item, table 四 by each agency's appeal-year policy, the fee total, the ledger of Y and
    Y-1 per agency, the agencies whose Y-1 was closed, and whether Y-1 is in the service. Rows:
    (tag, a, b, k, n, m, g); g is the agency of a table 三 row counted by application. Every cell's
    terms come from cells.py, as the drill-down's lists do. ``by_agency``: every figure per agency
    (g on every row; "svc" one row per agency with a case of Y-1 or before): the consolidated
    report's per-agency parts (parts.py)."""
    y = cells.Span(bindparam("start", type_=Date), bindparam("end", type_=Date))
    ids = bindparam("ids", expanding=True)
    no_numeric = cast(null(), Numeric)
    parts = []
    # Table 三 grouped by plain columns and boolean tests (PostgreSQL estimates those well and hashes
    # the groups), the CASEs applied to the groups; cells.ended is NULL for an open case.
    if by_app:
        # The open cases and those closed since Y began, as two ranges of ix_case_agency_closed_report
        # (read from the index alone on PostgreSQL: an OR of the two is a scan of each agency's every
        # case or a bitmap that visits each case's row). Grouped by agency too: the consolidated
        # report's per-agency summary comes from the same rows (build_report's ``per_agency``).
        app_ids = bindparam("app_ids", expanding=True)
        cols = (Case.agency_id, Case.applicant_kind, Case.received_on, Case.closed_on, Case.outcome)
        c = union_all(*(select(*cols).where(Case.agency_id.in_(app_ids), cells.received_by_end(Case, y), part)
                        for part in cells.open_at_start(Case, y))).subquery("c").c
        parts.append(select(*_cols("t3", c.applicant_kind, cells.new_or_in(c, y),
                                   cells.counted_outcome(c, y, c.outcome), func.count(), no_numeric, c.agency_id))
                     .group_by(c.applicant_kind, cells.is_new(c, y), cells.ended(c, y), c.outcome, c.agency_id))
    if by_item:
        outcome = cells.item_outcome(Case, CaseItem)
        parts.append(select(*_cols("t3", Case.applicant_kind, cells.new_or_in(Case, y),
                                   cells.counted_outcome(Case, y, outcome), func.count(), no_numeric,
                                   Case.agency_id if by_agency else None))
                     .join(CaseItem, CaseItem.case_id == Case.id)
                     .where(Case.agency_id.in_(bindparam("item_ids", expanding=True)), cells.in_year(Case, y))
                     .group_by(Case.applicant_kind, cells.is_new(Case, y), cells.ended(Case, y), outcome,
                               *((Case.agency_id,) if by_agency else ())))
    # Table 四 for the agencies counting appeals by filing year, and for those counting by decision.
    result = cells.appeal_result(Appeal, y)
    for ids_name, policy, chosen in (("filed_ids", "filed", by_filed), ("decided_ids", "decided", by_decided)):
        if chosen:
            parts.append(select(*_cols("t4", Appeal.kind, result, None, func.count(), no_numeric,
                                       Appeal.agency_id if by_agency else None))
                         .where(Appeal.agency_id.in_(bindparam(ids_name, expanding=True)),
                                cells.appeal_counted(Appeal, y, policy))
                         .group_by(Appeal.kind, result, *((Appeal.agency_id,) if by_agency else ())))
    p = ProactiveYear
    sums = [cast(func.sum(getattr(p, col)), Text) for col in _PROACTIVE_SUMS]
    joined = sums[0]
    for s in sums[1:]:
        joined = joined.op("||")(literal_column("','")).op("||")(s)
    prev_year = bindparam("prev_year", type_=Integer)
    prev_end = bindparam("prev_end", type_=Date)
    if by_agency:
        # one probe of ix_case_agency_received per agency (a correlated LIMIT 1: never a scan)
        first_before = (select(Case.id).where(Case.agency_id == Agency.id, Case.received_on <= prev_end)
                        .limit(literal_column("1")).scalar_subquery())
        svc = select(*_cols("svc", n=literal_column("1"), g=Agency.id)).where(Agency.id.in_(ids),
                                                                              first_before.is_not(None))
    else:
        any_before = (select(literal_column("1").label("one"))
                      .where(Case.agency_id.in_(ids), Case.received_on <= prev_end)
                      .limit(literal_column("1")).subquery("s"))
        svc = select(*_cols("svc", n=func.count())).select_from(any_before)
    fee = select(*_cols("fee", n=func.count(), m=func.sum(Case.fee_amount), g=Case.agency_id if by_agency else None)
                 ).where(Case.agency_id.in_(ids), cells.fee_paid_in(Case, y))
    parts += [
        fee.group_by(Case.agency_id) if by_agency else fee,
        select(*_cols("pro", cast(p.year, Text), cast(p.agency_id, Text), joined, func.count(),
                      func.sum(p.fees_10k_yuan)))
        .where(p.agency_id.in_(ids), p.year.in_([bindparam("year", type_=Integer), prev_year]))
        .group_by(p.year, p.agency_id),
        select(*_cols("rv", cast(ReportVersion.agency_id, Text), n=func.count()))
        .where(ReportVersion.agency_id.in_(ids), ReportVersion.year == prev_year).group_by(ReportVersion.agency_id),
        svc,
    ]
    return union_all(*parts)


def build_report(agencies: Sequence[Agency], year: int,
                 per_agency: dict[int, dict[str, int]] | None = None) -> dict[str, Any]:
    """The report JSON of report.md for one agency, or consolidated for several: every cell the sum of
    the agencies' own reports (each with its own counting policies, frozen carry-over and ledger).
    ``per_agency``, if given, receives each agency's cases of Y as counted (new, carried_in, total,
    carried_out; applications, whatever its counting unit) - the consolidated page's summary.

    One statement reads everything (_report_statement); a second one only when Y-1 was closed for
    some of several agencies but not all (their counted carried_in is replaced by the frozen one)."""
    agencies = sorted(agencies, key=lambda a: a.code)
    ids = list(dict.fromkeys(a.id for a in agencies))
    policies = {a.id: a.policy() for a in agencies}
    params = _statement_params(ids, policies, year)
    apps, appeals, fees, ledgers, closed_prev, prev_cases = _read(ids, policies, params, per_agency)
    if per_agency is not None and params.get("item_ids"):    # counted by item in table 三: count the cases
        _count_cases(params["item_ids"], year, per_agency)

    prev_carried_out = None
    if closed_prev or prev_cases:
        # Y-1 is in the service: its carried_out is, by the counting rules, exactly this year's
        # carried_in counted from the cases (received before Y and not ended before Y began) ...
        prev_carried_out = dict(apps["carried_in"])
    if closed_prev:
        # ... and once Y-1 is closed for an agency, its carried_in is the frozen carried_out of Y-1
        # (report.md); the carry_over check then compares the two.
        latest, openings = frozen_versions(closed_prev, year)
        ledgers.setdefault(year - 1, {}).update(openings)
        counted = apps["carried_in"]
        if len(closed_prev) < len(ids):     # the closed agencies' own counted carried_in comes out
            closed = sorted(closed_prev)
            counted = _read(closed, policies, _statement_params(closed, policies, year))[0]["carried_in"]
        carried_in = {c: apps["carried_in"][c] - counted[c] for c in ALL_COLUMNS}
        for data in latest.values():
            for c in ALL_COLUMNS:
                carried_in[c] += data["applications"]["carried_out"][c]
        apps["carried_in"] = carried_in
    return assemble(agencies, year, apps, appeals, fees, ledgers, prev_carried_out)


def frozen_versions(closed: Iterable[int], year: int) -> tuple[dict[int, dict], dict[int, dict]]:
    """The latest frozen version of Y-1 of each agency of ``closed`` (its data), and the agencies whose
    latest is an opening balance -> that balance's ledger (table 二) of Y-1."""
    latest: dict[int, dict] = {}
    openings: dict[int, dict] = {}
    for aid, data, opening in db.session.execute(
            select(ReportVersion.agency_id, ReportVersion.data, ReportVersion.opening)
            .where(ReportVersion.agency_id.in_(sorted(closed)), ReportVersion.year == year - 1)
            .order_by(ReportVersion.agency_id, ReportVersion.version.desc())):
        if aid not in latest and opening:
            # an opening balance (reporting/services/opening.py): last year's in-force counts are the
            # published ones, the start of the in-force chain
            openings[aid] = data["proactive"]
        latest.setdefault(aid, data)
    return latest, openings


def assemble(agencies: Sequence[Agency], year: int, apps: dict[str, Any], appeals: dict[str, Any], fees: Decimal,
             ledgers: dict[int, dict[int, dict[str, Any]]], prev_carried_out: dict[str, int] | None) -> dict[str, Any]:
    """The report of ``agencies`` (sorted by code) from its figures: table 三 and 四, the fee total, the
    ledgers {Y or Y-1: {agency: table 二}} and the carried_out of Y-1 if Y-1 is in the service; with
    its checks. build_report and the per-agency parts (parts.py) both end here."""
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


def _count_cases(agency_ids: list[int], year: int, per_agency: dict[int, dict[str, int]]) -> None:
    """new / carried in / ended / carried out per agency, counting cases (one grouped statement)."""
    y = cells.span(year)
    new, counted = cells.is_new(Case, y), cells.counted_outcome(Case, y, Case.outcome).is_not(None)
    q = (select(Case.agency_id, new, counted, func.count())
         .where(Case.agency_id.in_(agency_ids), cells.in_year(Case, y)).group_by(Case.agency_id, new, counted))
    for aid, is_new, done, n in db.session.execute(q):
        _add_case_counts(per_agency, aid, bool(is_new), bool(done), n)


def _add_case_counts(per_agency: dict[int, dict[str, int]], aid: int, new: bool, done: bool, n: int) -> None:
    f = per_agency.setdefault(aid, {"new": 0, "carried_in": 0, "total": 0, "carried_out": 0})
    f["new" if new else "carried_in"] += n
    f["total" if done else "carried_out"] += n


def _read(ids: list[int], policies: dict[int, Any], params: dict[str, Any],
          per_agency: dict[int, dict[str, int]] | None = None):
    """Run the report statement: (applications, appeals, fee total, {year: {agency: ledger}}, agencies
    whose Y-1 was closed, whether Y-1 is in the service); each agency's table 三 case counts into
    ``per_agency`` if given."""
    flags = tuple(name in params for name in ("app_ids", "item_ids", "filed_ids", "decided_ids"))
    counts = Table3Counts()
    appeals = empty_table4()
    fees = Decimal(0)
    ledgers: dict[int, dict[int, dict[str, Any]]] = {}
    closed_prev: set[int] = set()
    prev_cases = 0
    place = counts.place
    for tag, a, b, k, n, m, g in _execute(db.session.connection(), flags, params):
        if tag == "t3":
            if g is not None and per_agency is not None:
                _add_case_counts(per_agency, g, b == "new", k is not None, n)
            col, rows = place(a, b == "new", k)     # thousands of groups in a consolidated report: inline
            for row in rows:
                row[col] += n
                row["total"] += n
        elif tag == "t4":
            add_to_table4(appeals, a, b, n)
        elif tag == "fee":
            fees = Decimal(str(m or 0))
        elif tag == "pro":
            ledgers.setdefault(int(a), {})[int(b)] = ledger_of(k, m)
        elif tag == "rv":
            closed_prev.add(int(a))
        elif tag == "svc":
            prev_cases = n
    return counts.apps, appeals, fees, ledgers, closed_prev, prev_cases


def ledger_of(sums: str, fees) -> dict[str, Any]:
    """A "pro" row's ledger (table 二): the nine sums joined by commas, and the fee sum."""
    v = [int(x) for x in sums.split(",")]
    return {"rules": {"issued": v[0], "repealed": v[1], "in_force": v[2]},
            "normative_documents": {"issued": v[3], "repealed": v[4], "in_force": v[5]},
            "licensing_decisions": v[6], "penalty_decisions": v[7], "coercion_decisions": v[8],
            "fees_10k_yuan": decimal_str(fees or 0)}


_LISTS = ("ids", "app_ids", "item_ids", "filed_ids", "decided_ids")


def _execute(conn, flags: tuple[bool, ...], params: dict[str, Any]):
    """The report statement's rows. On PostgreSQL its SQL text is compiled once per variant and list
    lengths (``_driver_sql``) and sent as it is: a small agency's report reads a few dozen rows, and
    Core's per-execution work on the statement (its cache key, the IN lists expanded, the result's
    processors, none of which PostgreSQL's types need) cost about as much as the read. The same
    statement through Core elsewhere (SQLite: its dates and decimals are converted by Core)."""
    if conn.dialect.name != "postgresql":
        # the Core statement on the connection: the session's ORM execution path costs more than the read
        return conn.execute(_report_statement(*flags), params)
    sql, keys = _driver_sql(_report_statement(*flags),
                            tuple((name, len(params[name])) for name in _LISTS if name in params), conn.dialect)
    return conn.exec_driver_sql(sql, {key: params[name] if i is None else params[name][i] for key, name, i in keys})


@lru_cache(maxsize=256)
def _driver_sql(stmt, lengths: tuple[tuple[str, int], ...], dialect):
    """The SQL of ``stmt`` (a report statement, cached: the key is the object) for the dialect with its
    IN lists of ``lengths`` expanded, and where each of its parameters comes from: (key, parameter
    name, index in the list or None). (256: the consolidated report's parts come in any number of
    agencies, 1 to all, each number a text of its own of a few kB.)"""
    compiled = stmt.compile(dialect=dialect)
    probe: dict[str, Any] = {name: [_From(name, i) for i in range(n)] for name, n in lengths}
    probe.update({name: _From(name, None) for name in compiled.binds if name not in _LISTS})
    state = compiled.construct_expanded_state(probe)
    if not all(isinstance(v, _From) for v in state.parameters.values()):   # every value is build_report's
        raise TypeError("the report statement has a parameter build_report does not give")
    return state.statement, tuple((key, v.name, v.index) for key, v in state.parameters.items())


class _From:
    """A placeholder value naming the parameter (and list index) it stands for."""

    __slots__ = ("index", "name")

    def __init__(self, name: str, index: int | None) -> None:
        self.name, self.index = name, index
