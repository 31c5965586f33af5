"""``flask audit rekey``: put an existing installation's case history under its audit key, once.

Installations made before the audit key hold chains hashed with plain SHA-256 and cases without a
head record. ``rekey_chains`` checks each case's chain under the old formula (or the key, when it is
keyed already, or unkeyed followed by events appended under the key since the upgrade), and only
if EVERY case's chain is intact recomputes the hashes under the key and
writes each case's head (Case.event_count, Case.head_mac); otherwise it changes nothing and names
the broken cases. The event contents are not touched. On PostgreSQL the append-only trigger on
case_event is disabled for this one transaction (the command must run as the tables' owner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update

from webapp.cases.services import event_hash, head_mac
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Case, CaseEvent

from .audit import log_event
from .audit_key import audit_key, key_id
from .audit_verify import check_chain, legacy_chain_ok

BATCH = 500


@dataclass
class RekeySummary:
    cases: int = 0
    events: int = 0
    already_keyed: int = 0


def _case_batches() -> Any:
    last = 0
    while True:
        rows = list(db.session.execute(select(Case.id, Case.number).where(Case.id > last)
                                       .order_by(Case.id).limit(BATCH)))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _events(ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {i: [] for i in ids}
    for ev in db.session.execute(select(CaseEvent.__table__).where(CaseEvent.case_id.in_(ids))
                                 .order_by(CaseEvent.case_id, CaseEvent.seq)):
        out[ev.case_id].append(ev)
    return out


def rekey_chains() -> RekeySummary:
    """Re-chain every case under the installation's key (the caller commits); all or nothing."""
    key = audit_key()
    broken = []
    for cases in _case_batches():          # 1. check everything first
        events = _events([c.id for c in cases])
        for c in cases:
            evs = events[c.id]
            if evs and check_chain(c.id, evs, key) is not None and not legacy_chain_ok(evs, key):
                broken.append(c.number)
    if broken:
        raise ServiceError(f"{len(broken)} case histories are broken (e.g. {broken[0]}): nothing re-keyed",
                           f"有{len(broken)}个案件的事件链已断开（例如 {broken[0]}），未作任何更改",
                           rule="audit.rekey_broken")
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only_rows"))
    summary = RekeySummary()
    table = CaseEvent.__table__
    for cases in _case_batches():          # 2. re-chain
        events = _events([c.id for c in cases])
        for c in cases:
            evs = events[c.id]
            summary.cases += 1
            summary.events += len(evs)
            if evs and check_chain(c.id, evs, key) is None:
                summary.already_keyed += 1
            else:
                prev = ""
                for ev in evs:
                    new = event_hash(prev, ev, key)
                    if (ev.prev_hash, ev.hash) != (prev, new):
                        conn.execute(update(table).where(table.c.id == ev.id).values(prev_hash=prev, hash=new))
                    prev = new
            last = (conn.execute(select(table.c.hash).where(table.c.case_id == c.id)
                                 .order_by(table.c.seq.desc()).limit(1)).scalar() or "")
            conn.execute(update(Case.__table__).where(Case.__table__.c.id == c.id)
                         .values(event_count=len(evs), head_mac=head_mac(c.id, len(evs), last, key)))
    if postgres:
        conn.execute(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only_rows"))
    log_event("audit.rekeyed", target_type="audit", target_id=key_id(key), username="operator",
              detail={"cases": summary.cases, "events": summary.events, "key_id": key_id(key)})
    db.session.flush()
    return summary
