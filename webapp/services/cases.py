"""Every change of a case goes through here (STYLE.md: a state changes in one place).

``record_event`` asks the domain's transition table, writes the event with the state and deadline
before and after, refreshes the case's derived columns, and flushes; a refusal raises ServiceError
carrying the domain's message and changes nothing. Committing is the caller's business (a
request, a CLI command, a task), so several calls can form one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CaseClock, Status
from webapp.domain.outcomes import Outcome, OutcomeError, application_outcome
from webapp.domain.workflow import Channel, Event, EventType, Refusal, apply, replay
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, CaseEvent, CaseItem, User
from webapp.timeutil import today_shanghai

from .applicant_records import applicant_as_filed, check_identity, identity_note, same_person
from .applicants import has_control_chars, mask_id
from .audit import log_event
from .audit_key import mac
from .calendar import current_calendar
from .errors import ConflictError, NotFound, ServiceError
from .signals import case_event_recorded

WORKFLOW_TYPES = frozenset(t.value for t in EventType)
ITEM_TEXT_LIMIT = 2000
MAX_ITEMS = 200


def refusal_error(r: Refusal, case: Case | None = None) -> ServiceError:
    where = f"case {case.ref}: " if case is not None else ""
    return ServiceError(where + r.message, r.message_zh + (f"（依据：{r.article}）" if r.article else ""),
                        rule=r.rule, article=r.article, event_index=r.event_index)


# --- reading a case's clock ------------------------------------------------------------------------

def workflow_events(case: Case) -> list[Event]:
    return [Event.from_dict({"type": e.type, "on": e.on.isoformat(), **(e.payload or {})})
            for e in sorted(case.events, key=lambda e: e.seq) if e.type in WORKFLOW_TYPES]


def case_clock(case: Case, cal: WorkCalendar | None = None, as_of: date | None = None) -> CaseClock:
    cal = cal or current_calendar()
    return replay(workflow_events(case), cal, case.agency.policy(), as_of=as_of, recorded=True)


def _derive(case: Case, clock: CaseClock, cal: WorkCalendar) -> None:
    """Write the domain's reading of the events onto the case's query columns."""
    policies = case.agency.policy()
    case.status = clock.status.value if clock.status else None
    case.received_on = clock.received_on
    case.clock_start = clock.start
    due = clock.due_on(cal)
    case.due_on = due
    case.due_provisional = bool(due and cal.touches_provisional(clock.start, due))
    case.paused_since = clock.pause_start
    case.extended = clock.extended_on is not None
    notice_window = (clock.status == Status.REGISTERED and clock.correction_requested_on is None
                     and clock.extended_on is None and not clock.restarts)
    case.correction_notice_due_on = clock.correction_notice_due(cal) if notice_window else None
    case.correction_reply_by = clock.correction_reply_by if clock.status == Status.AWAITING_CORRECTION else None
    letters = clock.consultation_reply_due(cal) if clock.status == Status.CONSULTING else []
    case.consultation_due_on = max((d for _, _, d in letters), default=None)
    case.fee_due_on = clock.fee_due_on(cal, policies) if clock.status == Status.AWAITING_FEE else None
    case.fee_amount = clock.fee_amount
    case.fee_paid_on = clock.fee_paid_on
    case.closed_on = clock.closed_on
    case.outcome = clock.outcome.value if clock.outcome else None
    case.late = clock.late
    if clock.status == Status.CLOSED and clock.start is not None:
        case.days_to_answer = clock.counted(cal, clock.closed_on)
        case.paused_days = sum(cal.workdays_between(p.start, p.end) for p in clock.pauses)
    else:
        case.days_to_answer = None
        case.paused_days = sum(cal.workdays_between(p.start, p.end) for p in clock.pauses)
    case.calendar_version = cal.version


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
    """HMAC-SHA256 under the installation's audit key (services/audit_key.py): a database writer
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


# --- the archived case (归档): no more changes ----------------------------------------------------

