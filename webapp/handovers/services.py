"""签收: routed applications wait for the receiving office to sign for them (or send them back).

A routing (分办 of an online submission by ``public.services.route_submission``, 转办 of a
registered case by ``route_case``) opens a ``Handover`` row, ``pending``. The receiving office's
clerk then

- signs for it (``sign``): from then on it is theirs (a case's ``agency_id`` moves on signing; a
  submission sits in the receiving queue already but cannot be confirmed, rejected or routed on
  before it is signed for);
- or sends it back (``send_back``) with a reason (required): it returns to the routing office's
  queue with the reason shown, and can be routed again.

The clock follows the receipt rules (docs/rules.md §2, Art. 31): routing and signing change no
receipt or due date. For a case they are non-statutory history events (``routed``, ``signed_for``,
``returned_to_router`` via ``add_note``); the time waiting is kept (routed_at, signed_at) for
supervision. Every step is audited. Like every service, these functions flush; callers commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, cast, func, literal, null, select

from webapp.cases.services import add_note
from webapp.cases.services.calendar import current_calendar
from webapp.domain.calendar import DateOutOfRange, WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN
from webapp.domain.kinds import HandoverKind, Role
from webapp.domain.states import HandoverStatus
from webapp.errors import ConflictError, Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, User
from webapp.models.handover import Handover
from webapp.models.submission import Submission, SubmissionStatus
from webapp.prebuilt import prebuilt
from webapp.timeutil import SHANGHAI, now_utc, today_shanghai
from webapp.trust.audit import log_event

NOTE_LIMIT = 500
REASON_LIMIT = 500
RETURNED_SHOWN_DAYS = 30
LINK = "/handovers/"
REMINDER_KIND = "handover_unsigned"


def _naive_utc(dt: datetime | None = None) -> datetime:
    return (dt or now_utc()).replace(tzinfo=None)


def _clean_text(value: Any, limit: int, empty_zh: str, long_zh: str, rule: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ServiceError("a text is required", empty_zh, rule=rule)
    if len(text) > limit:
        raise ServiceError("the text is too long", long_zh, rule=rule)
    if any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        raise ServiceError("control characters", "文字中含有无法识别的控制字符，请删除后重试", rule=rule)
    return text


def _agency_payload(prefix: str, agency: Agency) -> dict[str, Any]:
    return {f"{prefix}_agency_id": agency.id, f"{prefix}_code": agency.code, f"{prefix}_name": agency.name}


def _audit(action: str, actor: User, h: Handover, detail: dict[str, Any]) -> None:
    log_event(action, user=actor, target_type=str(h.kind), target_id=h.number,
              detail={"handover": h.id, **detail})


# --- reading ---------------------------------------------------------------------------------------

def pending_for_submission(sub: Submission) -> Handover | None:
    return db.session.scalars(select(Handover).where(Handover.submission_id == sub.id,
                                                     Handover.status == HandoverStatus.PENDING)).first()


def pending_for_case(case: Case) -> Handover | None:
    stmt = prebuilt("pending_for_case", lambda: select(Handover).where(
        Handover.case_id == bindparam("case_id"), Handover.status == HandoverStatus.PENDING))   # built once
    return db.session.scalars(stmt, {"case_id": case.id}).first()


def last_returned(sub: Submission | None = None, case: Case | None = None) -> Handover | None:
    """The latest 退回 of the item, if it is the item's latest routing (its reason is shown)."""
    col, value = (Handover.submission_id, sub.id) if sub is not None else (Handover.case_id, case.id)
    last = db.session.scalars(select(Handover).where(col == value).order_by(Handover.id.desc())).first()
    return last if last is not None and last.status == HandoverStatus.RETURNED else None


def to_sign(agency_ids: Iterable[int]) -> list[Handover]:
    """Waiting for the given (receiving) agencies to sign, oldest first."""
    return list(db.session.scalars(select(Handover).where(Handover.to_agency_id.in_(list(agency_ids)),
                                                          Handover.status == HandoverStatus.PENDING)
                                   .order_by(Handover.routed_at, Handover.id)))


