"""The consolidated report from per-agency parts (report_cache.py caches each part under its own
agency's stamp, so that after one agency's change only that agency's part is read again).

Every figure of a consolidated report is the sum of the agencies' own figures (report.md: "the tables
summed cell by cell; each agency keeps its own counting unit, appeal-year policy and frozen
carry-over"), and build_report computes it so: table 三 by each agency's unit, table 四 by its
appeal-year policy, the fee total, 上年结转 frozen per closed agency. What is not a sum is derived
from sums and flags: the checks (run_checks over the summed tables), carry_over (present when Y-1 is
in the service for any agency: the sum of the agencies' counted 上年结转 before the frozen ones replace
theirs), proactive_in_force (over the agencies with a ledger of Y-1, this year's and last year's
ledgers summed), the agency list (the rows as read). So a part holds one agency's:

- ``t3``: table 三 as the agency's report counts it (carried_in frozen if its Y-1 is closed), flat:
  row by row in ROWS order, each in ALL_COLUMNS order (``_AT``); ``in``: its counted carried_in (the
  seven columns), whatever was frozen;
- ``prev``: whether its Y-1 is in the service (a case received by 31 December of Y-1, or Y-1 closed);
- ``t4``: table 四, flat in ``_T4_CELLS`` order; ``fees``: its fee total (exact decimal text);
- ``ledger``, ``prev_ledger``: its ledger of Y and of Y-1 (an opening balance's if its latest Y-1
  version is one), or null where it has none;
- ``summary``: its cases of Y (new, carried_in, total, carried_out) for the consolidated page, or null.

``merge`` adds the parts up and ends in build.assemble, as build_report does, so the result is
build_report's, key order included (tests/reports/test_report_parts.py compares the JSON text).
``compute_parts`` reads any number of parts in one statement (build._report_statement by agency).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from webapp.extensions import db
from webapp.models import Agency

from . import cells
from .build import (
    _add_case_counts,
    _count_cases,
    _execute,
    _statement_params,
    assemble,
    frozen_versions,
    ledger_of,
)
from .tables import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    OUTCOMES,
    ROWS,
    add_to_table4,
    empty_table3,
    empty_table4,
)

#: A part's table 三, flat: row by row in ROWS order, each row's seven columns in ALL_COLUMNS order.
_WIDTH = len(ALL_COLUMNS)
_AT = {(r, c): i * _WIDTH + j for i, r in enumerate(ROWS) for j, c in enumerate(ALL_COLUMNS)}
_IN = slice(ROWS.index("carried_in") * _WIDTH, (ROWS.index("carried_in") + 1) * _WIDTH)
_T4_CELLS = tuple((g, r) for g in APPEAL_GROUPS for r in (*APPEAL_RESULTS, "total"))
_FLAGS = ("app_ids", "item_ids", "filed_ids", "decided_ids")


def _cells_of(kind: str, new: bool, outcome: str | None) -> tuple[int, ...]:
    """The flat table 三 cells a unit counts in (its column and the total of each of its rows):
    cells.column_of and cells.rows_of, as Table3Counts places it."""
    col = cells.column_of(kind)
    return tuple(_AT[(r, c)] for r in cells.rows_of(new, outcome) for c in (col, "total"))


def _t3_of(flat: Sequence[int]) -> dict[str, Any]:
    apps = empty_table3()
    for r in ROWS:
        row = apps["outcomes"][r] if r in OUTCOMES else apps[r]
        for c in ALL_COLUMNS:
            row[c] = flat[_AT[(r, c)]]
    return apps


def compute_parts(agencies: Sequence[Agency], year: int) -> dict[int, dict[str, Any]]:
    """The part of each of ``agencies`` for ``year``: one statement (every figure grouped by agency),
    one more for the frozen versions where Y-1 was closed, one more counting the cases of agencies that
    count items."""
    agencies = list({a.id: a for a in agencies}.values())
    ids = sorted(a.id for a in agencies)
    policies = {a.id: a.policy() for a in agencies}
    params = _statement_params(ids, policies, year)
    item_ids = set(params.get("item_ids", ()))
    t3 = {i: [0] * len(_AT) for i in ids}
    placed: dict[tuple[str, bool, str | None], tuple[int, ...]] = {}
    appeals = {i: empty_table4() for i in ids}
    fees = dict.fromkeys(ids, Decimal(0))
    ledgers: dict[int, dict[int, dict[str, Any]]] = {year: {}, year - 1: {}}
    prev: set[int] = set()
    closed: set[int] = set()
    summary: dict[int, dict[str, int]] = {}
    flags = (*(name in params for name in _FLAGS), True)
    for tag, a, b, k, n, m, g in _execute(db.session.connection(), flags, params):
        if tag == "t3":
            key = (a, b == "new", k)
            at = placed.get(key)
            if at is None:
                at = placed[key] = _cells_of(*key)
            flat = t3[g]
            for i in at:
                flat[i] += n
            if g not in item_ids:       # counted by application: the rows are its cases too
                _add_case_counts(summary, g, b == "new", k is not None, n)
        elif tag == "t4":
            add_to_table4(appeals[g], a, b, n)
        elif tag == "fee":
            fees[g] = Decimal(str(m or 0))
        elif tag == "pro":
            ledgers.setdefault(int(a), {})[int(b)] = ledger_of(k, m)
        elif tag == "rv":
            closed.add(int(a))
        elif tag == "svc":
            prev.add(g)
    if item_ids:
        _count_cases(sorted(item_ids), year, summary)
    counted_in = {i: t3[i][_IN] for i in ids}
    if closed:
        latest, openings = frozen_versions(closed, year)
        ledgers[year - 1].update(openings)
        for aid, data in latest.items():
            t3[aid][_IN] = [data["applications"]["carried_out"][c] for c in ALL_COLUMNS]
    return {i: {"t3": t3[i], "in": counted_in[i], "prev": i in prev or i in closed,
                "t4": [appeals[i][g][r] for g, r in _T4_CELLS], "fees": str(fees[i]),
                "ledger": ledgers[year].get(i), "prev_ledger": ledgers[year - 1].get(i),
                "summary": summary.get(i)} for i in ids}


def merge(agencies: Sequence[Agency], year: int, parts: Mapping[int, Mapping[str, Any]],
          per_agency: dict[int, dict[str, int]] | None = None) -> dict[str, Any]:
    """build_report(agencies, year, per_agency) from the agencies' parts."""
    agencies = sorted(agencies, key=lambda a: a.code)
    ids = list(dict.fromkeys(a.id for a in agencies))
    chosen = [parts[i] for i in ids]
    t3 = [sum(column) for column in zip(*(p["t3"] for p in chosen), strict=True)]
    counted_in = [sum(column) for column in zip(*(p["in"] for p in chosen), strict=True)]
    t4 = [sum(column) for column in zip(*(p["t4"] for p in chosen), strict=True)]
    appeals = empty_table4()
    for (g, r), n in zip(_T4_CELLS, t4, strict=True):
        appeals[g][r] = n
    ledgers = {year: {i: p["ledger"] for i, p in zip(ids, chosen, strict=True) if p["ledger"] is not None},
               year - 1: {i: p["prev_ledger"] for i, p in zip(ids, chosen, strict=True)
                          if p["prev_ledger"] is not None}}
    if per_agency is not None:
        per_agency.update({i: dict(p["summary"]) for i, p in zip(ids, chosen, strict=True) if p["summary"]})
    prev_carried_out = dict(zip(ALL_COLUMNS, counted_in, strict=True)) if any(p["prev"] for p in chosen) else None
    fees = sum((Decimal(p["fees"]) for p in chosen), Decimal(0))
    return assemble(agencies, year, _t3_of(t3), appeals, fees, ledgers, prev_carried_out)
