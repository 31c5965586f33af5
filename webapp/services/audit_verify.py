"""The tamper-evident case history: checking the hash chains, and corrections as new events.

Each CaseEvent carries ``hash = sha256(prev_hash | canonical content)`` and the ``prev_hash`` of the
event before it in the same case (services/cases.py event_hash). ``verify_chains`` recomputes every
chain in ``seq`` order and reports the first broken link per case; ``flask audit verify`` prints
them and exits non-zero.

A mistake in the history is never edited away: ``correct_event`` appends a ``correction_note``
record-keeping event that references the event it corrects (CaseEvent.corrects_event_id). The
clock is not rewritten by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Agency, Case, CaseEvent, User
from webapp.timeutil import today_shanghai

from .audit import log_event
from .cases import _append_event, event_hash
from .errors import ServiceError

REASON_LIMIT = 2000


@dataclass(frozen=True)
class BrokenLink:
    case_id: int
    case_number: str
    seq: int
    problem: str          # hash | prev_hash | seq

    def describe(self) -> str:
        what = {
            "hash": "its content no longer matches its hash (the row was changed)",
            "prev_hash": "it does not link to the event before it (an event was changed, removed or inserted)",
            "seq": "the sequence has a gap or a repeat (an event was removed or inserted)",
        }[self.problem]
        return f"case {self.case_number}, event seq {self.seq}: {what}"


@dataclass(frozen=True)
class VerifyResult:
    cases: int
    events: int
    broken: list[BrokenLink]

    @property
    def ok(self) -> bool:
        return not self.broken


def _events_in_order(case_ids: list[int] | None, batch: int = 5000) -> Iterator[CaseEvent]:
    q = select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)
    if case_ids is not None:
        q = q.where(CaseEvent.case_id.in_(case_ids))
    yield from db.session.scalars(q.execution_options(yield_per=batch))


def verify_chains(agency: Agency | None = None) -> VerifyResult:
    """Recompute every case's chain (or one agency's); the first broken link of each case."""
    q = select(Case.id, Case.number)
    if agency is not None:
        q = q.where(Case.agency_id == agency.id)
    numbers: dict[int, str] = {row[0]: row[1] for row in db.session.execute(q)}
    broken: list[BrokenLink] = []
    done: set[int] = set()
    n_events = 0
    current: int | None = None
    prev_hash = ""
    expected_seq = 1
    for ev in _events_in_order(list(numbers) if agency is not None else None):
        n_events += 1
        if ev.case_id != current:
            current, prev_hash, expected_seq = ev.case_id, "", 1
        if ev.case_id in done:
            continue
        problem = None
        if ev.seq != expected_seq:
            problem = "seq"
        elif ev.prev_hash != prev_hash:
            problem = "prev_hash"
        elif ev.hash != event_hash(ev.prev_hash, ev):
            problem = "hash"
        if problem:
            broken.append(BrokenLink(ev.case_id, numbers.get(ev.case_id, f"#{ev.case_id}"), ev.seq, problem))
            done.add(ev.case_id)
        prev_hash, expected_seq = ev.hash, ev.seq + 1
    broken.sort(key=lambda b: (b.case_number, b.seq))
    return VerifyResult(cases=len(numbers), events=n_events, broken=broken)


def correct_event(case: Case, event: CaseEvent, reason: str, actor: User | None,
                  on: date | None = None) -> CaseEvent:
    """Record that ``event`` was a mistake and why, as a new event that references it."""
    if event.case_id != case.id:
        raise ServiceError("the event belongs to another case", "该事件不属于本案件", rule="correction.case")
    if event.id is None:
        raise ServiceError("only a recorded event can be corrected", "只能更正已记录的事件", rule="correction.event")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ServiceError("a correction needs its reason", "请填写更正说明", rule="correction.reason")
    if len(reason) > REASON_LIMIT:
        raise ServiceError(f"the reason is longer than {REASON_LIMIT} characters",
                           f"更正说明不超过{REASON_LIMIT}字", rule="correction.reason")
    on = on or today_shanghai()
    if on < event.on:
        raise ServiceError("a correction cannot be dated before the event it corrects",
                           "更正日期不能早于被更正的事件", rule="correction.date")
    state = (case.status, case.due_on)
    ev = _append_event(case, "correction_note", on,
                       {"reason": reason, "corrects_seq": event.seq, "corrects_type": event.type},
                       actor, state, state, corrects=event)
    log_event("case.event_corrected", user=actor, target_type="case", target_id=case.id,
              detail={"number": case.number, "corrects_seq": event.seq})
    db.session.flush()
    return ev
