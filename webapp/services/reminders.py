"""Deadline reminders (issue 4): what needs attention as of a day, read from the clock.

``sweep(today)`` (every 15 minutes, and on demand) selects, for every agency at once, the cases whose
derived deadline columns (services/cases.py keeps them true) fall in a window around ``today``:

==========================  =================================================  =====================
kind                        selected when                                      to
==========================  =================================================  =====================
answer_due_5 / _3 / _1      due_on within 5 / 3 / 1 working days               clerk
answer_due_today            due_on == today                                    clerk + approvers
answer_overdue              due_on < today, every working day while overdue    clerk + approvers
correction_notice_due       the 7-working-day notice window (Art. 30) ends     clerk
                            within 2 working days
consultation_due            the last consultation reply is due (Arts. 32, 34); clerk
                            daily on working days while not recorded as ended
correction_lapse_proposal   reply_by passed (from the working day after it)    clerk
fee_lapse_proposal          the payment period passed (likewise)               clerk
correction_lapsed / fee_    the same, where the agency's policy ``auto_lapse``  clerk
lapsed                      is on: the lapse is recorded through record_event
==========================  =================================================  =====================

"Clerk" is the assigned user; a case nobody is assigned to goes to the agency's approvers. Every
query is a range on an indexed deadline column, so a sweep costs what is due, not what is open.

**Exactly once.** Each reminder is a Notification row whose unique ``dedupe_key`` is (kind, case,
the deadline it refers to, recipient) - and the day, for the daily overdue reminder. Rows are
inserted with INSERT ... ON CONFLICT DO NOTHING RETURNING, so only the rows this sweep created come
back: a re-run, a second beat, a retried or killed task never repeats one; a deadline that moved
(extension, pause, recomputed calendar) is a new key and re-arms its reminders. Nothing stores
"reminded": the clock alone decides. Each recipient gets at most one digest mail per sweep listing
all their new reminders, written to the outbox in the same transaction (callers commit, then
enqueue delivery). The digest row says what it is (``compose = "reminder_digest"``, the reader and
the day); its text is composed from the reminders pointing at it when it is delivered
(``compose_digest``), so the sweep - every 15 minutes - only decides and writes rows.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, literal, select, text, union_all, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN, Status
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, Notification, OutboxMail, ReportVersion, User

from .calendar import current_calendar
from .cases import record_event
from .errors import ServiceError
from .outbox import base_url, mail_renderer, utc_naive

log = logging.getLogger(__name__)

ANSWER_THRESHOLDS = (1, 3, 5)        # working days left (issue 4)
CORRECTION_NOTICE_WARNING = 2        # working days before the Art. 30 notice window ends
CASE_LINK = "/cases/{id}"
DIGEST = "reminder_digest"          # the mail kind composed at delivery (compose_digest)
AUTO_LAPSE_ACTOR = "系统（逾期自动结案）"

#: kind -> (order in a digest, to the approvers too, action text)
_ANSWER_IN_TIME = "请在期限内作出答复；确需延期的，须在期限届满前报负责人批准（第三十三条）。"
KINDS: dict[str, tuple[int, bool, str]] = {
    "answer_overdue": (0, True, "已超过法定答复期限，请尽快作出答复；逾期作出的答复将记为超期。"),
    "answer_due_today": (1, True, "今日为答复期限最后一天，请于今日作出答复（第三十三条）。"),
    "correction_lapse_proposal": (2, False, "申请人无正当理由逾期未补正，视为放弃申请。"
                                            "请核实后确认“逾期未补正”结案（第三十条）。"),
    "fee_lapse_proposal": (2, False, "申请人逾期未缴纳信息处理费。请核实后确认“逾期未缴费”结案。"),
    "answer_due_1": (3, False, _ANSWER_IN_TIME),
    "consultation_due": (4, False, "征求意见答复期限已届满：第三方逾期未提出意见的，由本机关依法决定是否公开；"
                                   "其他机关逾期未提出意见的，视为同意（第三十二条、第三十四条）。"
                                   "征求意见期间依法至此结束，答复期限恢复计算；请记录“结束征求意见”。"),
    "correction_notice_due": (5, False, "申请内容不明确需要补正的，请在期限内一次性告知申请人（第三十条）。"),
    "answer_due_3": (6, False, _ANSWER_IN_TIME),
    "answer_due_5": (7, False, _ANSWER_IN_TIME),
    "correction_lapsed": (8, False, "本机关设置为逾期自动结案：系统已记录“逾期未补正”并结案，"
                                    "如有误请联系负责人更正。"),
    "fee_lapsed": (8, False, "本机关设置为逾期自动结案：系统已记录“逾期未缴费”并结案，"
                             "如有误请联系负责人更正。"),
    # review and sign-off (webapp/review/notify.py, docs/review.md)
    "review_overdue": (0, True, "答复已逾期，拟办稿仍在审批中，请尽快审核、签发。"),
    "review_due": (3, False, "拟办稿待您审核或签发，法定答复期限不因审批而停止计算。"),
    # 签收 (services/handovers.py, docs/applicant-side.md)
    "handover_unsigned": (1, False, "转办来的案件尚未签收，法定答复期限不因转办、签收而停止计算；"
                                    "请尽快签收，或注明理由退回转办机关。"),
}


@dataclass(frozen=True, slots=True)
class Item:
    """One case needing attention for one reason, as of ``today``."""

    kind: str
    case_id: int
    agency_id: int
    case_number: str
    applicant: str
    assigned_to_id: int | None
    deadline: date
    days_left: int           # working days from today to the deadline; negative once it has passed
    on: date                 # the sweep's day (part of the key of the daily overdue reminder)

    @property
    def order(self) -> int:
        return KINDS[self.kind][0]

    @property
    def to_approvers(self) -> bool:
        return KINDS[self.kind][1]

    @property
    def action(self) -> str:
        return KINDS[self.kind][2]

    @property
    def days_text(self) -> str:
        n = self.days_left
        if n > 0:
            return f"还剩{n}个工作日"
        if n == 0:
            return "今日届满"
        return f"已逾期{-n}个工作日" if self.kind == "answer_overdue" else f"已届满{-n}个工作日"

    @property
    def title(self) -> str:
        n = self.days_left
        return {
            "answer_overdue": f"答复已逾期{-n}个工作日",
            "answer_due_today": "答复期限今日届满",
            "answer_due_1": f"答复期限还剩{n}个工作日",
            "answer_due_3": f"答复期限还剩{n}个工作日",
            "answer_due_5": f"答复期限还剩{n}个工作日",
            "correction_notice_due": "补正告知期限今日届满" if n == 0 else f"补正告知期限还剩{n}个工作日",
            "consultation_due": "征求意见答复期限今日届满" if n == 0 else "征求意见答复期限已届满",
            "correction_lapse_proposal": "申请人逾期未补正，待确认结案",
            "fee_lapse_proposal": "申请人逾期未缴费，待确认结案",
            "correction_lapsed": "逾期未补正，已自动结案",
            "fee_lapsed": "逾期未缴费，已自动结案",
            "review_overdue": f"答复已逾期{-n}个工作日，拟办稿待签发",
            "review_due": "拟办稿待审批，答复期限今日届满" if n == 0 else f"拟办稿待审批，答复期限还剩{n}个工作日",
            "handover_unsigned": "转办案件待签收",
        }[self.kind]

    @property
    def link(self) -> str:
        if self.kind == "handover_unsigned":   # not the receiver's case before 签收: the list to sign
            return "/handovers/"
        return CASE_LINK.format(id=self.case_id)

    def key(self, recipient_id: int) -> str:
        """The notification's identity: a moved deadline is a new key; overdue repeats daily."""
        return self.key_prefix() + str(recipient_id)

    def key_prefix(self) -> str:
        day = f":{self.on.isoformat()}" if self.kind in _DAILY else ""
        return f"{self.kind}:{self.case_id}:{self.deadline.isoformat()}{day}:"

    def body(self) -> str:
        return (f"{self.case_number}　申请人：{self.applicant}　期限：{self.deadline.isoformat()}"
                f"（{self.days_text}）。{self.action}")

    def for_mail(self, base: str) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "case_number": self.case_number,
                "applicant": self.applicant, "deadline": self.deadline.isoformat(),
                "days_left": self.days_left, "days_text": self.days_text, "action": self.action,
                "url": base + self.link}


