"""The tamper-evident chain of a case's events: each event's hash over the previous one, and the keyed head."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from webapp.models import Case, CaseEvent
from webapp.trust.audit_key import mac

# --- the tamper-evident chain ------------------------------------------------------------------

def event_content(ev: CaseEvent) -> dict[str, Any]:
    return {"case_id": ev.case_id, "seq": ev.seq, "type": ev.type, "on": ev.on.isoformat(),
            "payload": ev.payload or {}, "actor_id": ev.actor_id, "actor_name": ev.actor_name or "",
            "status_before": ev.status_before, "status_after": ev.status_after,
            "due_before": ev.due_before.isoformat() if ev.due_before else None,
            "due_after": ev.due_after.isoformat() if ev.due_after else None,
            "corrects_event_id": ev.corrects_event_id}


def _event_message(prev_hash: str, ev: CaseEvent) -> str:
    return prev_hash + "|" + json.dumps(event_content(ev), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(prev_hash: str, ev: CaseEvent, key: bytes | None = None) -> str:
    """HMAC-SHA256 under the installation's audit key (trust/audit_key.py): a database writer
    without the key cannot recompute it."""
    return mac(_event_message(prev_hash, ev), key)


def legacy_event_hash(prev_hash: str, ev: CaseEvent) -> str:
    """The unkeyed formula of installations before the audit key (``flask audit rekey`` reads it)."""
    return hashlib.sha256(_event_message(prev_hash, ev).encode("utf-8")).hexdigest()


def head_mac(case_id: int, count: int, last_hash: str, key: bytes | None = None) -> str:
    """The case's head record: how many events it has and the last one's hash, keyed, so that
    removing the newest events (and fixing the case row) shows."""
    return mac(f"head|{case_id}|{count}|{last_hash}", key)


def set_head(case: Case, ev: CaseEvent) -> None:
    case.event_count = ev.seq
    case.head_mac = head_mac(case.id, ev.seq, ev.hash)
