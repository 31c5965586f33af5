"""``flask audit verify``: the case history is intact AND the case rows say what it says.

Three checks per case, streamed in batches of cases (one query for the cases, one for their events,
one for their items per batch), so a large database is read once without loading it whole:

1. the chain: each CaseEvent carries ``hash = HMAC(audit key, prev_hash | canonical content)`` and
   the ``prev_hash`` of the event before it (cases/services/ event_hash). The key is not in the
   database (trust/audit_key.py), so a rewritten event whose hash was recomputed no longer
   verifies. A chain still under the old unkeyed formula is named as such (``flask audit rekey``).
2. the head: the case row holds its number of events and a keyed MAC of (case, count, last hash)
   (Case.event_count, Case.head_mac), so deleting the newest events shows.
3. the replay: the case's workflow events are replayed through the domain rules (the same replay
   and _derive that record_event uses) and every derived column of the case (status, outcome, due
   dates, ...) and each requested item's outcome is compared with what is stored. These columns
   are what the annual report counts, so a value changed in place is named (case and field).

What it cannot prove is in docs/audit.md. A mistake in the history is never edited away:
``correct_event`` appends a ``correction_note`` event that references the event it corrects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from webapp.cases.services import WORKFLOW_TYPES, event_hash, head_mac, legacy_event_hash
from webapp.cases.services.calendar import current_calendar
from webapp.cases.services.clock import _derive
from webapp.cases.services.events import _append_event
from webapp.domain.labels import DEADLINE_COLUMN_LABELS_ZH
from webapp.domain.workflow import Event, Refusal, replay
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Applicant, ApplicantName, Case, CaseEvent, CaseItem, User
from webapp.timeutil import today_shanghai

from .audit import log_event
from .audit_key import audit_key

REASON_LIMIT = 2000
BATCH = 500

#: The case columns record_event derives from the events (cases/services/clock.py _derive), with their names.
DERIVED_FIELDS: dict[str, str] = {
    "status": "状态", "received_on": "收到申请日", "clock_start": "起算日",
    "due_provisional": "期限含暂定假日", "paused_since": "中止起始日", "extended": "已延期",
    **{k: DEADLINE_COLUMN_LABELS_ZH[k] for k in ("due_on", "correction_notice_due_on", "correction_reply_by",
                                                  "consultation_due_on", "fee_due_on")},
    "fee_amount": "信息处理费",
    "fee_paid_on": "缴费日", "closed_on": "办结日", "outcome": "办理结果", "late": "逾期",
    "days_to_answer": "答复用时", "paused_days": "中止天数", "calendar_version": "日历版本",
}
#: Columns that depend on the working-day calendar: for a case derived under an earlier calendar (a
#: closed case keeps the reading it was closed with) a difference here is a note, not a finding.
CALENDAR_FIELDS = frozenset({"clock_start", "due_on", "due_provisional", "correction_notice_due_on",
                             "consultation_due_on", "fee_due_on", "late", "days_to_answer", "paused_days",
                             "calendar_version"})


@dataclass(frozen=True)
class BrokenLink:
    case_id: int
    case_number: str
    seq: int
    problem: str          # hash | prev_hash | seq | legacy | no_history | head | replay | derived | item | copy
    field: str = ""
    stored: Any = None
    expected: Any = None

    def describe(self) -> str:
        where = f"case {self.case_number}"
        if self.problem in ("derived", "item"):
            label = (DERIVED_FIELDS.get(self.field, self.field) if self.problem == "derived"
                     else f"第{self.field}项申请内容的办理结果")
            name = self.field if self.problem == "derived" else f"item {self.field} outcome"
            return (f"{where}, field {name}: stored {_show(self.stored)}, the events give {_show(self.expected)}"
                    f" / 案件 {self.case_number} 的「{label}」与事件记录不符（库中为 {_show(self.stored)}，"
                    f"按事件应为 {_show(self.expected)}）")
        if self.problem == "copy":     # the name search's copy of the applicant's name (``_check_names``)
            if self.field == "applicant_name":
                return (f"{where}, field applicant_name: stored {_show(self.stored)}, its applicant's name is "
                        f"{_show(self.expected)} / 案件 {self.case_number} 的申请人姓名副本（{_show(self.stored)}）"
                        f"与申请人记录（{_show(self.expected)}）不符")
            return (f"{where}: its applicant's name {_show(self.stored)} is not among the names on file "
                    f"(applicant_name) / 案件 {self.case_number} 的申请人姓名 {_show(self.stored)} 不在姓名检索表中")
        if self.problem == "replay":
            return (f"{where}: its events no longer replay through the rules ({self.field}) "
                    f"/ 案件 {self.case_number} 的事件记录无法按规则重演")
        if self.problem == "no_history":
            return f"{where}: it has no events / 案件 {self.case_number} 没有任何事件记录"
        if self.problem == "head":
            return (f"{where}, event seq {self.seq}: the case's history head does not match its events "
                    f"(events were removed or added) / 案件 {self.case_number} 的事件数量或最后一条事件与记录不符"
                    f"（事件被删除或增加）")
        what = {
            "hash": ("its content no longer matches its hash (the row was changed)",
                     "事件内容与其哈希不符（记录被改动）"),
            "prev_hash": ("it does not link to the event before it (an event was changed, removed or inserted)",
                          "与前一事件的链接断开（事件被改动、删除或插入）"),
            "seq": ("the sequence has a gap or a repeat (an event was removed or inserted)",
                    "事件序号有缺口或重复（事件被删除或插入）"),
            "legacy": ("the chain is under the old unkeyed formula: run `flask audit rekey` once",
                       "事件链仍为旧的无密钥格式，请运行一次 flask audit rekey"),
        }[self.problem]
        return f"{where}, event seq {self.seq}: {what[0]} / 案件 {self.case_number} 第{self.seq}条事件：{what[1]}"


def _show(v: Any) -> str:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Enum):      # an enum column's value as stored: 'closed', not <Status.CLOSED: ...>
        v = v.value
    return repr(v)


@dataclass
class VerifyResult:
    cases: int
    events: int
    broken: list[BrokenLink]
    not_rechecked: int = 0      # cases derived under an earlier calendar (calendar columns: notes only)
    notes: list[BrokenLink] = field(default_factory=list)   # their calendar columns that differ today
    legacy: int = 0             # cases whose chain is still unkeyed
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.broken


# --- the three checks -------------------------------------------------------------------------------

def check_chain(case_id: int, events: list[Any], key: bytes) -> tuple[str, int] | None:
    """The first broken link of one case's events (in seq order): (problem, seq), or None."""
    prev_hash, expected_seq = "", 1
    for ev in events:
        if ev.seq != expected_seq:
            return "seq", ev.seq
        if ev.prev_hash != prev_hash:
            return "prev_hash", ev.seq
        if ev.hash != event_hash(ev.prev_hash, ev, key):
            return ("legacy" if legacy_chain_ok(events, key) else "hash"), ev.seq
        prev_hash, expected_seq = ev.hash, ev.seq + 1
    return None


