"""Recording on a case: notes and workflow events, appended to the chain; an archived case (归档) takes no more
changes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from webapp.domain.calendar import WorkCalendar
from webapp.domain.kinds import Role
from webapp.domain.outcomes import Outcome, OutcomeError, application_outcome
from webapp.domain.workflow import Event, EventType, Refusal, apply, replay
from webapp.errors import ConflictError, ServiceError
from webapp.extensions import db
from webapp.models import Case, CaseEvent, User
from webapp.timeutil import today_shanghai

from .calendar import current_calendar
from .chain import event_hash, set_head
from .clock import WORKFLOW_TYPES, _derive, refusal_error, workflow_events
from .signals import case_event_recorded

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


def event_row(case_id: int, seq: int, type_: str, on: date, payload: Mapping[str, Any], actor: User | None,
              before: tuple[str | None, date | None], after: tuple[str | None, date | None],
              actor_name: str = "", corrects_id: int | None = None, prev_hash: str = "") -> dict[str, Any]:
    """An event's columns (its hash, id and recording time aside): _append_event's, and a registration's
    received event written as a Core INSERT (registration_rows.received_event)."""
    return {"case_id": case_id, "seq": seq, "type": type_, "on": on, "payload": dict(payload),
            "actor_id": actor.id if actor else None,
            "actor_name": actor_name or (actor.display_name if actor else ""),
            "status_before": before[0], "due_before": before[1], "status_after": after[0], "due_after": after[1],
            "corrects_event_id": corrects_id, "prev_hash": prev_hash}


def _append_event(case: Case, type_: str, on: date, payload: Mapping[str, Any], actor: User | None,
                  before: tuple[str | None, date | None], after: tuple[str | None, date | None],
                  actor_name: str = "", corrects: CaseEvent | None = None) -> CaseEvent:
    ensure_changeable(case, type_)
    # the case's events are loaded once per case (and start empty for a new case); appends keep seq order
    last = case.events[-1] if case.events else None
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else ""
    ev = CaseEvent(**event_row(case.id, seq, type_, on, payload, actor, before, after, actor_name,
                               corrects.id if corrects else None, prev_hash))
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


def case_changed(message: str = "the case was changed by someone else; reload it") -> ConflictError:
    """The one refusal of a change to a case someone else changed meanwhile (its version moved, or
    two requests appended to its history at once)."""
    return ConflictError(message, "该案件已被他人修改，请刷新页面后重试。", rule="case.conflict")


@contextmanager
def case_change() -> Iterator[None]:
    """``with case_change(): ...`` around a page's change to a case, flushed at its end: a concurrent
    change (a stale version, or two requests appending to the history at once) fails here, not at
    the commit, and is rolled back and refused as ``case_changed``."""
    try:
        yield
        db.session.flush()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise case_changed() from None


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as e:
        if isinstance(e, IntegrityError) and "case_event" not in str(e.orig):
            raise
        db.session.rollback()
        raise case_changed() from None


def with_item_outcomes(event: Event, item_outcomes: Sequence[str], n_items: int,
                       main_ground: str | None) -> Event:
    """An answer given item by item (rules.md §5): one outcome per item, the application's outcome
    derived from them (and the main ground where they differ); ServiceError otherwise."""
    if len(item_outcomes) != n_items:
        raise ServiceError("give an outcome for every requested item", "请为每一项申请内容选择办理结果",
                           rule="answered.items")
    try:
        overall = application_outcome(item_outcomes, main_ground or None)
    except OutcomeError as e:
        raise ServiceError(str(e), "各项办理结果不同且均未提供信息时，须选择主要理由",
                           rule="answered.outcome") from None
    return replace(event, outcome=overall)


def event_payload(event: Event, after: Any) -> dict[str, Any]:
    """The stored payload of a workflow event: its fields, and a correction's reply-by date as the
    clock after it computed it."""
    payload = {k: v for k, v in event.to_dict().items() if k not in ("type", "on")}
    if event.type is EventType.CORRECTION_REQUESTED and "reply_by" not in payload:
        payload["reply_by"] = after.correction_reply_by.isoformat()
    return payload


def record_event(case: Case, event: Event, actor: User | None = None, *, today: date | None = None,
                 expected_version: int | None = None, item_outcomes: Sequence[str] | None = None,
                 main_ground: str | None = None, note: str = "", actor_name: str = "",
                 cal: WorkCalendar | None = None, extra_payload: Mapping[str, Any] | None = None) -> CaseEvent:
    """Apply one workflow event to a case through the transition table, or refuse it."""
    today = today or today_shanghai()
    ensure_changeable(case, event.type.value)    # before anything is touched
    if expected_version is not None and case.version != expected_version:
        raise case_changed()
    cal = cal or current_calendar()
    policies = case.agency.policy()
    # role rule (Art. 33): an extension is approved by the office head
    if event.type is EventType.EXTENDED and actor is not None and actor.role != Role.APPROVER:
        raise ServiceError("only an approver (负责人) may approve an extension",
                           "延期答复须经信息公开工作机构负责人批准，您没有该权限（第三十三条）", rule="extension.role")
    # per-item outcomes (rules.md §5)
    if event.type is EventType.ANSWERED and item_outcomes is not None:
        event = with_item_outcomes(event, item_outcomes, len(case.items), main_ground)
    events = workflow_events(case)
    try:
        before = replay(events, cal, policies, recorded=True)     # the stored history, as recorded
        after = apply(before, event, cal, policies, today)        # the new event, judged now
    except Refusal as r:
        raise refusal_error(r, case) from None
    payload = event_payload(event, after)
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