#: kinds repeated every working day while the matter stands (the day is part of their key)
_DAILY = frozenset({"answer_overdue", "consultation_due", "handover_unsigned"})
#: collect()'s order: the answer's kinds, then the other sources; by case within a kind
_KIND_RANK = {"answer_overdue": 0, "answer_due_today": 0, "answer_due_1": 0, "answer_due_3": 0, "answer_due_5": 0,
              "correction_notice_due": 1, "consultation_due": 2, "correction_lapse_proposal": 3,
              "fee_lapse_proposal": 4}
#: working days left (0..5) -> the threshold's kind: 0-1 -> answer_due_1, 2-3 -> answer_due_3, 4-5 ->
#: answer_due_5 (0 with a deadline after today: a deadline on a day off, e.g. before a recompute)
_ANSWER_KIND = {left: f"answer_due_{min(t for t in ANSWER_THRESHOLDS if left <= t)}"
                for left in range(0, max(ANSWER_THRESHOLDS) + 1)}
#: the sources of _selection whose deadline has passed (or is today) -> kind
_PASSED_KINDS = {2: "consultation_due", 3: "correction_lapse_proposal", 4: "fee_lapse_proposal"}


@dataclass
class SweepResult:
    today: date
    key: str
    items: int = 0                   # (case, reason) pairs found
    notifications: int = 0           # new notification rows
    mails: int = 0                   # new digest mails in the outbox
    by_kind: dict[str, int] = field(default_factory=dict)
    lapsed: list[str] = field(default_factory=list)   # case numbers lapsed automatically
    mail_ids: list[int] = field(default_factory=list)
    sms_ids: list[int] = field(default_factory=list)   # staff who chose SMS (webapp/sms/staff.py)

    def as_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "key": self.key, "items": self.items,
                "notifications": self.notifications, "mails": self.mails, "by_kind": dict(self.by_kind),
                "lapsed": list(self.lapsed)}


