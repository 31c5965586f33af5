"""Synthetic interchange documents: realistic years of applications, valid by construction
(every case is replayed through the domain while it is generated). For tests and benchmarks.

    python -m tests.synth --cases 5000 --year 2024 --agency GEN > doc.json
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta
from typing import Any

from webapp.domain.calendar import WorkCalendar
from webapp.domain.outcomes import Outcome
from webapp.domain.policies import Policies
from webapp.domain.workflow import Event, Refusal, replay

KINDS = ["natural_person"] * 14 + ["commercial", "commercial", "research", "public_interest", "legal_service",
                                   "other_org"]
OUTCOME_WEIGHTS = {
    Outcome.DISCLOSED: 40, Outcome.PARTIAL: 12, Outcome.UNAVAILABLE_NOT_HELD: 18,
    Outcome.WITHHELD_PROCESS_INFO: 4, Outcome.WITHHELD_THIRD_PARTY: 3, Outcome.WITHHELD_STATE_SECRET: 1,
    Outcome.UNAVAILABLE_NEEDS_CREATION: 6, Outcome.NOT_PROCESSED_PETITION: 5, Outcome.NOT_PROCESSED_DUPLICATE: 3,
    Outcome.NOT_PROCESSED_PUBLICATION: 1, Outcome.OTHER_OTHER: 1,
}


def _events(rng: random.Random, cal: WorkCalendar, received: date, until: date) -> list[dict[str, Any]]:
    evs: list[dict[str, Any]] = [{"type": "received", "on": received.isoformat(),
                                  "channel": rng.choice(["online", "online", "in_person", "post", "fax", "other"])}]
    d = received

    def at(n: int) -> date | None:
        nonlocal d
        nd = cal.add_workdays(d, n) if n else d
        if nd > until:
            return None
        d = nd
        return nd

    r = rng.random()
    if r < 0.1:
        on = at(rng.randint(1, 6))
        if on is None:
            return evs
        evs.append({"type": "correction_requested", "on": on.isoformat()})
        if rng.random() < 0.2:
            on = at(17)
            if on is not None:
                evs.append({"type": "correction_lapsed", "on": on.isoformat()})
            return evs
        on = at(rng.randint(1, 10))
        if on is None:
            return evs
        evs.append({"type": "correction_received", "on": on.isoformat()})
    elif r < 0.18:
        on = at(rng.randint(2, 8))
        if on is None:
            return evs
        evs.append({"type": "consultation_started", "on": on.isoformat(),
                    "party": rng.choice(["third_party", "agency"])})
        on = at(rng.randint(3, 15))
        if on is None:
            return evs
        evs.append({"type": "consultation_ended", "on": on.isoformat()})
    elif r < 0.21:
        on = at(rng.randint(2, 6))
        if on is None:
            return evs
        evs.append({"type": "fee_notice", "on": on.isoformat(), "amount_yuan": rng.choice([100, 200, 700, 1700])})
        if rng.random() < 0.3:
            on = at(21)
            if on is not None:
                evs.append({"type": "fee_lapsed", "on": on.isoformat()})
            return evs
        on = at(rng.randint(1, 10))
        if on is None:
            return evs
        evs.append({"type": "fee_paid", "on": on.isoformat()})
    if rng.random() < 0.05:
        on = at(rng.randint(10, 16))
        if on is None:
            return evs
        evs.append({"type": "extended", "on": on.isoformat(), "days": 20})
    if rng.random() < 0.02:
        on = at(rng.randint(1, 5))
        if on is not None:
            evs.append({"type": "withdrawn", "on": on.isoformat()})
        return evs
    on = at(rng.randint(0, 22))
    if on is not None:
        outcome = rng.choices(list(OUTCOME_WEIGHTS), weights=list(OUTCOME_WEIGHTS.values()))[0]
        evs.append({"type": "answered", "on": on.isoformat(), "outcome": outcome.value})
    return evs


def generate(n: int, year: int, seed: int = 1, agency: str = "GEN", name: str = "生成测试机关",
             until: date | None = None, appeals: bool = True) -> dict[str, Any]:
    rng = random.Random(seed)
    cal = WorkCalendar.default()
    pol = Policies()
    until = until or date(year + 1, 2, 28)
    cases = []
    start = date(year, 1, 1)
    for i in range(n):
        received = start + timedelta(days=int(365 * i / n))
        kind = rng.choice(KINDS)
        applicant: dict[str, Any] = {"kind": kind, "name": f"申请人{i:05d}" if kind == "natural_person"
                                     else f"机构{i:05d}", "phone": f"1380000{i % 10000:04d}"}
        items = [{"text": f"第{i}号申请的信息{j + 1}：<b>某项目</b>批复文件'; DROP TABLE x;--"}
                 for j in range(rng.choice([1, 1, 1, 2, 3]))]
        while True:   # valid by construction: draw again until the domain accepts the history
            evs = _events(rng, cal, received, until)
            try:
                replay([Event.from_dict(e) for e in evs], cal, pol)
                break
            except Refusal:
                continue
        cases.append({"ref": f"{year}-{i + 1:05d}", "applicant": applicant, "items": items, "events": evs})
    doc_appeals = []
    if appeals:
        answered = [c for c in cases if c["events"][-1]["type"] == "answered"]
        for c in rng.sample(answered, min(len(answered), max(1, n // 100))):
            filed = cal.add_workdays(date.fromisoformat(c["events"][-1]["on"]), rng.randint(5, 40))
            ap: dict[str, Any] = {"case_ref": c["ref"], "kind": rng.choice(
                ["review", "review", "litigation_direct", "litigation_after_review"]), "filed_on": filed.isoformat()}
            if rng.random() < 0.6:
                ap["result"] = rng.choice(["upheld", "upheld", "corrected", "other"])
                ap["decided_on"] = cal.add_workdays(filed, rng.randint(20, 60)).isoformat()
            doc_appeals.append(ap)
    return {"format": "disclosure-case-history/1", "agency": {"code": agency, "name": name},
            "cases": cases, "appeals": doc_appeals,
            "proactive": {str(year): {"rules": {"issued": 0, "repealed": 0, "in_force": 0},
                                      "normative_documents": {"issued": 2, "repealed": 1, "in_force": 9},
                                      "licensing_decisions": 120, "penalty_decisions": 4, "coercion_decisions": 0,
                                      "fees_10k_yuan": "0.35"}}}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=500)
    p.add_argument("--year", type=int, default=2024)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--agency", default="GEN")
    a = p.parse_args()
    print(json.dumps(generate(a.cases, a.year, a.seed, a.agency), ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main()