def legacy_chain_ok(events: list[Any], key: bytes) -> bool:
    """An intact chain of an installation made before the key: unkeyed hashes, possibly followed by
    events appended under the key after the upgrade (before ``flask audit rekey`` ran)."""
    prev_hash, keyed = "", False
    for i, ev in enumerate(events, 1):
        if ev.seq != i or ev.prev_hash != prev_hash:
            return False
        if not keyed and ev.hash == legacy_event_hash(ev.prev_hash, ev):
            pass
        elif ev.hash == event_hash(ev.prev_hash, ev, key):
            keyed = True
        else:
            return False
        prev_hash = ev.hash
    return bool(events)


def expected_columns(agency: Agency, events: list[Any], cal) -> dict[str, Any]:
    """The derived columns the domain gives for these events (record_event's reading)."""
    wf = [Event.from_dict({"type": e.type, "on": e.on.isoformat(), **(e.payload or {})})
          for e in events if e.type in WORKFLOW_TYPES]
    clock = replay(wf, cal, agency.policy(), recorded=True)
    scratch = SimpleNamespace(agency=agency)
    _derive(scratch, clock, cal)
    return {name: getattr(scratch, name) for name in DERIVED_FIELDS}


def expected_item_outcomes(events: list[Any], n_items: int) -> list[str | None]:
    """Each requested item's outcome as the last ``answered`` event set it (record_event)."""
    answered = [e for e in events if e.type == "answered"]
    if not answered:
        return [None] * n_items
    payload = answered[-1].payload or {}
    if payload.get("item_outcomes") is not None:
        outs = list(payload["item_outcomes"])
        return outs + [None] * (n_items - len(outs))
    return [payload.get("outcome")] * n_items