# --- selecting -------------------------------------------------------------------------------------

def _last_workday_on_or_before(cal: WorkCalendar, d: date) -> date:
    while not cal.is_workday(d):
        d -= timedelta(days=1)
    return d


def lapse_cutoff(cal: WorkCalendar, today: date) -> date:
    """The latest reply_by (or payment deadline) whose lapse is proposed today: the lapse is proposed
    from the working day after the period ends (rules.md §4)."""
    return _last_workday_on_or_before(cal, today) - timedelta(days=1)


def _selection(today: date, cal: WorkCalendar, agency_ids: Sequence[int] | None):
    """One statement: a UNION ALL of five ranges, each on an indexed deadline column (so a sweep costs
    what is due, not what is open). Columns: source, case id, agency, number, assignee, applicant's
    name, deadline; sources in the order of ``_SOURCES``."""
    horizon = cal.add_workdays(today, max(ANSWER_THRESHOLDS))
    notice_horizon = cal.add_workdays(today, CORRECTION_NOTICE_WARNING)
    cutoff = lapse_cutoff(cal, today)
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
    )
    parts = []
    for n, (column, where) in enumerate(ranges):
        q = (select(literal(n, Integer).label("source"), Case.id, Case.agency_id, Case.number, Case.assigned_to_id,
                    Applicant.name, column.label("deadline"))
             .join(Applicant, Applicant.id == Case.applicant_id).where(*where))
        if agency_ids is not None:
            q = q.where(Case.agency_id.in_(list(agency_ids)))
        parts.append(q)
    return union_all(*parts)


