"""The daily sweep: selecting the cases with a deadline near or passed, automatic lapses, writing the
reminders."""

from __future__ import annotations

import gc
import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Date, Integer, bindparam, cast, literal, null, select, union_all

from webapp.cases.services import record_event
from webapp.cases.services.calendar import current_calendar
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, Status
from webapp.domain.workflow import Event, EventType
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, Notification, OutboxMail, User

from ..outbox.queue import utc_naive
from . import writing
from .kinds import (
    _ANSWER_KIND,
    _KIND_RANK,
    _PASSED_KINDS,
    ANSWER_THRESHOLDS,
    AUTO_LAPSE_ACTOR,
    CORRECTION_NOTICE_WARNING,
    DIGEST,
    Item,
    SweepResult,
)
from .people import _people, _recipients
from .writing import _NOTIFICATION_COLUMNS, Mail, _insert_new, insert_mails

log = logging.getLogger("webapp.notify.reminders")


# --- selecting -------------------------------------------------------------------------------------

def _last_workday_on_or_before(cal: WorkCalendar, d: date) -> date:
    while not cal.is_workday(d):
        d -= timedelta(days=1)
    return d


def lapse_cutoff(cal: WorkCalendar, today: date) -> date:
    """The latest reply_by (or payment deadline) whose lapse is proposed today: the lapse is proposed
    from the working day after the period ends (rules.md §4)."""
    return _last_workday_on_or_before(cal, today) - timedelta(days=1)


#: the other sources of the sweep's selection (``_selection(..., others=True)``)
REVIEW, HANDOVER = 6, 7


def _selection(today: date, cal: WorkCalendar, agency_ids: Sequence[int] | None, others: bool = False):
    """The selection statement (``_selection_statement``, built once per shape) and its parameters."""
    params = {"today": today, "horizon": cal.add_workdays(today, max(ANSWER_THRESHOLDS)),
              "notice_horizon": cal.add_workdays(today, CORRECTION_NOTICE_WARNING), "cutoff": lapse_cutoff(cal, today)}
    if agency_ids is not None:
        params["agency_ids"] = list(agency_ids)
    if others:
        from webapp.review.notify import DUE_WITHIN

        params["review_horizon"] = cal.add_workdays(today, DUE_WITHIN)
    return _selection_statement(agency_ids is not None, others, others and cal.is_workday(today)), params


@lru_cache(maxsize=8)
def _selection_statement(filtered: bool, others: bool, handovers: bool):
    """One statement: a UNION ALL of six ranges, each on an indexed deadline column (so a sweep costs
    what is due, not what is open) and, with ``others``, the reminders' other sources (pending review
    steps, routed cases not signed for - on working days, ``handovers``: REVIEW and HANDOVER, each
    defined in its own package). Columns: source, case id, agency, number, assignee, applicant's name,
    deadline, ref (the draft or handover of the other sources, else null); sources numbered in the
    order of ``ranges``. The dates are parameters (``_selection`` gives them), as are the agencies
    when ``filtered``."""
    today, horizon, notice_horizon, cutoff = (bindparam(name, type_=Date)
                                              for name in ("today", "horizon", "notice_horizon", "cutoff"))
    agency_ids = bindparam("agency_ids", expanding=True) if filtered else None
    ranges = (
        # Art. 33: the coming 5 working days and the overdue answers together.
        (Case.due_on, (Case.status.in_(CLOCK_RUNS_IN), Case.due_on <= horizon)),
        # Art. 30: the correction notice is due within 7 working days of receipt.
        (Case.correction_notice_due_on, (Case.status == Status.REGISTERED.value,
                                         Case.correction_notice_due_on >= today,
                                         Case.correction_notice_due_on <= notice_horizon)),
        # Arts. 32, 34: the last consultation letter's reply is due.
        (Case.consultation_due_on, (Case.status == Status.CONSULTING.value, Case.consultation_due_on <= today)),
        # Lapses, from the working day after the period ended.
        (Case.correction_reply_by, (Case.status == Status.AWAITING_CORRECTION.value,
                                    Case.correction_reply_by <= cutoff)),
        (Case.fee_due_on, (Case.status == Status.AWAITING_FEE.value, Case.fee_due_on <= cutoff)),
        # Art. 33 still: paused (a fee, a consultation) after the period had run out - an answer
        # today would be late (the one overdue rule, cases/services/clock.overdue_clause)
        (Case.paused_due_on, (Case.paused_due_on < today,)),
    )
    no_ref = cast(null(), Integer).label("ref")
    parts = []
    for n, (column, where) in enumerate(ranges):
        q = (select(literal(n, Integer).label("source"), Case.id, Case.agency_id, Case.number, Case.assigned_to_id,
                    Applicant.name, column.label("deadline"), no_ref)
             .join(Applicant, Applicant.id == Case.applicant_id).where(*where))
        if agency_ids is not None:
            q = q.where(Case.agency_id.in_(agency_ids))
        parts.append(q)
    if others:
        from webapp.handovers.services import reminder_branch
        from webapp.review.notify import review_branch

        parts.append(review_branch(literal(REVIEW, Integer).label("source"), today,
                                   bindparam("review_horizon", type_=Date), agency_ids))
        if handovers:          # 签收 is reminded on working days
            parts.append(reminder_branch(literal(HANDOVER, Integer).label("source"), agency_ids))
    return union_all(*parts)