#: history events still recorded on an archived case: the results of an administrative review or a
#: lawsuit (行政复议、诉讼) arrive after the file is closed
AFTER_ARCHIVE_ALLOWED = frozenset({"appeal_recorded"})


def archived_event(case: Case) -> CaseEvent | None:
    """The case's ``archived`` event (webapp/archive), or None: the history says whether it is archived."""
    return next((e for e in case.events if e.type == "archived"), None)


def ensure_changeable(case: Case, type_: str = "") -> None:
    """Refuse any change of an archived case, naming the archive number and date; only
    ``AFTER_ARCHIVE_ALLOWED`` events pass. Every change of a case reaches it through
    ``_append_event`` (record_event, add_note) or store_attachment."""
    if type_ in AFTER_ARCHIVE_ALLOWED or case.id is None:
        return
    ev = archived_event(case)
    if ev is None:
        return
    no = (ev.payload or {}).get("archive_no", "")
    raise ServiceError(f"case {case.number} was archived on {ev.on} ({no}) and changes no more",
                       f"案件{case.number}已于{ev.on.isoformat()}归档（归档号{no}），归档后不能再修改；"
                       "只可登记行政复议、行政诉讼的结果。", rule="case.archived")


def _append_event(case: Case, type_: str, on: date, payload: Mapping[str, Any], actor: User | None,
                  before: tuple[str | None, date | None], after: tuple[str | None, date | None],
                  actor_name: str = "", corrects: CaseEvent | None = None) -> CaseEvent:
    ensure_changeable(case, type_)
    # the case's events are loaded once per case (and start empty for a new case); appends keep seq order
    last = case.events[-1] if case.events else None
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else ""
    ev = CaseEvent(case_id=case.id, seq=seq, type=type_, on=on, payload=dict(payload),
                   actor_id=actor.id if actor else None,
                   actor_name=actor_name or (actor.display_name if actor else ""),
                   status_before=before[0], due_before=before[1], status_after=after[0], due_after=after[1],
                   corrects_event_id=corrects.id if corrects else None, prev_hash=prev_hash)
    ev.hash = event_hash(prev_hash, ev)
    set_head(case, ev)
    db.session.add(ev)
    case.events.append(ev)
    # Every append updates the case row under its version check, so two clerks appending at once
    # (even an event that changes no derived column) meet as a ConflictError, never a lost event.
    if case.id is not None and "status" in sa_inspect(case).dict:
        flag_modified(case, "status")
    return ev


def add_note(case: Case, type_: str, on: date, payload: Mapping[str, Any], actor: User | None = None,
             actor_name: str = "") -> CaseEvent:
    """A record-keeping event that does not move the clock (assigned, notice_sent, routed, ...)."""
    if type_ in WORKFLOW_TYPES:
        raise ValueError("workflow events go through record_event")
    ensure_changeable(case, type_)
    state = (case.status, case.due_on)
    ev = _append_event(case, type_, on, payload, actor, state, state, actor_name=actor_name)
    _flush_or_conflict()
    return ev


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as e:
        if isinstance(e, IntegrityError) and "case_event" not in str(e.orig):
            raise
        db.session.rollback()
        raise ConflictError("the case was changed by someone else; reload it",
                            "该案件已被他人修改，请刷新页面后重试。", rule="case.conflict") from None


# --- registering and working a case ------------------------------------------------------------

def next_number(agency: Agency, year: int) -> str:
    prefix = f"{agency.code}-{year}-"
    with db.session.no_autoflush:
        last = db.session.scalar(select(func.max(Case.number)).where(Case.agency_id == agency.id,
                                                                     Case.number.like(prefix + "%")))
    n = 1
    if last:
        tail = last.removeprefix(prefix)
        n = int(tail) + 1 if tail.isdigit() else 1
    return f"{prefix}{n:04d}"