def collect(today: date, cal: WorkCalendar | None = None, agency_ids: Sequence[int] | None = None) -> list[Item]:
    """Everything needing attention as of ``today``, from the clock columns alone (no side effects).
    Lapses appear as proposals here; ``sweep`` records them where the agency's policy says so."""
    cal = cal or current_calendar()
    workday = cal.is_workday(today)
    between = cal.workdays_between
    items: list[Item] = []
    add = items.append
    for source, case_id, agency_id, number, assigned, name, due in db.session.execute(
            _selection(today, cal, agency_ids)).all():
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
        else:
            add(Item(_PASSED_KINDS[source], *row, due, -between(due, today), today))
    items.sort(key=lambda i: (_KIND_RANK[i.kind], i.case_id))
    return items


def _auto_lapse_agencies(agency_ids: Iterable[int]) -> set[int]:
    ids = set(agency_ids)
    if not ids:
        return set()
    out = set()
    for agency in db.session.scalars(select(Agency).where(Agency.id.in_(ids))):
        try:
            if agency.policy().auto_lapse:
                out.add(agency.id)
        except ValueError:
            log.warning("agency %s has invalid policies; lapses stay proposals", agency.code)
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


# --- recipients ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Person:
    """What the reminders need of a user (a light row, not the ORM object)."""

    id: int
    agency_id: int | None
    role: str
    active: bool
    email: str
    display_name: str
    username: str


def _people(where) -> dict[int, Person]:
    return {r[0]: Person(*r) for r in db.session.execute(
        select(User.id, User.agency_id, User.role, User.active, User.email, User.display_name, User.username)
        .where(where).order_by(User.id)).all()}


def _recipients(items: Sequence[Item]) -> tuple[list[tuple[Item, list[int]]], dict[int, Person]]:
    """The assigned clerk (if active); the agency's active approvers for overdue and due-today, and
    for any case nobody is assigned to. Also returns everyone named, for the mails (one query)."""
    agency_ids = {i.agency_id for i in items}
    assigned = {i.assigned_to_id for i in items if i.assigned_to_id is not None}
    if not items:
        return [], {}
    # Everyone of the agencies concerned (a few dozen people each, one short statement), and any
    # assignee from elsewhere.
    people = _people(User.agency_id.in_(agency_ids))
    others = assigned - people.keys()
    if others:
        people.update(_people(User.id.in_(others)))
    approvers: dict[int, list[int]] = defaultdict(list)
    for p in people.values():        # by id (the query's order)
        if p.role == "approver" and p.active and p.agency_id in agency_ids:
            approvers[p.agency_id].append(p.id)
    out: list[tuple[Item, list[int]]] = []
    for item in items:
        uids: list[int] = []
        clerk = item.assigned_to_id
        if clerk is not None and not (clerk in people and people[clerk].active):
            clerk = None
        if clerk is not None:
            uids.append(clerk)
        if item.to_approvers or clerk is None:
            uids.extend(u for u in approvers.get(item.agency_id, ()) if u != clerk)
        out.append((item, uids))
    return out, people


# --- writing notifications and mails (shared with holiday_watch and the report reminder) -------------

