"""The import of new cases in bulk (interchange.md, issue 15): each new case of a document is checked
and computed in memory by the same rules as cases/services -- clean_items and clean_applicant, the
domain's transition table (``apply``, the stored history replayed as ``record_event`` replays it),
the derived columns (``_derive``), the tracking number (``next_number``'s rule), the hash chain and
the head MAC -- and then written with a few statements per table: ids drawn from the sequences in one
statement (PostgreSQL; SQLite takes the write lock and counts on from the largest id), rows by COPY
(PostgreSQL) or one executemany (SQLite).

The rows are the ones ``register_case``/``record_event``/``add_note`` write for the same case, column
for column (tests/interchange/test_bulk.py compares them), timestamps aside. A refusal is raised
(as ``CaseRefused``) at the same case and event, with the same error, as the per-case path.
A case that already exists, or carries a non-statutory event recorded through a feature's own
service (``NoteType.handler``), goes through the per-case path (cases/services/interchange.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, text

from webapp.domain.clock import CaseClock
from webapp.domain.kinds import FormWanted, NotifyVia, RouteWanted
from webapp.domain.numbering import case_number, number_prefix
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType, Refusal, apply
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Appeal, Applicant, Case, CaseEvent, CaseItem
from webapp.models._types import utcnow
from webapp.models.applicant_name import note_names_apart
from webapp.trust.audit_key import audit_key

from .applicants import clean_applicant
from .chain import event_hash, head_mac
from .clock import _derive, refusal_error
from .events import event_payload, with_item_outcomes
from .registration import clean_items, last_serial_recorded

ACTOR = "导入"     # the actor name of imported events, as the per-case path records it


class CaseRefused(Exception):
    """A new case refused: ``error`` as the per-case path raises it, ``index`` the document's event
    index it names (None: the case)."""

    def __init__(self, error: ServiceError, index: int | None):
        super().__init__(error.message)
        self.error, self.index = error, index


class Batch:
    """New cases of one agency, planned in memory and written together by ``write``."""

    def __init__(self, agency: Agency, today: date, cal, names_apart: bool = True):
        self.agency, self.today, self.cal = agency, today, cal
        self.names_apart = names_apart      # False: only checked (see note_names_apart)
        self.policies = agency.policy()
        self.plans: list[dict[str, Any]] = []
        self._numbers: dict[str, int] = {}      # number prefix -> the largest serial so far
        self.created: dict[str, SimpleNamespace] = {}  # ref -> what an appeal needs of a case written here
        self._appeals: dict[tuple, SimpleNamespace] = {}
        self._notes: list[tuple[SimpleNamespace, dict[str, Any]]] = []

    # --- planning (no database writes) ---------------------------------------------------------

    def _number(self, year: int) -> str:
        """cases/services/registration.next_number over what is recorded and what is planned."""
        prefix = number_prefix(self.agency.code, year)
        if prefix not in self._numbers:
            if not self._numbers:   # registrations of the agency take turns (as in register_case), until the end
                db.session.execute(select(Agency.id).where(Agency.id == self.agency.id)
                                   .with_for_update(key_share=True))
            self._numbers[prefix] = last_serial_recorded(self.agency.id, prefix)
        self._numbers[prefix] += 1
        return case_number(prefix, self._numbers[prefix])

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
        cal = self.cal
        first = Event(type=EventType.RECEIVED, on=received.on, channel=received.channel)
        todo = [(0, first, None)]
        todo += [(stat_index[k], events[k], None) for k in range(1, len(events))]
        todo += [(n[0], None, n) for n in notes]
        todo.sort(key=lambda t: t[0])
        after = None      # (the event applied last, the clock after it)
        for i, ev, note in todo:
            if note is not None:      # add_note: the state as it stands, before = after
                nt, on, fields = note[1], note[2], note[3]
                payload = {f.key: fields[f.name] for f in nt.fields if f.name in fields and f.key != "@actor"}
                evs.append({"type": nt.history_type, "on": on, "payload": payload,
                            "actor_name": fields.get("by", "") or "", "before": state, "after": state})
                continue
            try:
                rec, after, stored = self._event(case, ev, item_outcomes, item_out, clock, last_stored, after)
            except ServiceError as e:
                raise CaseRefused(e, 0 if i == 0 and e.rule.startswith(("received", "date", "event")) else
                                  (None if i == 0 else i)) from None
            evs.append(rec)
            clock, last_stored = rec.pop("clock"), stored
            state = rec["after"]
        derived = SimpleNamespace(agency=self.agency)     # what the last record_event derived
        _derive(derived, after[1], cal)
        del derived.agency
        derived = vars(derived)
        row: dict[str, Any] = {"agency_id": self.agency.id, "ref": ref, "number": self._number(received.on.year),
                               "applicant_kind": filed["kind"], "applicant_name": filed["name"],
                               "channel": received.channel.value,
                               "arrived_on": received.on, "form_wanted": FormWanted.NOT_STATED.value,
                               "route_wanted": RouteWanted.NOT_STATED.value, "notify_via": NotifyVia.EMAIL.value,
                               "assigned_to_id": None, "query_code_hash": None, "note": "",
                               "version": 1 + len(evs), "event_count": len(evs)}
        row.update(derived)
        return {"case": row, "applicant": filed, "items": list(zip(texts, item_out, strict=True)), "events": evs}

    def _event(self, case, event: Event, item_outcomes, item_out: list, clock, last_stored, last_after):
        """record_event for one workflow event, in memory: (the event row, the clock after, the event as
        stored, which the next event's replay reads)."""
        cal, pol = self.cal, self.policies
        outs = item_outcomes if event.type is EventType.ANSWERED and item_outcomes else None
        main = event.outcome.value if outs and event.outcome else None
        if outs is not None:
            event = with_item_outcomes(event, outs, len(case.items), main)
        try:   # the stored history replayed (recorded=True), then the new event judged today
            if last_stored is None:
                before = CaseClock()
            elif last_stored == last_after[0]:    # the clock after it is the one apply gave (pure, same event)
                before = last_after[1]
            else:
                before = apply(clock, last_stored, cal, pol, None, True)
            after = apply(before, event, cal, pol, self.today)
        except Refusal as r:
            raise refusal_error(r, case) from None
        payload = event_payload(event, after)
        if outs is not None:
            payload["item_outcomes"] = list(outs)
            for k, out in enumerate(outs):
                item_out[k] = Outcome(out).value
        elif event.type is EventType.ANSWERED:
            item_out[:] = [event.outcome.value] * len(item_out)
        stored = Event.from_dict({"type": event.type.value, "on": event.on.isoformat(), **payload})
        rec = {"type": event.type.value, "on": event.on, "payload": payload, "actor_name": ACTOR,
               "before": (before.status.value if before.status else None, before.due_on(cal)),
               "after": (after.status.value if after.status else None, after.due_on(cal)), "clock": before}
        return rec, (event, after), stored

    # --- writing --------------------------------------------------------------------------------

    def _lock(self):
        db.session.flush()
        conn = db.session.connection()
        pg = conn.dialect.name == "postgresql"
        if not pg:     # SQLite: hold the write lock before counting on from the largest ids
            conn.execute(text("UPDATE agency SET id = id WHERE id = :id"), {"id": self.agency.id})
        return conn, pg

    def write(self) -> None:
        """Write the planned cases (ids, hash chain, head MAC) and forget them; what a later appeal of
        the document needs of each case is kept (``created``)."""
        plans, self.plans = self.plans, []
        if not plans:
            return
        conn, pg = self._lock()
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
                prev = self._event_row(events, next(event_ids), case_id, seq, e, prev, key, now)
            row = p["case"]
            cases.append({"id": case_id, **row, "applicant_id": app_id, "created_at": now,
                          "head_mac": head_mac(case_id, len(p["events"]), prev, key)})
            self.created[row["ref"]] = SimpleNamespace(
                id=case_id, status=row["status"], due_on=row["due_on"], received_on=row["received_on"],
                count=len(p["events"]), last_hash=prev, version=row["version"])
        for model, rows in ((Applicant, applicants), (Case, cases), (CaseItem, items), (CaseEvent, events)):
            _insert(conn, pg, model.__table__, rows)
        # the names on file (models/applicant_name.py): apart, in their own short transaction
        note_names_apart((a["name"] for a in applicants), apart=self.names_apart)

    @staticmethod
    def _event_row(out: list, event_id: int, case_id: int, seq: int, e: dict, prev: str, key: bytes, now) -> str:
        """_append_event's row, hash-chained on ``prev``; returns its hash."""
        ev = SimpleNamespace(case_id=case_id, seq=seq, type=e["type"], on=e["on"], payload=dict(e["payload"]),
                             actor_id=None, actor_name=e["actor_name"], status_before=e["before"][0],
                             due_before=e["before"][1], status_after=e["after"][0], due_after=e["after"][1],
                             corrects_event_id=None)
        h = event_hash(prev, ev, key)
        out.append({"id": event_id, **vars(ev), "recorded_at": now, "prev_hash": prev, "hash": h})
        return h

    # --- appeals of the cases written here (interchange.record_appeal, in memory) ------------------

    def appeal(self, case: SimpleNamespace, kind: str, filed_on: date) -> SimpleNamespace | None:
        return self._appeals.get((case.id, kind, filed_on))

    def record_appeal(self, case: SimpleNamespace, kind: str, filed_on: date, result: str,
                      decided_on: date | None) -> None:
        ap = self._appeals.get((case.id, kind, filed_on))
        if ap is not None and ap.result == result and ap.decided_on == decided_on:
            return
        if ap is None:
            ap = self._appeals[(case.id, kind, filed_on)] = SimpleNamespace(
                case_id=case.id, agency_id=self.agency.id, kind=kind, filed_on=filed_on, note="")
        ap.result, ap.decided_on = result, decided_on
        state = (case.status, case.due_on)      # add_note: the state as it stands
        self._notes.append((case, {"type": "appeal_recorded", "on": decided_on or filed_on,
                                   "payload": {"kind": kind, "filed_on": filed_on.isoformat(), "result": result,
                                               "decided_on": decided_on.isoformat() if decided_on else None},
                                   "actor_name": "", "before": state, "after": state}))

    def write_appeals(self) -> None:
        """Write the appeals recorded in memory, their history events and the cases' heads."""
        if not self._appeals and not self._notes:
            return
        appeals, notes = list(self._appeals.values()), self._notes
        self._appeals, self._notes = {}, []
        conn, pg = self._lock()
        key, now = audit_key(), utcnow()
        rows: list[dict] = []
        for (case, e), event_id in zip(notes, _ids(conn, pg, "case_event", len(notes)), strict=True):
            case.count += 1
            case.version += 1
            case.last_hash = self._event_row(rows, event_id, case.id, case.count, e, case.last_hash, key, now)
        _insert(conn, pg, Appeal.__table__,
                [{"id": i, **vars(a)} for a, i in zip(appeals, _ids(conn, pg, "appeal", len(appeals)), strict=True)])
        _insert(conn, pg, CaseEvent.__table__, rows)
        heads = {c.id: c for c, _e in notes}
        conn.execute(text('UPDATE "case" SET version = :version, event_count = :count, head_mac = :mac WHERE id = :id'),
                     [{"id": c.id, "version": c.version, "count": c.count,
                       "mac": head_mac(c.id, c.count, c.last_hash, key)} for c in heads.values()])


def known_refs(agency: Agency, part: list[Any]) -> set[str]:
    """The refs of ``part`` recorded already for the agency (one statement)."""
    # (a ref with a NUL cannot be stored, nor looked up on PostgreSQL: the case's own check refuses it)
    refs = [c["ref"] for c in part
            if isinstance(c, Mapping) and isinstance(c.get("ref"), str) and "\x00" not in c["ref"]]
    if agency.id is None or not refs:
        return set()
    return set(db.session.scalars(select(Case.ref).where(Case.agency_id == agency.id, Case.ref.in_(refs))))


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
    """The rows (the table's Python-side scalar defaults for columns they leave out): COPY on PostgreSQL."""
    if not rows:
        return
    cols = [c.name for c in table.columns]
    defaults = {c.name: c.default.arg for c in table.columns if c.default is not None and c.default.is_scalar}
    missing = [c for c in cols if c not in rows[0]]
    if missing:
        fill = {c: defaults.get(c) for c in missing}
        rows = [{**fill, **r} for r in rows]
    if not pg:
        conn.execute(insert(table), rows)
        return
    raw = conn.connection.driver_connection
    names = ", ".join(f'"{c}"' for c in cols)
    dumps = json.dumps
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        if "payload" in cols:
            k = cols.index("payload")
            for r in rows:
                v = [r[c] for c in cols]
                v[k] = dumps(v[k], ensure_ascii=False)
                copy.write_row(v)
        else:
            for r in rows:
                copy.write_row([r[c] for c in cols])


__all__ = ["Batch", "CaseRefused", "known_refs"]