def routed_by(agency_ids: Iterable[int], today: date | None = None) -> tuple[list[Handover], list[Handover]]:
    """The routing office's view: its routings not signed for yet (oldest first), and those sent back
    in the last RETURNED_SHOWN_DAYS days that were not routed again."""
    ids = list(agency_ids)
    unsigned = list(db.session.scalars(select(Handover).where(Handover.from_agency_id.in_(ids),
                                                              Handover.status == HandoverStatus.PENDING)
                                       .order_by(Handover.routed_at, Handover.id)))
    since = _naive_utc() - timedelta(days=RETURNED_SHOWN_DAYS)
    returned = [h for h in db.session.scalars(
        select(Handover).where(Handover.from_agency_id.in_(ids), Handover.status == HandoverStatus.RETURNED,
                               Handover.returned_at >= since).order_by(Handover.returned_at.desc()))
        if (last_returned(h.submission, None) if h.kind == HandoverKind.SUBMISSION
            else last_returned(None, h.case)) is h]
    return unsigned, returned


def count_to_sign_clause(agency_ids: Iterable[int]):
    """The 待签收 count of ``agency_ids`` as a scalar subquery (the page header reads it together with
    the unread notifications: webapp/platform/header.py)."""
    return (select(func.count(Handover.id))
            .where(Handover.to_agency_id.in_(list(agency_ids)), Handover.status == HandoverStatus.PENDING)
            .scalar_subquery())


def count_to_sign(agency_ids: Iterable[int]) -> int:
    return db.session.scalar(select(count_to_sign_clause(agency_ids))) or 0


@dataclass(frozen=True)
class Age:
    workdays: int
    hours: int

    @property
    def text_zh(self) -> str:
        return f"{self.workdays}个工作日（{self.hours}小时）"