def clean_items(items: Iterable[Any]) -> list[str]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ServiceError("items must be a list", "申请内容格式错误", rule="items.invalid")
    out = []
    for it in items:
        text = it.get("text") if isinstance(it, Mapping) else it
        if not isinstance(text, str) or not text.strip():
            raise ServiceError("every requested item needs a description", "每一项申请内容都须填写",
                               rule="items.empty")
        if has_control_chars(text):
            raise ServiceError("a requested item contains control characters", "申请内容含有无法识别的控制字符",
                               rule="items.invalid")
        if len(text) > ITEM_TEXT_LIMIT:
            raise ServiceError(f"a requested item is longer than {ITEM_TEXT_LIMIT} characters",
                               f"申请内容每项不超过{ITEM_TEXT_LIMIT}字", rule="items.too_long")
        out.append(text.strip())
    if not out:
        raise ServiceError("at least one requested item is needed", "请至少填写一项申请内容", rule="items.empty")
    if len(out) > MAX_ITEMS:
        raise ServiceError(f"at most {MAX_ITEMS} items", f"申请内容不超过{MAX_ITEMS}项", rule="items.too_many")
    return out


def register_case(agency: Agency, applicant: Applicant | Mapping[str, Any], items: Iterable[Any],
                  channel: str, received_on: date, actor: User | None = None, *, ref: str | None = None,
                  arrived_on: date | None = None, form_wanted: str = "", route_wanted: str = "",
                  assigned_to: User | None = None, today: date | None = None, note: str = "",
                  actor_name: str = "", identity_choice: str | None = None,
                  corrected: Mapping[str, tuple[str, str]] | None = None) -> Case:
    """Record a new application and its ``received`` event (rules.md §2-§3).

    The case gets its own applicant row, as filed (services/applicant_records.py). A clerk
    registering passes ``identity_choice="ask"``: an identity number on file under another name
    then raises IdentityConflict and nothing is registered, until the clerk chooses ("same_person"
    or "corrected" -- the latter still asks if the corrected details conflict too); the choice goes
    to the case history as a note (``corrected``: field -> (as entered, as corrected)). Without a
    choice (imports, the demo) the applicant is recorded as given."""
    today = today or today_shanghai()
    texts = clean_items(items)
    try:
        Channel(channel)
    except ValueError:
        raise ServiceError(f"unknown channel {channel!r}", "收件渠道无效",
                           rule="received.channel") from None
    if arrived_on is not None and arrived_on > received_on:
        raise ServiceError("the receipt date cannot be before the physical arrival",
                           "收到申请之日不能早于申请送达之日", rule="received.before_arrival")
    # Tracking numbers are per agency and year: registrations of one agency take turns. The agency
    # row is locked first (FOR NO KEY UPDATE: it does not conflict with the key-share locks that
    # inserts referencing the agency take) until the transaction ends; SQLite serialises writers.
    db.session.execute(select(Agency.id).where(Agency.id == agency.id).with_for_update(key_share=True))
    names_on_file = check_identity(agency, applicant if isinstance(applicant, Mapping) else
                                   {k: getattr(applicant, k) for k in ("kind", "name", "id_number", "uscc")},
                                   identity_choice)
    applicant = applicant_as_filed(agency, applicant)
    number = next_number(agency, received_on.year)
    case = Case(agency_id=agency.id, ref=ref or number.removeprefix(agency.code + "-"), number=number,
                applicant_id=applicant.id, applicant_kind=applicant.kind, channel=channel,
                arrived_on=arrived_on or received_on, form_wanted=form_wanted, route_wanted=route_wanted,
                assigned_to_id=(assigned_to.id if assigned_to
                                else (actor.id if actor and actor.role == "clerk" else None)),
                note=note)
    case.agency = agency
    case.applicant = applicant
    case.events = []
    case.appeals = []
    case.attachments = []
    for i, t in enumerate(texts):
        case.items.append(CaseItem(position=i, text=t))
    with db.session.no_autoflush:
        if db.session.scalar(select(Case.id).where(Case.agency_id == agency.id, Case.ref == case.ref)):
            raise ServiceError(f"case {case.ref} already exists", f"案件编号 {case.ref} 已存在",
                               rule="case.duplicate")
    db.session.add(case)
    db.session.flush()
    record_event(case, Event(type=EventType.RECEIVED, on=received_on, channel=Channel(channel)), actor,
                 today=today, actor_name=actor_name)
    if identity_choice == "corrected" or (identity_choice == "same_person" and names_on_file):
        add_note(case, "note", today, identity_note(identity_choice, names_on_file, corrected), actor,
                 actor_name=actor_name)
        log_event("applicant.identity_choice", user=actor, target_type="case", target_id=case.number,
                  detail={"choice": identity_choice, "identity": mask_id(applicant.identity),
                          "names_on_file": [n for n, _ in names_on_file], "corrected": sorted(corrected or {})})
    return case