@dataclass(frozen=True, slots=True)
class Note:
    key: str
    kind: str
    recipient_id: int
    title: str
    body: str = ""
    link: str = ""
    agency_id: int | None = None
    case_id: int | None = None
    ref_date: date | None = None
    days_left: int | None = None


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def new_keys(keys: Sequence[str]) -> set[str]:
    """The keys among ``keys`` that have no notification yet (index probes on the unique key; during
    the day almost all exist, so PostgreSQL returns only the few new ones)."""
    if not keys:
        return set()
    out: set[str] = set()
    if db.session.get_bind().dialect.name == "postgresql":
        # One text parameter split server-side: cheaper to send than a text[] of thousands of keys.
        # (Keys never contain a newline: kinds, ids and ISO dates.)
        for chunk in _chunks(list(keys), 20000):
            out.update(db.session.execute(
                text("SELECT k FROM unnest(string_to_array(:keys, E'\\n')) AS k WHERE NOT EXISTS "
                     "(SELECT 1 FROM notification n WHERE n.dedupe_key = k)"),
                {"keys": "\n".join(chunk)}).scalars())
        return out
    for chunk in _chunks(list(keys), 500):
        have = set(db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(chunk))))
        out.update(k for k in chunk if k not in have)
    return out


_NOTIFICATION_COLUMNS = (("dedupe_key", "varchar"), ("agency_id", "integer"), ("case_id", "integer"),
                         ("kind", "varchar"), ("ref_date", "date"), ("days_left", "integer"),
                         ("recipient_id", "integer"), ("title", "varchar"), ("body", "text"), ("link", "varchar"),
                         ("created_at", "timestamp"), ("outbox_id", "integer"))
_MAIL_COLUMNS = (("dedupe_key", "varchar"), ("to_addr", "varchar"), ("subject", "varchar"), ("body", "text"),
                 ("attachment_ids", "varchar"), ("status", "varchar"), ("attempts", "integer"),
                 ("last_error", "text"), ("created_at", "timestamp"), ("compose", "varchar"),
                 ("compose_args", "text"), ("agency_id", "integer"))


def _iso(v: Any) -> str:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def _insert_new(table, columns: tuple[tuple[str, str], ...], rows: list[tuple],
                same: dict[str, Any] | None = None) -> list[tuple[int, str]]:
    """INSERT rows ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key: the rows written
    now, in key order (two concurrent writers lock in the same order). ``rows`` are tuples in
    ``columns`` order, the dedupe key first, without the columns in ``same`` (one value for every
    row, e.g. the time). PostgreSQL gets one statement reading the rows from one JSON parameter (an
    array of arrays: cheap to build, send and parse, whatever the count); SQLite a multi-row insert."""
    if not rows:
        return []
    same = same or {}
    rows = sorted(rows, key=lambda r: r[0])
    varying = [(c, t) for c, t in columns if c not in same]
    names = [c for c, _ in varying]
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        # Columns not given that have a Python-side default (the ORM would fill them in): as constants.
        given = {c for c, _ in columns}
        defaults = [(col.name, col.type.compile(dialect=dialect)) for col in table.columns
                    if col.name not in given and col.default is not None and col.default.is_scalar]
        columns = tuple(columns) + tuple(defaults)
        same = {**same, **{c: table.c[c].default.arg for c, _ in defaults}}
        position = {c: i for i, c in enumerate(names)}
        cols = ", ".join(f'"{c}"' for c, _ in columns)
        values = ", ".join(f"CAST(:same_{c} AS {t})" if c in same else f"CAST(v.e->>{position[c]} AS {t})"
                           for c, t in columns)
        sql = text(f'INSERT INTO "{table.name}" ({cols}) SELECT {values} FROM '
                   f"jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS v(e, n) ORDER BY v.n "
                   f"ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key")
        params = {f"same_{c}": v for c, v in same.items()}
        out: list[tuple[int, str]] = []
        for chunk in _chunks(rows, 20000):
            payload = json.dumps(chunk, ensure_ascii=False, separators=(",", ":"), default=_iso)
            out.extend(tuple(r) for r in db.session.execute(sql, {**params, "rows": payload}).all())
        return out
    stmt = (sqlite_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.id, table.c.dedupe_key))
    out = []
    for chunk in _chunks(rows, 500):
        out.extend(tuple(r) for r in db.session.execute(
            stmt, [{**dict(zip(names, r, strict=True)), **same} for r in chunk]).all())
    return out