def age(h: Handover, cal: WorkCalendar | None = None, now: datetime | None = None,
        today: date | None = None) -> Age:
    """Time since routing (or until signing/sending back): working days (the routing day counts 0,
    like the queue's age) and whole hours."""
    end = h.signed_at or h.returned_at or _naive_utc(now)
    hours = max(0, int((end - h.routed_at).total_seconds() // 3600))
    cal = cal or current_calendar()
    end_day = today or today_shanghai()
    if h.signed_at or h.returned_at:
        end_day = end.replace(tzinfo=UTC).astimezone(SHANGHAI).date()
    try:
        days = cal.workdays_between(h.routed_on, end_day) if end_day > h.routed_on else 0
    except DateOutOfRange:  # a date outside the calendar's years: the hours still tell
        days = 0
    return Age(days, hours)


# --- routing ---------------------------------------------------------------------------------------

def open_handover(actor: User, from_agency: Agency, to_agency: Agency, note: str, *,
                  submission: Submission | None = None, case: Case | None = None,
                  today: date | None = None) -> Handover:
    h = Handover(kind=HandoverKind.CASE if case is not None else HandoverKind.SUBMISSION,
                 submission_id=submission.id if submission is not None else None,
                 case_id=case.id if case is not None else None,
                 from_agency_id=from_agency.id, to_agency_id=to_agency.id, note=note, status=HandoverStatus.PENDING,
                 routed_at=_naive_utc(), routed_on=today or today_shanghai(), routed_by_id=actor.id)
    h.submission, h.case = submission, case
    db.session.add(h)
    db.session.flush()
    return h


def case_route_targets(case: Case) -> list[Agency]:
    """转办: a case goes from an office to one of its departments."""
    return list(db.session.scalars(select(Agency).where(Agency.parent_id == case.agency_id)
                                   .order_by(Agency.code)))


def route_case(case: Case, actor: User, target: Agency | None, note: Any, *,
               today: date | None = None) -> Handover:
    """转办 a registered case to a department; it stays the routing office's until signed for.
    Changes no receipt or due date (the clock runs on)."""
    if actor.agency_id is not None and actor.agency_id != case.agency_id:
        raise Forbidden("not the holder's case", "只能转办本机关的案件", rule="handover.agency")
    if case.closed_on is not None:
        raise ServiceError("the case is closed", "案件已办结，不能转办", rule="handover.state")
    if pending_for_case(case) is not None:
        raise ServiceError("already routed, waiting", "该案件已转办，正等待签收", rule="handover.pending")
    note = _clean_text(note, NOTE_LIMIT, "请填写转办说明", f"转办说明不超过{NOTE_LIMIT}字", "handover.note")
    if target is None or target.id not in {a.id for a in case_route_targets(case)}:
        raise ServiceError("the target is not a department of the holder", "只能转办给本机关的所属部门",
                           rule="handover.target")
    today = today or today_shanghai()
    holder = db.session.get(Agency, case.agency_id)
    h = open_handover(actor, holder, target, note, case=case, today=today)
    add_note(case, "routed", today, {**_agency_payload("from", holder), **_agency_payload("to", target),
                                     "note": note, "handover": h.id}, actor)
    _audit("case.routed", actor, h, {"to": target.code, "note": note})
    return h


# --- signing and sending back ----------------------------------------------------------------------

def _receiver_check(h: Handover, actor: User) -> None:
    if h.status != HandoverStatus.PENDING:
        raise ServiceError(f"handover {h.id} is {h.status}", f"该申请已{h.status_zh.removeprefix('已')}，不能再操作",
                           rule="handover.state")
    if actor.agency_id != h.to_agency_id:
        raise Forbidden("not the receiving agency", "只能签收分办给本机关的申请", rule="handover.agency")


def _flush() -> None:
    from sqlalchemy.orm.exc import StaleDataError

    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ConflictError("changed meanwhile", "该申请已被他人处理，请刷新页面后重试。",
                            rule="handover.conflict") from None


def sign(h: Handover, actor: User, *, today: date | None = None) -> Handover:
    """签收: the receiving office takes the application as its own. No date of the clock changes."""
    _receiver_check(h, actor)
    if h.case is not None and h.case.closed_on is not None:   # closed by the router meanwhile: 退回 only
        raise ServiceError("the case is closed", "案件已由转办机关办结，不能签收，请退回", rule="handover.closed")
    today = today or today_shanghai()
    h.status = HandoverStatus.SIGNED
    h.signed_at = _naive_utc()
    h.signed_by_id = actor.id
    waited = age(h, today=today)
    to = db.session.get(Agency, h.to_agency_id)
    if h.case is not None:
        case = h.case
        case.agency_id = to.id
        case.assigned_to_id = None     # the routing office's clerk no longer handles it
        add_note(case, "signed_for", today, {**_agency_payload("to", to), "handover": h.id,
                                             "waited_workdays": waited.workdays, "waited_hours": waited.hours},
                 actor)
    _flush()
    _audit("handover.signed", actor, h, {"to": to.code, "waited_hours": waited.hours})
    return h


def send_back(h: Handover, actor: User, reason: Any, *, today: date | None = None) -> Handover:
    """退回: back to the routing office's queue with the reason; it may be routed again."""
    _receiver_check(h, actor)
    reason = _clean_text(reason, REASON_LIMIT, "请填写退回理由", f"退回理由不超过{REASON_LIMIT}字", "handover.reason")
    today = today or today_shanghai()
    h.status = HandoverStatus.RETURNED
    h.returned_at = _naive_utc()
    h.returned_by_id = actor.id
    h.return_reason = reason
    to = db.session.get(Agency, h.to_agency_id)
    back = db.session.get(Agency, h.from_agency_id)
    if h.submission is not None:
        sub = h.submission
        entry = {"on": today.isoformat(), "at": h.returned_at.isoformat(timespec="seconds"),
                 "from_agency_id": to.id, "from_code": to.code, "from_name": to.name,
                 "to_agency_id": back.id, "to_code": back.code, "to_name": back.name,
                 "note": f"退回：{reason}", "returned": True, "by_id": actor.id, "by_name": actor.display_name}
        sub.routing_log = [*(sub.routing_log or []), entry]
        sub.agency_id = back.id
        sub.agency = back
        sub.routed_to_id = back.id
        sub.status = (SubmissionStatus.SUBMITTED if back.id == sub.origin_agency_id
                      else SubmissionStatus.ROUTED)
    if h.case is not None:
        add_note(h.case, "returned_to_router", today, {**_agency_payload("from", to), **_agency_payload("to", back),
                                                       "reason": reason, "handover": h.id}, actor)
    _flush()
    _audit("handover.returned", actor, h, {"to": back.code, "reason": reason})
    return h


# --- reminders (notify/reminders.sweep) ----------------------------------------------------------

def reminder_branch(source, agency_ids=None):
    """The routed cases whose clock runs, not signed for, as a part of the sweep's one selection
    (notify/reminders/sweep._selection): source, case id, the receiving agency, number, no assignee,
    applicant's name, due date, the handover. The agencies (a list, or None for all) may be a bound
    parameter."""
    q = (select(source, Case.id, Handover.to_agency_id, Case.number, cast(null(), Integer), Applicant.name,
                Case.due_on.label("deadline"), Handover.id.label("ref"))
         .join(Case, Case.id == Handover.case_id).join(Applicant, Applicant.id == Case.applicant_id)
         .where(Handover.status == HandoverStatus.PENDING, Case.status.in_(CLOCK_RUNS_IN), Case.due_on.is_not(None)))
    if agency_ids is not None:
        q = q.where(Handover.to_agency_id.in_(agency_ids))
    return q


def reminder_items(today: date, cal: WorkCalendar, agency_ids: Sequence[int] | None = None, *, rows=None,
                   people: dict | None = None, loaded: set[int] = frozenset()):
    """(Item, [user ids]) for the sweep: a routed case whose clock runs, not signed for, reminds the
    receiving office's clerks and approvers once a day (working days; the day is in the key). The
    sweep passes the ``rows`` of ``reminder_branch`` its selection read and the ``people`` it read
    (everyone of the agencies ``loaded``, the receiving ones among them); alone, this reads both."""
    from webapp.notify.reminders.kinds import Item
    from webapp.notify.reminders.people import _people

    if not cal.is_workday(today):
        return [], {}
    if rows is None:
        rows = db.session.execute(reminder_branch(literal(0), None if agency_ids is None else list(agency_ids))).all()
    if not rows:
        return [], {}
    rows = sorted(rows, key=lambda r: r[7])          # by handover
    to_ids = {r[2] for r in rows}
    if people is None or not to_ids <= loaded:
        people = _people(User.agency_id.in_(to_ids))
    pairs = []
    for _source, case_id, to_id, number, _assigned, name, due, _handover in rows:
        left = cal.workdays_between(today, due) if due >= today else -cal.workdays_between(due, today)
        item = Item(REMINDER_KIND, case_id, to_id, number, name or "", None, due, left, today)
        uids = [p.id for p in people.values()
                if p.agency_id == to_id and p.active and p.role in (Role.CLERK, Role.APPROVER)]
        pairs.append((item, uids))
    return pairs, people


# --- supervision ----------------------------------------------------------------------------------

def waiting_stats(agency_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per receiving agency: how many wait for 签收 now (``pending``), and the hours the routings
    waited until signed for or sent back (``hours`` summed over ``n`` routings; ``avg_hours``)."""
    ids = list(agency_ids)
    out: dict[int, dict[str, Any]] = {i: {"pending": 0, "hours": 0.0, "n": 0, "avg_hours": None} for i in ids}
    if not ids:
        return out
    for to_id, n in db.session.execute(select(Handover.to_agency_id, func.count(Handover.id))
                                       .where(Handover.to_agency_id.in_(ids), Handover.status == HandoverStatus.PENDING)
                                       .group_by(Handover.to_agency_id)).all():
        out[to_id]["pending"] = n
    for to_id, routed_at, signed_at, returned_at in db.session.execute(
            select(Handover.to_agency_id, Handover.routed_at, Handover.signed_at, Handover.returned_at)
            .where(Handover.to_agency_id.in_(ids), Handover.status != HandoverStatus.PENDING)).all():
        st = out[to_id]
        st["hours"] += ((signed_at or returned_at) - routed_at).total_seconds() / 3600
        st["n"] += 1
    for st in out.values():
        st["avg_hours"] = round(st["hours"] / st["n"], 1) if st["n"] else None
    return out