def _batches(agency: Agency | None) -> Iterator[list[Any]]:
    last = 0
    while True:
        q = select(Case.__table__).where(Case.id > last).order_by(Case.id).limit(BATCH)
        if agency is not None:
            q = q.where(Case.agency_id == agency.id)
        rows = list(db.session.execute(q))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def verify_chains(agency: Agency | None = None) -> VerifyResult:
    """Every case's chain, head and derived columns (or one agency's): what does not match."""
    key = audit_key()
    cal = current_calendar()
    agencies = {a.id: a for a in db.session.scalars(select(Agency))}
    result = VerifyResult(cases=0, events=0, broken=[])
    for cases in _batches(agency):
        ids = [c.id for c in cases]
        events: dict[int, list[Any]] = {i: [] for i in ids}
        for ev in db.session.execute(select(CaseEvent.__table__).where(CaseEvent.case_id.in_(ids))
                                     .order_by(CaseEvent.case_id, CaseEvent.seq)):
            events[ev.case_id].append(ev)
        items: dict[int, list[Any]] = {i: [] for i in ids}
        for it in db.session.execute(select(CaseItem.__table__).where(CaseItem.case_id.in_(ids))
                                     .order_by(CaseItem.case_id, CaseItem.position, CaseItem.id)):
            items[it.case_id].append(it)
        for case in cases:
            result.cases += 1
            result.events += len(events[case.id])
            result.broken += _check_case(case, events[case.id], items[case.id], agencies[case.agency_id],
                                         cal, key, result)
        result.broken += _check_names(cases)
    for b in result.broken:
        result.problems[b.problem] = result.problems.get(b.problem, 0) + 1
    result.broken.sort(key=lambda b: (b.case_number, 0 if b.seq else 1, b.seq, b.problem == "item", b.field))
    result.notes.sort(key=lambda b: (b.case_number, b.field))
    return result


def _check_names(cases: list[Any]) -> list[BrokenLink]:
    """The name search's copies (models/applicant_name.py): each case's applicant_name is its
    applicant's name, and that name is among the names on file."""
    ids = sorted({c.applicant_id for c in cases})
    names = dict(db.session.execute(select(Applicant.id, Applicant.name).where(Applicant.id.in_(ids))).all())
    copied = sorted({c.applicant_name for c in cases if c.applicant_name})
    on_file = set(db.session.scalars(select(ApplicantName.name).where(ApplicantName.name.in_(copied))))
    out = []
    for c in cases:
        want = names.get(c.applicant_id, "")
        if c.applicant_name != want:
            out.append(BrokenLink(c.id, c.number, 0, "copy", "applicant_name", c.applicant_name, want))
        elif want and want not in on_file:
            out.append(BrokenLink(c.id, c.number, 0, "copy", "applicant_name_on_file", want, want))
    return out


def _check_case(case: Any, events: list[Any], items: list[Any], agency: Agency, cal, key: bytes,
                result: VerifyResult) -> list[BrokenLink]:
    def link(problem: str, seq: int = 0, **kw: Any) -> BrokenLink:
        return BrokenLink(case.id, case.number, seq, problem, **kw)

    if not events:
        return [link("no_history")]
    out = []
    chain = check_chain(case.id, events, key)
    if chain is not None:
        out.append(link(chain[0], chain[1]))
        if chain[0] == "legacy":
            result.legacy += 1
    elif case.event_count != len(events) or case.head_mac != head_mac(case.id, len(events), events[-1].hash, key):
        seq = min(case.event_count, len(events)) + 1 if case.event_count != len(events) else len(events)
        out.append(link("head", seq))
    try:
        expected = expected_columns(agency, events, cal)
    except (Refusal, ValueError, KeyError, TypeError) as e:
        why = e.message if isinstance(e, Refusal) else str(e)
        return [*out, link("replay", field=why[:200])]
    recheck_calendar = case.calendar_version == expected["calendar_version"]
    if not recheck_calendar:
        result.not_rechecked += 1
    for name in DERIVED_FIELDS:
        if name == "calendar_version" and not recheck_calendar:
            continue
        if getattr(case, name) != expected[name]:
            finding = link("derived", field=name, stored=getattr(case, name), expected=expected[name])
            if name in CALENDAR_FIELDS and not recheck_calendar:
                result.notes.append(finding)     # the calendar changed since: not proof of tampering
            else:
                out.append(finding)
    for pos, (item, want) in enumerate(zip(items, expected_item_outcomes(events, len(items)), strict=True), 1):
        if item.outcome != want:
            out.append(link("item", field=str(pos), stored=item.outcome, expected=want))
    return out


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