def insert_notifications(notes: Sequence[Note], now: datetime | None = None, probed: bool = False,
                         outbox_ids: dict[str, int] | None = None) -> list[tuple[int, Note]]:
    """Insert the notes that do not exist yet; return (id, note) for the rows *this call* created.

    Keys already present are skipped by a cheap probe first (``probed``: the caller did it); the insert is
    ON CONFLICT DO NOTHING, so a concurrent sweep inserting the same key at the same moment (it waits
    for ours to commit) gets nothing back for it. ``outbox_ids``: key -> the mail that will carry it.
    """
    if not notes:
        return []
    fresh = {n.key for n in notes} if probed else new_keys([n.key for n in notes])
    by_key: dict[str, Note] = {}
    for n in notes:
        if n.key in fresh:
            by_key.setdefault(n.key, n)
    if not by_key:
        return []
    created = utc_naive(now)
    outbox_ids = outbox_ids or {}
    rows = [(n.key, n.agency_id, n.case_id, n.kind, n.ref_date, n.days_left, n.recipient_id, n.title[:300], n.body,
             n.link[:300], outbox_ids.get(n.key)) for n in by_key.values()]
    return [(nid, by_key[key]) for nid, key in _insert_new(Notification.__table__, _NOTIFICATION_COLUMNS, rows,
                                                           {"created_at": created})]


@dataclass(frozen=True, slots=True)
class Mail:
    key: str
    to_addr: str
    subject: str
    body: str
    compose: str | None = None      # composed at delivery (OutboxMail.compose)
    compose_args: str = ""
    agency_id: int | None = None    # whose administrators see it in the outbox (the reader's agency)


def insert_mails(mails: Sequence[Mail], now: datetime | None = None) -> dict[str, int]:
    """Write mails to the outbox unless their key exists; return key -> id of those written now."""
    created = utc_naive(now)
    rows = [(m.key, m.to_addr, m.subject[:300], m.body, m.compose, m.compose_args, m.agency_id) for m in mails]
    same = {"attachment_ids": "", "status": "pending", "attempts": 0, "last_error": "", "created_at": created}
    return {key: mid for mid, key in _insert_new(OutboxMail.__table__, _MAIL_COLUMNS, rows, same)}


def link_mails(links: dict[int, Sequence[int]]) -> None:
    """Point notifications at the mail that carries them: {mail id: [notification ids]}."""
    table = Notification.__table__
    params = [{"nid": nid, "mid": mid} for mid, nids in links.items() for nid in nids]
    if params:
        db.session.execute(update(table).where(table.c.id == bindparam("nid")).values(outbox_id=bindparam("mid")),
                           params)


def user_context(user: User | Person) -> dict[str, Any]:
    """What a template may know about its reader (never the ORM object: the sandbox would see it all)."""
    return {"id": user.id, "display_name": user.display_name, "username": user.username}


def _users(ids: Iterable[int]) -> dict[int, Person]:
    ids = set(ids)
    return _people(User.id.in_(ids)) if ids else {}


# --- the sweep -------------------------------------------------------------------------------------

def sweep_key(today: date, now: datetime | None = None) -> str:
    return f"{today.strftime('%Y%m%d')}.{utc_naive(now).strftime('%H%M%S')}.{secrets.token_hex(3)}"


