"""The proactive-disclosure figures (table 2) from the ledger (主动公开台账) of the agencies and year."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from webapp.cases.services.money import decimal_str
from webapp.extensions import db
from webapp.models import ProactiveYear

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


_PROACTIVE_SUMS = ("rules_issued", "rules_repealed", "rules_in_force", "normative_issued", "normative_repealed",
                   "normative_in_force", "licensing_decisions", "penalty_decisions", "coercion_decisions")


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