def _items(rows, today: date, cal: WorkCalendar) -> list[Item]:
    """The Items of the selection's case rows (sources 0-5), in collect()'s order."""
    workday = cal.is_workday(today)
    between = cal.workdays_between
    items: list[Item] = []
    add = items.append
    for source, case_id, agency_id, number, assigned, name, due, _ref in rows:
        row = (case_id, agency_id, number, name or "", assigned)
        if source == 0:                       # the answer
            if due < today:
                if workday:                   # daily while overdue, on working days
                    add(Item("answer_overdue", *row, due, -between(due, today), today))
                continue
            if due == today:
                add(Item("answer_due_today", *row, due, 0, today))
                continue
            left = between(today, due)
            add(Item(_ANSWER_KIND[left], *row, due, left, today))
        elif source == 1:
            add(Item("correction_notice_due", *row, due, between(today, due), today))
        elif source == 2:
            # The last reply is due (today) or timed out: the pause has ended by law (rules.md §4);
            # daily, on working days, until the clerk records the end and the clock shows again.
            if due == today or workday:
                add(Item("consultation_due", *row, due, -between(due, today), today))
        elif source == 5:
            if workday:                       # overdue while paused: daily, on working days
                add(Item("answer_overdue", *row, due, -between(due, today), today))
        else:
            add(Item(_PASSED_KINDS[source], *row, due, -between(due, today), today))
    items.sort(key=lambda i: (_KIND_RANK[i.kind], i.case_id))
    return items


def collect(today: date, cal: WorkCalendar | None = None, agency_ids: Sequence[int] | None = None) -> list[Item]:
    """Everything needing attention as of ``today``, from the clock columns alone (no side effects).
    Lapses appear as proposals here; ``sweep`` records them where the agency's policy says so."""
    cal = cal or current_calendar()
    return _items(db.session.execute(*_selection(today, cal, agency_ids)).all(), today, cal)


def _auto_lapse_agencies(agency_ids: Iterable[int]) -> set[int]:
    ids = set(agency_ids)
    if not ids:
        return set()
    out = set()
    for aid, code, stored in db.session.execute(select(Agency.id, Agency.code, Agency.policies)
                                                .where(Agency.id.in_(ids))):
        try:
            if Agency.policy_of(stored).auto_lapse:
                out.add(aid)
        except ValueError:
            log.warning("agency %s has invalid policies; lapses stay proposals", code)
    return out