def sweep(today: date, now: datetime | None = None, agency_ids: Sequence[int] | None = None) -> SweepResult:
    """Notify everyone of what became due as of ``today``; see the module docstring. Flushes; the
    caller commits and then enqueues delivery (``outbox.enqueue_delivery``)."""
    cal = current_calendar()
    result = SweepResult(today=today, key=sweep_key(today, now))
    items = collect(today, cal, agency_ids)

    auto = _auto_lapse_agencies(i.agency_id for i in items if i.kind.endswith("_lapse_proposal"))
    if auto:
        kept = []
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
            kept.append(item)
        items = kept
    result.items = len(items)

    # Keys first; notes only for the reminders that do not exist yet (most exist, during the day).
    pairs, people = _recipients(items)
    from webapp.review.notify import review_items  # pending review steps (docs/review.md)

    review_pairs, review_people = review_items(today, cal, agency_ids)
    pairs += review_pairs
    people.update(review_people)
    from .handovers import reminder_items  # routed cases not signed for (签收), daily

    handover_pairs, handover_people = reminder_items(today, cal, agency_ids)
    pairs += handover_pairs
    people.update(handover_people)
    wanted: dict[str, tuple[Item, int]] = {}
    for item, uids in pairs:
        prefix = item.key_prefix()
        for uid in uids:
            wanted[prefix + str(uid)] = (item, uid)
    fresh = sorted(new_keys(list(wanted)))
    if not fresh:
        return result

    # The outbox pattern, in one transaction: each recipient's digest goes in first - as what it is
    # (composed at delivery from the reminders pointing at it, see compose_digest) - then the
    # reminders pointing at it. A reminder that a concurrent sweep wrote first (it waited for that
    # sweep's commit, then got nothing back) belongs to that sweep's digest; a digest left with none
    # is removed.
    recipients = sorted({wanted[key][1] for key in fresh})
    day = today.isoformat()
    from webapp.sms.staff import after_sweep, staff_prefs  # SMS and quiet hours (webapp/sms/staff.py)

    prefs = staff_prefs(recipients)
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
                                 {u: p.display_name for u, p in people.items()}, now)
    result.mails = len(result.mail_ids)
    db.session.flush()
    return result


def _digest_items(mail_id: int, today: date) -> list[Item]:
    rows = db.session.execute(
        select(Notification.kind, Notification.case_id, Notification.agency_id, Case.number, Applicant.name,
               Case.assigned_to_id, Notification.ref_date, Notification.days_left)
        .join(Case, Case.id == Notification.case_id).join(Applicant, Applicant.id == Case.applicant_id)
        .where(Notification.outbox_id == mail_id)).all()
    items = [Item(kind, cid, aid, number, name or "", assigned, ref, days if days is not None else 0, today)
             for kind, cid, aid, number, name, assigned, ref, days in rows if kind in KINDS]
    return sorted(items, key=lambda i: (i.order, i.deadline, i.case_number))


def compose_digest(mail: OutboxMail) -> tuple[str, str]:
    """(subject, body) of a sweep's digest, from the reminders pointing at it, with the template in
    force (services/outbox.py calls this when it delivers the mail, and stores the text)."""
    try:
        args = json.loads(mail.compose_args or "{}")
        today = date.fromisoformat(args["today"])
        user_id = int(args["user_id"])
    except (ValueError, KeyError, TypeError) as e:
        raise LookupError(f"digest {mail.id}: unreadable compose_args {mail.compose_args!r}") from e
    items = _digest_items(mail.id, today)
    if not items:
        raise LookupError(f"digest {mail.id} carries no reminders")
    user = _users([user_id]).get(user_id)
    reader = user_context(user) if user else {"id": user_id, "display_name": "", "username": ""}
    base = base_url()
    return mail_renderer("reminder_digest")(user=reader, today=today.isoformat(), base_url=base,
                                            items=[i.for_mail(base) for i in items])


def morning_digest(today: date, now: datetime | None = None, agency_ids: Sequence[int] | None = None) -> int:
    """08:30: each person's agenda of the day (everything in the sweep's windows, new or not), one
    mail a day (key ``morning:<user>:<day>``). None on days off. Returns the mails written."""
    cal = current_calendar()
    if not cal.is_workday(today):
        return 0
    items = collect(today, cal, agency_ids)
    auto = _auto_lapse_agencies(i.agency_id for i in items if i.kind.endswith("_lapse_proposal"))
    items = [i for i in items if not (i.kind.endswith("_lapse_proposal") and i.agency_id in auto)]
    per_user: dict[int, list[Item]] = defaultdict(list)
    pairs, users = _recipients(items)
    for item, uids in pairs:
        for uid in uids:
            per_user[uid].append(item)
    base = base_url()
    render = mail_renderer("morning_digest")
    mails = []
    for uid in sorted(per_user):
        user = users.get(uid)
        if user is None or not (user.email or "").strip():
            continue
        entries = sorted(per_user[uid], key=lambda i: (i.order, i.deadline, i.case_number))
        subject, body = render(user=user_context(user), today=today.isoformat(), base_url=base,
                               items=[i.for_mail(base) for i in entries])
        mails.append(Mail(f"morning:{uid}:{today.isoformat()}", user.email.strip(), subject, body,
                          agency_id=user.agency_id))
    written = insert_mails(mails, now)
    db.session.flush()
    return len(written)