def record_event(case: Case, event: Event, actor: User | None = None, *, today: date | None = None,
                 expected_version: int | None = None, item_outcomes: Sequence[str] | None = None,
                 main_ground: str | None = None, note: str = "", actor_name: str = "",
                 cal: WorkCalendar | None = None, extra_payload: Mapping[str, Any] | None = None) -> CaseEvent:
    """Apply one workflow event to a case through the transition table, or refuse it."""
    today = today or today_shanghai()
    ensure_changeable(case, event.type.value)    # before anything is touched
    if expected_version is not None and case.version != expected_version:
        raise ConflictError("the case was changed by someone else; reload it",
                            "该案件已被他人修改，请刷新页面后重试。", rule="case.conflict")
    cal = cal or current_calendar()
    policies = case.agency.policy()
    # role rule (Art. 33): an extension is approved by the office head
    if event.type is EventType.EXTENDED and actor is not None and actor.role != "approver":
        raise ServiceError("only an approver (负责人) may approve an extension",
                           "延期答复须经信息公开工作机构负责人批准，您没有该权限（第三十三条）", rule="extension.role")
    # per-item outcomes (rules.md §5)
    if event.type is EventType.ANSWERED and item_outcomes is not None:
        if len(item_outcomes) != len(case.items):
            raise ServiceError("give an outcome for every requested item", "请为每一项申请内容选择办理结果",
                               rule="answered.items")
        try:
            overall = application_outcome(item_outcomes, main_ground or None)
        except OutcomeError as e:
            raise ServiceError(str(e), "各项办理结果不同且均未提供信息时，须选择主要理由",
                               rule="answered.outcome") from None
        event = replace(event, outcome=overall)
    events = workflow_events(case)
    try:
        before = replay(events, cal, policies, recorded=True)     # the stored history, as recorded
        after = apply(before, event, cal, policies, today)        # the new event, judged now
    except Refusal as r:
        raise refusal_error(r, case) from None
    payload = {k: v for k, v in event.to_dict().items() if k not in ("type", "on")}
    if event.type is EventType.CORRECTION_REQUESTED and "reply_by" not in payload:
        payload["reply_by"] = after.correction_reply_by.isoformat()
    if note:
        payload["note"] = note
    if extra_payload:
        payload.update(extra_payload)
    if item_outcomes is not None:
        payload["item_outcomes"] = list(item_outcomes)
        for item, out in zip(case.items, item_outcomes, strict=True):
            item.outcome = Outcome(out).value
    elif event.type is EventType.ANSWERED:
        for item in case.items:
            item.outcome = event.outcome.value
    ev = _append_event(case, event.type.value, event.on, payload, actor,
                       (before.status.value if before.status else None, before.due_on(cal)),
                       (after.status.value if after.status else None, after.due_on(cal)),
                       actor_name=actor_name)
    if event.type is EventType.EXTENDED and not payload.get("approved_by") and actor is not None:
        ev.payload = {**payload, "approved_by": actor.display_name}
        ev.hash = event_hash(ev.prev_hash, ev)
        set_head(case, ev)
    _derive(case, after, cal)
    _flush_or_conflict()
    case_event_recorded.send(case, event=ev)
    return ev


