"""The import of new cases in bulk (interchange.md, issue 15): each new case of a document is checked
and computed in memory by the same rules as services/cases -- clean_items and clean_applicant, the
domain's transition table (``apply``, the stored history replayed as ``record_event`` replays it),
the derived columns (``_derive``), the tracking number (``next_number``'s rule), the hash chain and
the head MAC -- and then written with a few statements per table: ids drawn from the sequences in one
statement (PostgreSQL; SQLite takes the write lock and counts on from the largest id), rows by COPY
(PostgreSQL) or one executemany (SQLite).

The rows are the ones ``register_case``/``record_event``/``add_note`` write for the same case, column
for column (tests/interchange/test_bulk.py compares them), timestamps aside. A refusal is raised
(as ``CaseRefused``) at the same case and event, with the same error, as the per-case path.
A case that already exists, or carries a non-statutory event recorded through a feature's own
service (``NoteType.handler``), goes through the per-case path (services/interchange.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select, text

from webapp.domain.outcomes import Outcome, OutcomeError, application_outcome
from webapp.domain.workflow import Event, EventType, Refusal, apply
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, CaseEvent, CaseItem
from webapp.models._types import utcnow

from .applicants import clean_applicant
from .audit_key import audit_key
from .cases.chain import event_hash, head_mac
from .cases.clock import _derive, refusal_error
from .cases.registration import clean_items
from .errors import ServiceError

ACTOR = "导入"     # the actor name of imported events, as the per-case path records it
CASE_COLUMNS = [c.name for c in Case.__table__.columns]


class CaseRefused(Exception):
    """A new case refused: ``error`` as the per-case path raises it, ``index`` the document's event
    index it names (None: the case)."""

    def __init__(self, error: ServiceError, index: int | None):
        super().__init__(error.message)
        self.error, self.index = error, index


class Batch:
    """New cases of one agency, planned in memory and written together by ``write``."""

    def __init__(self, agency: Agency, today: date, cal):
        self.agency, self.today, self.cal = agency, today, cal
        self.policies = agency.policy()
        self.plans: list[dict[str, Any]] = []
        self._numbers: dict[str, str | None] = {}      # number prefix -> the largest number so far

    # --- planning (no database writes) ---------------------------------------------------------

    def _number(self, year: int) -> str:
        """services/cases/registration.next_number over what is recorded and what is planned."""
        prefix = f"{self.agency.code}-{year}-"
        if prefix not in self._numbers:
            with db.session.no_autoflush:
                self._numbers[prefix] = db.session.scalar(
                    select(func.max(Case.number)).where(Case.agency_id == self.agency.id,
                                                        Case.number.like(prefix + "%")))
        last = self._numbers[prefix]
        n = 1
        if last:
            tail = last.removeprefix(prefix)
            n = int(tail) + 1 if tail.isdigit() else 1
        number = f"{prefix}{n:04d}"
        if last is None or number > last:
            self._numbers[prefix] = number
        return number

    def forget_numbers(self) -> None:
        """After a case written by the per-case path: read the largest numbers again."""
        self._numbers.clear()

    def plan(self, ref: str, applicant: dict[str, Any], items: Any, events: list[Event], stat_index: list[int],
             notes: list[tuple], item_outcomes: list[Any] | None) -> dict[str, Any]:
        """One new case as register_case + record_event/record_note would record it; raises CaseRefused."""
        received = events[0]
        try:   # register_case: the items, the channel, the applicant as filed
            texts = clean_items(items if isinstance(items, list) else [])
            filed = clean_applicant(applicant)
        except ServiceError as e:
            raise CaseRefused(e, 0 if e.rule.startswith(("received", "date", "event")) else None) from None
        case = SimpleNamespace(ref=ref, agency=self.agency, items=[None] * len(texts))
        item_out: list[str | None] = [None] * len(texts)
        evs: list[dict[str, Any]] = []
        state: tuple[str | None, date | None] = (None, None)
        clock = None
        last_stored: Event | None = None
        cal, pol = self.cal, self.policies
        first = Event(type=EventType.RECEIVED, on=received.on, channel=received.channel)
        todo = [(0, first, None)]
        todo += [(stat_index[k], events[k], None) for k in range(1, len(events))]
        todo += [(n[0], None, n) for n in notes]
        todo.sort(key=lambda t: t[0])
        for i, ev, note in todo:
            if note is not None:      # add_note: the state as it stands, before = after
                nt, on, fields = note[1], note[2], note[3]
                payload = {f.key: fields[f.name] for f in nt.fields if f.name in fields and f.key != "@actor"}
                evs.append({"type": nt.history_type, "on": on, "payload": payload,
                            "actor_name": fields.get("by", "") or "", "before": state, "after": state})
                continue
            try:
                evs.append(self._event(case, ev, i, item_outcomes, item_out, clock, last_stored))
            except ServiceError as e:
                raise CaseRefused(e, 0 if i == 0 and e.rule.startswith(("received", "date", "event")) else
                                  (None if i == 0 else i)) from None
            rec = evs[-1]
            clock, last_stored = rec.pop("clock"), rec.pop("stored")
            state = rec["after"]
            derived = rec.pop("derived")
        row: dict[str, Any] = {"agency_id": self.agency.id, "ref": ref, "number": self._number(received.on.year),
                               "applicant_kind": filed["kind"], "channel": received.channel.value,
                               "arrived_on": received.on, "form_wanted": "", "route_wanted": "",
                               "notify_via": "email", "assigned_to_id": None, "query_code_hash": None,
                               "note": "", "version": 1 + len(evs), "event_count": len(evs)}
        row.update(derived)
        return {"case": row, "applicant": filed, "items": list(zip(texts, item_out, strict=True)), "events": evs}

    def _event(self, case, event: Event, i: int, item_outcomes, item_out: list, clock, last_stored) -> dict:
        """record_event for one workflow event, in memory."""
        cal, pol = self.cal, self.policies
        outs = item_outcomes if event.type is EventType.ANSWERED and item_outcomes else None
        main = event.outcome.value if outs and event.outcome else None
        if outs is not None:
            if len(outs) != len(case.items):
                raise ServiceError("give an outcome for every requested item", "请为每一项申请内容选择办理结果",
                                   rule="answered.items")
            try:
                overall = application_outcome(outs, main or None)
            except OutcomeError as e:
                raise ServiceError(str(e), "各项办理结果不同且均未提供信息时，须选择主要理由",
                                   rule="answered.outcome") from None
            event = replace(event, outcome=overall)
        try:   # the stored history replayed (recorded=True), then the new event judged today
            before = apply(clock, last_stored, cal, pol, None, True) if last_stored is not None else _new_clock()
            after = apply(before, event, cal, pol, self.today)
        except Refusal as r:
            raise refusal_error(r, case) from None
        payload = {k: v for k, v in event.to_dict().items() if k not in ("type", "on")}
        if event.type is EventType.CORRECTION_REQUESTED and "reply_by" not in payload:
            payload["reply_by"] = after.correction_reply_by.isoformat()
        if outs is not None:
            payload["item_outcomes"] = list(outs)
            for k, out in enumerate(outs):
                item_out[k] = Outcome(out).value
        elif event.type is EventType.ANSWERED:
            item_out[:] = [event.outcome.value] * len(item_out)
        derived = SimpleNamespace(agency=self.agency)
        _derive(derived, after, cal)
        del derived.agency
        stored = Event.from_dict({"type": event.type.value, "on": event.on.isoformat(), **payload})
        return {"type": event.type.value, "on": event.on, "payload": payload, "actor_name": ACTOR,
                "before": (before.status.value if before.status else None, before.due_on(cal)),
                "after": (after.status.value if after.status else None, after.due_on(cal)),
                "clock": before, "stored": stored, "derived": vars(derived)}

    # --- writing --------------------------------------------------------------------------------

    def write(self) -> None:
        """Write the planned cases (ids, hash chain, head MAC) and forget them."""
        plans, self.plans = self.plans, []
        if not plans:
            return
        db.session.flush()
        conn = db.session.connection()
        pg = conn.dialect.name == "postgresql"
        if not pg:     # SQLite: hold the write lock before counting on from the largest ids
            conn.execute(text("UPDATE agency SET id = id WHERE id = :id"), {"id": self.agency.id})
        n_items = sum(len(p["items"]) for p in plans)
        n_events = sum(len(p["events"]) for p in plans)
        app_ids = _ids(conn, pg, "applicant", len(plans))
        case_ids = _ids(conn, pg, "case", len(plans))
        item_ids = iter(_ids(conn, pg, "case_item", n_items))
        event_ids = iter(_ids(conn, pg, "case_event", n_events))
        key = audit_key()
        now = utcnow()
        applicants, cases, items, events = [], [], [], []
        for p, app_id, case_id in zip(plans, app_ids, case_ids, strict=True):
            applicants.append({"id": app_id, "agency_id": self.agency.id, **p["applicant"], "created_at": now})
            for pos, (t, out) in enumerate(p["items"]):
                items.append({"id": next(item_ids), "case_id": case_id, "position": pos, "text": t, "outcome": out})
            prev = ""
            for seq, e in enumerate(p["events"], start=1):
                ev = SimpleNamespace(case_id=case_id, seq=seq, type=e["type"], on=e["on"], payload=dict(e["payload"]),
                                     actor_id=None, actor_name=e["actor_name"], status_before=e["before"][0],
                                     due_before=e["before"][1], status_after=e["after"][0], due_after=e["after"][1],
                                     corrects_event_id=None)
                h = event_hash(prev, ev, key)
                events.append({"id": next(event_ids), **vars(ev), "recorded_at": now, "prev_hash": prev, "hash": h})
                prev = h
            cases.append({"id": case_id, **p["case"], "applicant_id": app_id, "created_at": now,
                          "head_mac": head_mac(case_id, len(p["events"]), prev, key)})
        for model, rows in ((Applicant, applicants), (Case, cases), (CaseItem, items), (CaseEvent, events)):
            _insert(conn, pg, model.__table__, rows)


def _new_clock():
    from webapp.domain.clock import CaseClock

    return CaseClock()


def _ids(conn, pg: bool, table: str, n: int) -> list[int]:
    """``n`` new ids of ``table``, in increasing order."""
    if n == 0:
        return []
    if pg:
        rows = conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id')) "
                                 "FROM generate_series(1, :n)"), {"n": n}).scalars().all()
        return sorted(rows)
    start = (conn.execute(text(f'SELECT max(id) FROM "{table}"')).scalar() or 0) + 1
    return list(range(start, start + n))


def _insert(conn, pg: bool, table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if not pg:
        conn.execute(insert(table), rows)
        return
    cols = [c.name for c in table.columns]
    json_cols = {c.name for c in table.columns if c.name == "payload"}
    raw = conn.connection.driver_connection
    names = ", ".join(f'"{c}"' for c in cols)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for r in rows:
            copy.write_row([json.dumps(r[c], ensure_ascii=False) if c in json_cols else r.get(c, _default(table, c))
                            for c in cols])


def _default(table, column: str) -> Any:
    col = table.columns[column]
    d = col.default
    if d is not None and d.is_scalar:
        return d.arg
    return None


__all__ = ["Batch", "CaseRefused"]