# --- the annual report (report.md, "Year close-out") ------------------------------------------------

def report_deadline(agency: Agency, year: int) -> date:
    """Art. 49: by 31 January for a department, 31 March for a government's own report."""
    return date(year + 1, 3, 31) if agency.kind == "government" else date(year + 1, 1, 31)


def annual_report_reminders(today: date, now: datetime | None = None) -> int:
    """Weekly (counted from 1 January) to each agency's approvers while last year's report is not
    final. Safe to run daily: the key holds the week. Returns the notifications created."""
    year = today.year - 1
    week = (today - date(today.year, 1, 1)).days // 7
    base = base_url()
    notes: list[Note] = []
    context: dict[str, dict[str, Any]] = {}
    for agency in db.session.scalars(select(Agency).order_by(Agency.code)):
        latest = db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                               ReportVersion.year == year)
                                   .order_by(ReportVersion.version.desc()).limit(1))
        if (latest is None and agency.created_at is not None and agency.created_at.year > year
                and db.session.scalar(select(Case.id).where(Case.agency_id == agency.id,
                                                            Case.received_on <= date(year, 12, 31)).limit(1)) is None):
            continue   # set up after that year, with none of its cases (a year imported later still counts)
        if latest is not None and (latest.final or latest.opening):
            continue   # published, or an opening balance (a year before the agency's first here)
        deadline = report_deadline(agency, year)
        state = "尚未生成（年度结账尚未完成）" if latest is None else f"已结账（第{latest.version}版），尚未定稿"
        link = f"/reports/agency/{agency.code}/{year}"
        for uid in db.session.scalars(select(User.id).where(User.agency_id == agency.id, User.role == "approver",
                                                            User.active.is_(True)).order_by(User.id)):
            key = f"annual_report_due:{agency.id}:{year}:w{week}:{uid}"
            notes.append(Note(key, "annual_report_due", uid, f"{agency.name}{year}年度报告尚未定稿",
                              f"{year}年度政府信息公开工作年度报告{state}，应于{deadline.isoformat()}前公布。",
                              link, agency.id, None, deadline))
            context[key] = {"agency_name": agency.name, "year": year, "deadline": deadline.isoformat(),
                            "days_left": (deadline - today).days, "state_text": state, "url": base + link,
                            "base_url": base}
    return notify_and_mail(notes, "annual_report_due", context, now)


def notify_and_mail(notes: Sequence[Note], kind: str, context: dict[str, dict[str, Any]],
                     now: datetime | None) -> int:
    """One notification and one mail (same key, prefixed ``mail:``) per note created now."""
    created = insert_notifications(notes, now)
    if not created:
        return 0
    users = _users(n.recipient_id for _, n in created)
    render = mail_renderer(kind)
    mails, ids = [], {}
    for nid, note in created:
        user = users.get(note.recipient_id)
        if user is None or not (user.email or "").strip():
            continue
        subject, body = render(user=user_context(user), **context[note.key])
        mails.append(Mail("mail:" + note.key, user.email.strip(), subject, body, agency_id=user.agency_id))
        ids["mail:" + note.key] = nid
    link_mails({mid: [ids[key]] for key, mid in insert_mails(mails, now).items()})
    db.session.flush()
    return len(created)