def get_case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}", "案件不存在")
    return case


_MOVABLE = ("due_on", "correction_notice_due_on", "correction_reply_by", "fee_due_on", "consultation_due_on",
            "due_provisional")


def _paused_due(clock: CaseClock, cal: WorkCalendar, today: date) -> date | None:
    """For a case whose clock is paused: the due date if the pause ended today (what the case page
    shows); None otherwise."""
    if clock.pause_start is None:
        return None
    return clock.due_in_force(cal, max(today, clock.pause_start))


def _open_cases(agency_id: int | None):
    q = select(Case).where(Case.status != Status.CLOSED.value)
    return q if agency_id is None else q.where(Case.agency_id == agency_id)


def open_deadlines(today: date | None = None, agency_id: int | None = None) -> dict[int, dict[str, Any]]:
    """Every open case's deadlines as they stand (before a calendar or policy change): case id ->
    the derived columns and, for a paused case, its due date if the pause ended today. With
    ``agency_id``, that agency's open cases only (a policy change touches no other agency's)."""
    today = today or today_shanghai()
    cal = current_calendar()
    out = {}
    for case in db.session.scalars(_open_cases(agency_id)):
        reading = {name: getattr(case, name) for name in _MOVABLE}
        if case.paused_since is not None:
            reading["due_if_resumed"] = _paused_due(case_clock(case, cal), cal, today)
        out[case.id] = reading
    return out


def recompute_open_cases(reason: str, actor: User | None = None, today: date | None = None,
                         before: dict[int, dict[str, Any]] | None = None, agency_id: int | None = None,
                         ) -> list[tuple[Case, date | None, date | None]]:
    """After a calendar or policy change: recompute the derived deadlines of every open case and log
    each moved deadline on its case as an event (old date, new date, why). rules.md §1. ``before``
    (``open_deadlines()`` taken before the change) also lets a paused case's due date - if the pause
    ended today - be compared and logged. With ``agency_id`` (a policy change), that agency's open
    cases only: the calendar is everyone's, a policy is one agency's."""
    today = today or today_shanghai()
    cal = current_calendar()
    moved = []
    for case in db.session.scalars(_open_cases(agency_id)):
        was = (before or {}).get(case.id) or {name: getattr(case, name) for name in _MOVABLE}
        clock = case_clock(case, cal)
        _derive(case, clock, cal)
        now = {name: getattr(case, name) for name in _MOVABLE}
        if "due_if_resumed" in was:
            now["due_if_resumed"] = _paused_due(clock, cal, today)
        old = tuple(was.get(name) for name in now)
        new = tuple(now.values())
        if old != new:
            changes = {}
            names = tuple(now)
            for name, a, b in zip(names, old, new, strict=True):
                if a != b:
                    changes[name] = [a.isoformat() if isinstance(a, date) else a,
                                     b.isoformat() if isinstance(b, date) else b]
            add_note(case, "deadline_moved", today, {"reason": reason, "changes": changes,
                                                     "calendar_version": cal.version}, actor)
            moved.append((case, old[0], new[0]))
    db.session.flush()
    return moved


def fee_items_this_month(applicant: Applicant, on: date, exclude_case: Case | None = None) -> int:
    """Items the same person asked this agency for earlier in the same calendar month (Fees, per
    item), whatever name each case was filed under: the same identity number (applicant_records).
    Each agency charges for its own work: items filed with other agencies do not count (nor
    does this agency learn of them)."""
    start = on.replace(day=1)
    q = (select(func.count(CaseItem.id)).join(Case, CaseItem.case_id == Case.id)
         .join(Applicant, Case.applicant_id == Applicant.id)
         .where(Case.agency_id == applicant.agency_id, Case.received_on >= start, Case.received_on <= on,
                same_person(applicant)))
    if exclude_case is not None:
        q = q.where(Case.id != exclude_case.id)
    return db.session.scalar(q) or 0


def decimal_or_none(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))
