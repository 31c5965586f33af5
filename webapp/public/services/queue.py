"""The office's queue of online submissions: listing, confirmation (受理), rejection, routing (分办)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from webapp.cases.services import add_note, register_case
from webapp.cases.services.calendar import current_calendar
from webapp.domain.calendar import DateOutOfRange, WorkCalendar
from webapp.domain.kinds import AttachmentKind, NotifyVia
from webapp.domain.states import HandoverStatus
from webapp.errors import ConflictError, Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import Agency, Attachment, Case, User
from webapp.models.submission import PENDING_STATUSES, Submission, SubmissionStatus
from webapp.timeutil import today_shanghai

from .settings import REJECT_REASON_LIMIT, ROUTE_NOTE_LIMIT, _naive_utc

# --- the office's queue ------------------------------------------------------------------------

def queue_conditions(in_agencies: Any, *, unsigned: bool = False) -> tuple:
    """The working queue's conditions (``in_agencies``: a condition on ``Submission.agency_id``): pending
    submissions the agencies hold and have signed for; with ``unsigned``, those routed to them that
    wait for 签收 instead (handovers/services.py). The queue page's list and the dashboard's summary."""
    from webapp.models.handover import Handover

    waiting = select(Handover.submission_id).where(Handover.status == HandoverStatus.PENDING,
                                                   Handover.submission_id.is_not(None))
    return (in_agencies, Submission.status.in_(PENDING_STATUSES),
            Submission.id.in_(waiting) if unsigned else Submission.id.not_in(waiting))


def pending_submissions(agency_ids: Iterable[int], *, unsigned: bool = False) -> list[Submission]:
    """The working queue (``queue_conditions``), oldest first."""
    ids = list(agency_ids)
    if not ids:
        return []
    return list(db.session.scalars(select(Submission).where(
        *queue_conditions(Submission.agency_id.in_(ids), unsigned=unsigned)).order_by(Submission.submitted_at)))


def recent_reviewed(agency_ids: Iterable[int], days: int = 30) -> list[Submission]:
    ids = list(agency_ids)
    if not ids:
        return []
    since = _naive_utc() - timedelta(days=days)
    return list(db.session.scalars(select(Submission).where(
        Submission.agency_id.in_(ids), Submission.status.not_in(PENDING_STATUSES),
        Submission.reviewed_at >= since).order_by(Submission.reviewed_at.desc()).limit(200)))


def age_in_workdays(sub: Submission, cal: WorkCalendar | None = None, today: date | None = None) -> int | None:
    """Working days the submission has waited (the day it came in counts as 0)."""
    return _age(sub.submitted_on, cal or current_calendar(), today or today_shanghai())


def _age(submitted_on: date, cal: WorkCalendar, today: date) -> int | None:
    try:
        return max(cal.workdays_between(submitted_on, today), 0)
    except DateOutOfRange:
        return None


@dataclass
class QueueSummary:
    count: int
    oldest_age: int | None
    over_one_day: int     # waiting more than one working day (the receipt date should be today's)


def queue_days(in_agencies: Any) -> Any:
    """The working queue's days: (``submitted_on``, the submissions of that day), one row a day
    (``queue_conditions``; read by ``queue_summary`` and as a part of the dashboard's one statement)."""
    return select(Submission.submitted_on, func.count().label("n")) \
        .where(*queue_conditions(in_agencies)).group_by(Submission.submitted_on)


def summary_of(days: Iterable[tuple[date, int]], cal: WorkCalendar, today: date) -> QueueSummary:
    """The queue's summary from its days (``queue_days``): a day's age counts once for all its
    submissions; a day outside the calendar's years has no age (counted, never the oldest)."""
    count = over_one_day = 0
    oldest = None
    for day, n in days:
        count += n
        age = _age(day, cal, today)
        if age is None:
            continue
        oldest = age if oldest is None or age > oldest else oldest
        if age > 1:
            over_one_day += n
    return QueueSummary(count, oldest, over_one_day)


def queue_summary(agency_ids: Iterable[int], today: date | None = None) -> QueueSummary:
    ids = list(agency_ids)
    days = db.session.execute(queue_days(Submission.agency_id.in_(ids))).all() if ids else []
    return summary_of(days, current_calendar(), today or today_shanghai())


def _holder_check(sub: Submission, actor: User) -> None:
    if not sub.pending:
        raise ServiceError(f"submission {sub.number} is {sub.status}, not waiting",
                           f"该网上申请已处理（{sub.status_enum.label_zh}），不能再操作", rule="submission.state")
    if actor.agency_id is not None and actor.agency_id != sub.agency_id:
        raise Forbidden(f"submission {sub.number} is not in {actor.username}'s queue",
                        "该网上申请不在本机关的待确认队列中", rule="submission.agency")
    from webapp.handovers.services import pending_for_submission

    if pending_for_submission(sub) is not None:   # 签收 first (handovers/services.py)
        raise ServiceError(f"submission {sub.number} waits to be signed for",
                           "该网上申请已分办，待签收：请先签收，或退回分办机关", rule="submission.unsigned")


def _version_check(sub: Submission, expected_version: int | None) -> None:
    if expected_version is not None and sub.version != expected_version:
        raise ConflictError("the submission was changed by someone else; reload it",
                            "该网上申请已被他人处理，请刷新页面后重试。", rule="submission.conflict")


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ConflictError("the submission was changed by someone else; reload it",
                            "该网上申请已被他人处理，请刷新页面后重试。", rule="submission.conflict") from None


def confirm_submission(sub: Submission, actor: User, *, today: date | None = None,
                       expected_version: int | None = None, identity_choice: str = "ask",
                       correction: Mapping[str, Any] | None = None) -> Case:
    """The office confirms: a Case with channel 'online' whose receipt date is today, the
    confirmation date (rules.md §2: the day both sides confirm). The routing log goes to the case
    history as 'routed' events, attachments become the case's scans, and the applicant is told.

    An identity number on file under another name stops the confirmation (IdentityConflict) until
    the clerk chooses: ``identity_choice="same_person"``, or ``"corrected"`` with ``correction``
    (name and/or ID number / USCC as corrected; the submission keeps what was submitted)."""
    from webapp.notify.applicant_notices import notify_applicant

    _version_check(sub, expected_version)
    _holder_check(sub, actor)
    today = today or today_shanghai()
    agency = db.session.get(Agency, sub.agency_id)
    applicant = dict(sub.applicant)
    changes: dict[str, tuple[str, str]] = {}
    if identity_choice == "corrected":
        for key in ("name", "id_number", "uscc"):
            new = (correction or {}).get(key)
            if isinstance(new, str) and new.strip() and new.strip() != (applicant.get(key) or ""):
                changes[key] = (applicant.get(key) or "", new.strip())
                applicant[key] = new.strip()
        if not changes:
            raise ServiceError("a correction changes the name or the identity number",
                               "请更正申请人的姓名或证件号码（与提交的内容相同，未作更正）",
                               rule="applicant.identity_correction")
    case = register_case(agency, applicant, list(sub.items), "online", today, actor,
                         arrived_on=min(sub.submitted_on, today), form_wanted=sub.form_wanted,
                         route_wanted=sub.route_wanted, today=today, note=f"网上申请 {sub.number}",
                         identity_choice=identity_choice, corrected=changes or None)
    case.query_code_hash = sub.query_code_hash
    case.notify_via = sub.notify_via or NotifyVia.EMAIL   # as filed (webapp/sms/)
    for entry in sub.routing_log or []:
        by = db.session.get(User, entry["by_id"]) if entry.get("by_id") else None
        add_note(case, "routed", date.fromisoformat(entry["on"]),
                 {**{k: v for k, v in entry.items() if k not in ("on", "by_id")},
                  "submission": sub.number, "before_receipt": True},
                 by, actor_name=entry.get("by_name", ""))
    for f in sub.files:
        db.session.add(Attachment(case_id=case.id, kind=AttachmentKind.SCAN, filename=f.filename,
                                  content_type=f.content_type, size=f.size, sha256=f.sha256,
                                  storage_path=f.storage_path, uploaded_by_id=None,
                                  uploaded_at=f.uploaded_at))
    sub.status = SubmissionStatus.CONFIRMED
    sub.case_id = case.id
    sub.reviewed_at = _naive_utc()
    sub.reviewed_by_id = actor.id
    _flush_or_conflict()
    _audit("submission.confirmed", actor, sub, {"case": case.number})
    notify_applicant(case, "confirmation", today=today)
    return case


def reject_submission(sub: Submission, actor: User, reason: str, *,
                      expected_version: int | None = None) -> Submission:
    """Not an application (spam, empty, not a disclosure request): no case; the applicant sees why."""
    from webapp.notify.applicant_notices import notify_submission

    _version_check(sub, expected_version)
    _holder_check(sub, actor)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ServiceError("give the reason the applicant will see", "请填写不予受理的理由（申请人可见）",
                           rule="submission.reason")
    if len(reason) > REJECT_REASON_LIMIT:
        raise ServiceError("the reason is too long", f"理由不超过{REJECT_REASON_LIMIT}字", rule="submission.reason")
    sub.status = SubmissionStatus.REJECTED
    sub.reject_reason = reason
    sub.reviewed_at = _naive_utc()
    sub.reviewed_by_id = actor.id
    _flush_or_conflict()
    _audit("submission.rejected", actor, sub, {"reason": reason})
    notify_submission(sub, "rejected")
    return sub


def route_targets(sub: Submission) -> list[Agency]:
    """Where the holder may pass a submission: a government's departments, or a department's
    government (sent back, 退回)."""
    holder = db.session.get(Agency, sub.agency_id)
    targets = [] if holder is None else list(
        db.session.scalars(select(Agency).where(Agency.parent_id == holder.id).order_by(Agency.code)))
    if holder is not None and holder.parent_id is not None:
        parent = db.session.get(Agency, holder.parent_id)
        if parent is not None:
            targets.insert(0, parent)
    return targets


def route_submission(sub: Submission, actor: User, target: Agency, note: str, *,
                     today: date | None = None, expected_version: int | None = None) -> Submission:
    """分办: a government's desk passes an unconfirmed submission to one of its departments (or a
    department sends it back), with a note. Logged on the submission, and on the case history at
    confirmation. The target signs for it (签收, handovers/services.py) before it may act on it."""
    _version_check(sub, expected_version)
    _holder_check(sub, actor)
    note = (note or "").strip() if isinstance(note, str) else ""
    if not note:
        raise ServiceError("give a note for the routing", "请填写分办说明", rule="submission.route_note")
    if len(note) > ROUTE_NOTE_LIMIT:
        raise ServiceError("the note is too long", f"分办说明不超过{ROUTE_NOTE_LIMIT}字", rule="submission.route_note")
    if target is None or target.id not in {a.id for a in route_targets(sub)}:
        raise ServiceError("the target is neither a department of the holder nor its government",
                           "只能分办给本级政府的所属部门，或退回上级政府", rule="submission.route_target")
    today = today or today_shanghai()
    holder = db.session.get(Agency, sub.agency_id)
    entry = {"on": today.isoformat(), "at": _naive_utc().isoformat(timespec="seconds"),
             "from_agency_id": holder.id, "from_code": holder.code, "from_name": holder.name,
             "to_agency_id": target.id, "to_code": target.code, "to_name": target.name,
             "note": note, "by_id": actor.id, "by_name": actor.display_name}
    sub.routing_log = [*(sub.routing_log or []), entry]   # a new list: JSON columns track assignment
    sub.agency_id = target.id
    sub.agency = target
    sub.routed_to_id = target.id
    sub.route_note = note
    sub.status = SubmissionStatus.ROUTED
    _flush_or_conflict()
    from webapp.handovers.services import open_handover  # it waits there for 签收

    h = open_handover(actor, holder, target, note, submission=sub, today=today)
    _audit("submission.routed", actor, sub, {"to": target.code, "note": note, "handover": h.id})
    return sub


def _audit(action: str, actor: User, sub: Submission, detail: dict[str, Any]) -> None:
    from webapp.trust.audit import log_event

    log_event(action, user=actor, target_type="submission", target_id=sub.number, detail=detail)