def _record_lapse(item: Item, today: date) -> str:
    """Record the lapse through the service layer: "lapsed"; "moved_on" when the case is no longer
    waiting on that deadline (say, a concurrent sweep recorded it); "refused" when the rules say no
    (it stays a proposal). The row lock keeps two sweeps from recording it twice."""
    case = db.session.execute(select(Case).where(Case.id == item.case_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if case is None:
        return "moved_on"
    if item.kind == "correction_lapse_proposal":
        etype, still = EventType.CORRECTION_LAPSED, (case.status == Status.AWAITING_CORRECTION.value
                                                     and case.correction_reply_by == item.deadline)
    else:
        etype, still = EventType.FEE_LAPSED, (case.status == Status.AWAITING_FEE.value
                                              and case.fee_due_on == item.deadline)
    if not still:
        return "moved_on"
    try:
        record_event(case, Event(type=etype, on=today), None, today=today, actor_name=AUTO_LAPSE_ACTOR,
                     note="逾期自动结案（本机关政策 auto_lapse）")
    except ServiceError as e:
        log.warning("auto lapse of %s refused: %s", case.number, e)
        return "refused"
    return "lapsed"


# --- the sweep -------------------------------------------------------------------------------------

def sweep_key(today: date, now: datetime | None = None) -> str:
    return f"{today.strftime('%Y%m%d')}.{utc_naive(now).strftime('%H%M%S')}.{secrets.token_hex(3)}"


@contextmanager
def _collector_paused():
    """The cyclic garbage collector paused while a sweep builds its rows: they are thousands of
    short-lived tuples and strings freed by reference counting, and each collection pass the
    allocations trigger scans them again (about 2-4 ms of a 40 ms first sweep; a full pass over the
    process's heap, every twentieth sweep or so, 10-20 ms). Objects left over are collected after. The
    pause is the whole process's (with the embedded worker, its web threads' too) for one sweep's time."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def sweep(today: date, now: datetime | None = None, agency_ids: Sequence[int] | None = None) -> SweepResult:
    """Notify everyone of what became due as of ``today``; see the module docstring. Flushes; the
    caller commits and then enqueues delivery (``outbox.enqueue_delivery``)."""
    with _collector_paused():
        return _sweep(today, now, agency_ids)


def _sweep(today: date, now: datetime | None, agency_ids: Sequence[int] | None) -> SweepResult:
    cal = current_calendar()
    result = SweepResult(today=today, key=sweep_key(today, now))
    # one statement selects the case deadlines and the other sources (review steps, 签收) alike
    rows = db.session.execute(*_selection(today, cal, agency_ids, others=True)).all()
    other_rows: dict[int, list] = {REVIEW: [], HANDOVER: []}
    for row in rows:
        if row[0] in other_rows:
            other_rows[row[0]].append(row)
    items = _items([r for r in rows if r[0] not in other_rows] if any(other_rows.values()) else rows, today, cal)

    auto = _auto_lapse_agencies(i.agency_id for i in items if i.kind.endswith("_lapse_proposal"))
    if auto:
        kept, lapsed = [], set()
        for item in items:
            if item.kind.endswith("_lapse_proposal") and item.agency_id in auto:
                outcome = _record_lapse(item, today)
                if outcome == "moved_on":
                    continue   # e.g. a concurrent sweep recorded the lapse a moment ago
                if outcome == "lapsed":
                    kind = "correction_lapsed" if item.kind.startswith("correction") else "fee_lapsed"
                    item = Item(kind, item.case_id, item.agency_id, item.case_number, item.applicant,
                                item.assigned_to_id, item.deadline, item.days_left, item.on)
                    result.lapsed.append(item.case_number)
                    lapsed.add(item.case_id)
            kept.append(item)
        items = kept
        # a case lapsed just now has ended: no review or 签收 reminder of it (as if selected after)
        for rs in other_rows.values():
            rs[:] = [r for r in rs if r[1] not in lapsed]
    result.items = len(items)

    # Keys first; notes only for the reminders that do not exist yet (most exist, during the day).
    # The people of every agency concerned in one statement, the other sources' agencies included
    # (their readers: the review step's, the approvers, the receiving office's clerks).
    stored_quiet: dict[int, object] = {}      # the readers' agencies' quiet hours, read with them
    pairs, people = _recipients(items, also={r[2] for rs in other_rows.values() for r in rs}, quiet=stored_quiet)
    if other_rows[REVIEW] or other_rows[HANDOVER]:
        from webapp.handovers.services import reminder_items
        from webapp.review.notify import review_items

        loaded = {i.agency_id for i in items} | {r[2] for rs in other_rows.values() for r in rs}
        for source, more in ((review_items, other_rows[REVIEW]), (reminder_items, other_rows[HANDOVER])):
            if more:
                pairs += source(today, cal, agency_ids, rows=more, people=people, loaded=loaded)[0]
        missing = {uid for _item, uids in pairs for uid in uids} - people.keys()
        if missing:          # a step's reviewer of another agency
            people.update(_people(User.id.in_(missing), stored_quiet))
    wanted: dict[str, tuple[Item, int]] = {}
    for item, uids in pairs:
        prefix = item.key_prefix()
        for uid in uids:
            wanted[prefix + str(uid)] = (item, uid)
    fresh = sorted(writing.new_keys(list(wanted)))   # looked up at call time: a test replaces it
    if not fresh:
        return result

    # The outbox pattern, in one transaction: each recipient's digest goes in first - as what it is
    # (composed at delivery from the reminders pointing at it, see compose_digest) - then the
    # reminders pointing at it. A reminder that a concurrent sweep wrote first (it waited for that
    # sweep's commit, then got nothing back) belongs to that sweep's digest; a digest left with none
    # is removed.
    recipients = sorted({wanted[key][1] for key in fresh})
    day = today.isoformat()
    from webapp.sms.staff import after_sweep, prefs_of  # SMS and quiet hours (webapp/sms/staff.py)

    prefs = prefs_of((uid, people[uid].notify_via, people[uid].mobile) for uid in recipients if uid in people)
    mail_keys = {uid: f"digest:{uid}:{result.key}" for uid in recipients
                 if uid in people and (people[uid].email or "").strip() and prefs.get(uid, (True, ""))[0]}
    reserved = insert_mails([Mail(key, people[uid].email.strip(), "", "", DIGEST,
                                  json.dumps({"user_id": uid, "today": day}, separators=(",", ":")),
                                  people[uid].agency_id)
                             for uid, key in mail_keys.items()], now)
    mail_of = {uid: reserved[key] for uid, key in mail_keys.items() if key in reserved}
    created_at = utc_naive(now)
    texts: dict[int, tuple[str, str, str]] = {}
    rows = []
    for key in fresh:      # as insert_notifications would, without the Notes
        item, uid = wanted[key]
        text_ = texts.get(id(item))
        if text_ is None:
            text_ = texts[id(item)] = (f"{item.title}：{item.case_number}"[:300], item.body(), item.link)
        rows.append((key, item.agency_id, item.case_id, item.kind, item.deadline, item.days_left, uid, *text_,
                     mail_of.get(uid)))
    created = _insert_new(Notification.__table__, _NOTIFICATION_COLUMNS, rows, {"created_at": created_at})
    result.notifications = len(created)

    got: set[int] = set()
    by_user: dict[int, list[Item]] = {}
    for _nid, key in created:
        item, uid = wanted[key]
        got.add(uid)
        by_user.setdefault(uid, []).append(item)
        result.by_kind[item.kind] = result.by_kind.get(item.kind, 0) + 1
    empty = [mid for uid, mid in mail_of.items() if uid not in got]
    if empty:
        db.session.execute(OutboxMail.__table__.delete().where(OutboxMail.__table__.c.id.in_(empty)))
    result.mail_ids = sorted(mid for uid, mid in mail_of.items() if uid in got)
    result.sms_ids = after_sweep(result.key, by_user, {u: p.agency_id for u, p in people.items()},
                                 {u: m for u, m in mail_of.items() if u in got}, prefs,
                                 {u: p.display_name for u, p in people.items()}, now, stored_quiet)
    result.mails = len(result.mail_ids)
    db.session.flush()
    return result
