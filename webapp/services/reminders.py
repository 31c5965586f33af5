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
consultation_due            the last consultation reply is due (Arts. 32, 34)  clerk
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
enqueue delivery).
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

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import Status
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
                                   "请结束征求意见，恢复计算答复期限。"),
    "correction_notice_due": (5, False, "申请内容不明确需要补正的，请在期限内一次性告知申请人（第三十条）。"),
    "answer_due_3": (6, False, _ANSWER_IN_TIME),
    "answer_due_5": (7, False, _ANSWER_IN_TIME),
    "correction_lapsed": (8, False, "本机关设置为逾期自动结案：系统已记录“逾期未补正”并结案，"
                                    "如有误请联系负责人更正。"),
    "fee_lapsed": (8, False, "本机关设置为逾期自动结案：系统已记录“逾期未缴费”并结案，"
                             "如有误请联系负责人更正。"),
}


@dataclass(frozen=True)
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
        }[self.kind]

    @property
    def link(self) -> str:
        return CASE_LINK.format(id=self.case_id)

    def key(self, recipient_id: int) -> str:
        """The notification's identity: a moved deadline is a new key; overdue repeats daily."""
        day = f":{self.on.isoformat()}" if self.kind == "answer_overdue" else ""
        return f"{self.kind}:{self.case_id}:{self.deadline.isoformat()}{day}:{recipient_id}"

    def body(self) -> str:
        return (f"{self.case_number}　申请人：{self.applicant}　期限：{self.deadline.isoformat()}"
                f"（{self.days_text}）。{self.action}")

    def for_mail(self, base: str) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "case_number": self.case_number,
                "applicant": self.applicant, "deadline": self.deadline.isoformat(),
                "days_left": self.days_left, "days_text": self.days_text, "action": self.action,
                "url": base + self.link}


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


def _rows(deadline_col, *where, agency_ids: Sequence[int] | None):
    q = (select(Case.id, Case.agency_id, Case.number, Case.assigned_to_id, Applicant.name, deadline_col)
         .join(Applicant, Applicant.id == Case.applicant_id).where(*where))
    if agency_ids is not None:
        q = q.where(Case.agency_id.in_(list(agency_ids)))
    return db.session.execute(q).all()


def collect(today: date, cal: WorkCalendar | None = None, agency_ids: Sequence[int] | None = None) -> list[Item]:
    """Everything needing attention as of ``today``, from the clock columns alone (no side effects).
    Lapses appear as proposals here; ``sweep`` records them where the agency's policy says so."""
    cal = cal or current_calendar()
    workday = cal.is_workday(today)
    items: list[Item] = []

    def add(kind: str, row, deadline: date, days_left: int) -> None:
        items.append(Item(kind, row[0], row[1], row[2], row[4] or "", row[3], deadline, days_left, today))

    # The answer (Art. 33): one range over (status, due_on) takes the coming 5 working days and the
    # overdue cases together.
    horizon = cal.add_workdays(today, max(ANSWER_THRESHOLDS))
    for row in _rows(Case.due_on, Case.status == Status.REGISTERED.value, Case.due_on <= horizon,
                     agency_ids=agency_ids):
        due = row[5]
        if due < today:
            if workday:   # daily while overdue, on working days
                add("answer_overdue", row, due, -cal.workdays_between(due, today))
            continue
        left = cal.workdays_between(today, due)
        if due == today:
            add("answer_due_today", row, due, 0)
        else:
            bucket = min(t for t in ANSWER_THRESHOLDS if left <= t)
            add(f"answer_due_{bucket}", row, due, left)

    # Art. 30: the correction notice is due within 7 working days of receipt.
    notice_horizon = cal.add_workdays(today, CORRECTION_NOTICE_WARNING)
    for row in _rows(Case.correction_notice_due_on, Case.correction_notice_due_on >= today,
                     Case.correction_notice_due_on <= notice_horizon,
                     Case.status == Status.REGISTERED.value, agency_ids=agency_ids):
        add("correction_notice_due", row, row[5], cal.workdays_between(today, row[5]))

    # Arts. 32, 34: the last consultation letter's reply is due.
    for row in _rows(Case.consultation_due_on, Case.consultation_due_on <= today,
                     Case.status == Status.CONSULTING.value, agency_ids=agency_ids):
        add("consultation_due", row, row[5], -cal.workdays_between(row[5], today))

    # Lapses, from the working day after the period ended.
    cutoff = lapse_cutoff(cal, today)
    for row in _rows(Case.correction_reply_by, Case.correction_reply_by <= cutoff,
                     Case.status == Status.AWAITING_CORRECTION.value, agency_ids=agency_ids):
        add("correction_lapse_proposal", row, row[5], -cal.workdays_between(row[5], today))
    for row in _rows(Case.fee_due_on, Case.fee_due_on <= cutoff,
                     Case.status == Status.AWAITING_FEE.value, agency_ids=agency_ids):
        add("fee_lapse_proposal", row, row[5], -cal.workdays_between(row[5], today))
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

def _recipients(items: Sequence[Item]) -> list[tuple[Item, list[int]]]:
    """The assigned clerk (if active); the agency's active approvers for overdue and due-today, and
    for any case nobody is assigned to."""
    agency_ids = {i.agency_id for i in items}
    assigned = {i.assigned_to_id for i in items if i.assigned_to_id is not None}
    active = set()
    if assigned:
        active = set(db.session.scalars(select(User.id).where(User.id.in_(assigned), User.active.is_(True))))
    approvers: dict[int, list[int]] = defaultdict(list)
    if agency_ids:
        for uid, aid in db.session.execute(
                select(User.id, User.agency_id).where(User.agency_id.in_(agency_ids), User.role == "approver",
                                                      User.active.is_(True)).order_by(User.id)):
            approvers[aid].append(uid)
    out: list[tuple[Item, list[int]]] = []
    for item in items:
        people: list[int] = []
        clerk = item.assigned_to_id if item.assigned_to_id in active else None
        if clerk is not None:
            people.append(clerk)
        if item.to_approvers or clerk is None:
            people.extend(u for u in approvers.get(item.agency_id, ()) if u not in people)
        out.append((item, people))
    return out


# --- writing notifications and mails (shared with holiday_watch and the report reminder) -------------

@dataclass(frozen=True)
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
                         ("kind", "varchar"), ("ref_date", "date"), ("recipient_id", "integer"),
                         ("title", "varchar"), ("body", "text"), ("link", "varchar"), ("created_at", "timestamp"),
                         ("outbox_id", "integer"))
_MAIL_COLUMNS = (("dedupe_key", "varchar"), ("to_addr", "varchar"), ("subject", "varchar"), ("body", "text"),
                 ("attachment_ids", "varchar"), ("status", "varchar"), ("attempts", "integer"),
                 ("last_error", "text"), ("created_at", "timestamp"))


def _json_value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def _insert_new(table, columns: tuple[tuple[str, str], ...], rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """INSERT rows ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key: the rows written
    now, in key order (two concurrent writers lock in the same order). PostgreSQL gets one statement
    reading the rows from one JSON parameter (cheap to send, whatever the count); SQLite a multi-row
    insert."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: r["dedupe_key"])
    if db.session.get_bind().dialect.name == "postgresql":
        names = ", ".join(f'"{c}"' for c, _ in columns)
        record = ", ".join(f'"{c}" {t}' for c, t in columns)
        sql = text(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM '
                   f"json_to_recordset(CAST(:rows AS json)) AS v({record}) ORDER BY dedupe_key "
                   f"ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key")
        out: list[tuple[int, str]] = []
        for chunk in _chunks(rows, 20000):
            payload = json.dumps([{c: _json_value(r.get(c)) for c, _ in columns} for r in chunk],
                                 ensure_ascii=False, separators=(",", ":"))
            out.extend(tuple(r) for r in db.session.execute(sql, {"rows": payload}).all())
        return out
    stmt = (sqlite_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.id, table.c.dedupe_key))
    out = []
    for chunk in _chunks(rows, 500):
        out.extend(tuple(r) for r in db.session.execute(stmt, list(chunk)).all())
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
    rows = [{"dedupe_key": n.key, "agency_id": n.agency_id, "case_id": n.case_id, "kind": n.kind,
             "ref_date": n.ref_date, "recipient_id": n.recipient_id, "title": n.title[:300], "body": n.body,
             "link": n.link[:300], "created_at": created, "outbox_id": outbox_ids.get(n.key)}
            for n in by_key.values()]
    return [(nid, by_key[key]) for nid, key in _insert_new(Notification.__table__, _NOTIFICATION_COLUMNS, rows)]


@dataclass(frozen=True)
class Mail:
    key: str
    to_addr: str
    subject: str
    body: str


def insert_mails(mails: Sequence[Mail], now: datetime | None = None) -> dict[str, int]:
    """Write mails to the outbox unless their key exists; return key -> id of those written now."""
    created = utc_naive(now)
    rows = [{"dedupe_key": m.key, "to_addr": m.to_addr, "subject": m.subject[:300], "body": m.body,
             "attachment_ids": "", "status": "pending", "attempts": 0, "last_error": "", "created_at": created}
            for m in mails]
    return {key: mid for mid, key in _insert_new(OutboxMail.__table__, _MAIL_COLUMNS, rows)}


def _fill_mails(texts: dict[int, tuple[str, str]], empty: Iterable[int]) -> None:
    """Write the composed subject and body into mails reserved earlier in this transaction; delete
    those that carry nothing after all (every reminder went to a concurrent sweep)."""
    table = OutboxMail.__table__
    if texts:
        db.session.execute(update(table).where(table.c.id == bindparam("mid"))
                           .values(subject=bindparam("s"), body=bindparam("b")),
                           [{"mid": mid, "s": subj[:300], "b": body} for mid, (subj, body) in texts.items()])
    empty = list(empty)
    if empty:
        db.session.execute(table.delete().where(table.c.id.in_(empty)))


def link_mails(links: dict[int, Sequence[int]]) -> None:
    """Point notifications at the mail that carries them: {mail id: [notification ids]}."""
    table = Notification.__table__
    params = [{"nid": nid, "mid": mid} for mid, nids in links.items() for nid in nids]
    if params:
        db.session.execute(update(table).where(table.c.id == bindparam("nid")).values(outbox_id=bindparam("mid")),
                           params)


def user_context(user: User) -> dict[str, Any]:
    """What a template may know about its reader (never the ORM object: the sandbox would see it all)."""
    return {"id": user.id, "display_name": user.display_name, "username": user.username}


def _users(ids: Iterable[int]) -> dict[int, User]:
    ids = set(ids)
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


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

    # Keys first; the texts only for the reminders that do not exist yet (most, during the day).
    wanted: dict[str, tuple[Item, int]] = {}
    for item, people in _recipients(items):
        for uid in people:
            wanted[item.key(uid)] = (item, uid)
    fresh = new_keys(list(wanted))
    by_key: dict[str, Item] = {}
    notes: list[Note] = []
    note_texts: dict[int, tuple[str, str]] = {}
    for key in sorted(fresh):
        item, uid = wanted[key]
        if id(item) not in note_texts:
            note_texts[id(item)] = (f"{item.title}：{item.case_number}", item.body())
        title, body = note_texts[id(item)]
        by_key[key] = item
        notes.append(Note(key, item.kind, uid, title, body, item.link, item.agency_id, item.case_id,
                          item.deadline))
    if not notes:
        return result

    # The outbox pattern, in one transaction: each recipient's digest goes in first, then the reminders
    # pointing at it. A reminder that a concurrent sweep wrote first (it waited for that sweep's commit,
    # then got nothing back) belongs to that sweep's digest: the digests it was in are rewritten.
    users = _users({n.recipient_id for n in notes})
    mail_keys = {uid: f"digest:{uid}:{result.key}" for uid, u in users.items() if (u.email or "").strip()}
    base = base_url()
    render = mail_renderer("reminder_digest")

    def compose(uid: int, entries: list[Item]) -> tuple[str, str]:
        entries = sorted(entries, key=lambda i: (i.order, i.deadline, i.case_number))
        return render(user=user_context(users[uid]), today=today.isoformat(), base_url=base,
                      items=[i.for_mail(base) for i in entries])

    planned: dict[int, list[Item]] = defaultdict(list)
    for n in notes:
        planned[n.recipient_id].append(by_key[n.key])
    texts = {uid: compose(uid, planned[uid]) for uid in sorted(planned) if uid in mail_keys}
    reserved = insert_mails([Mail(mail_keys[uid], users[uid].email.strip(), *texts[uid]) for uid in texts], now)
    outbox_ids = {n.key: reserved[mail_keys[n.recipient_id]] for n in notes if n.recipient_id in texts}
    created = insert_notifications(notes, now, probed=True, outbox_ids=outbox_ids)
    result.notifications = len(created)

    written: dict[int, list[Item]] = defaultdict(list)
    for _nid, note in created:
        written[note.recipient_id].append(by_key[note.key])
        result.by_kind[note.kind] = result.by_kind.get(note.kind, 0) + 1
    if len(created) < len(notes):
        changed = {uid for uid in texts if len(written.get(uid, ())) != len(planned[uid])}
        _fill_mails({reserved[mail_keys[uid]]: compose(uid, written[uid]) for uid in changed if written.get(uid)},
                    [reserved[mail_keys[uid]] for uid in changed if not written.get(uid)])
    mail_ids = sorted(reserved[mail_keys[uid]] for uid in texts if written.get(uid))
    result.mails = len(mail_ids)
    result.mail_ids = mail_ids
    db.session.flush()
    return result


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
    for item, people in _recipients(items):
        for uid in people:
            per_user[uid].append(item)
    users = _users(per_user)
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
        mails.append(Mail(f"morning:{uid}:{today.isoformat()}", user.email.strip(), subject, body))
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
        if agency.created_at is not None and agency.created_at.year > year:
            continue   # the agency did not exist in that year
        latest = db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                               ReportVersion.year == year)
                                   .order_by(ReportVersion.version.desc()).limit(1))
        if latest is not None and latest.final:
            continue
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
        mails.append(Mail("mail:" + note.key, user.email.strip(), subject, body))
        ids["mail:" + note.key] = nid
    link_mails({mid: [ids[key]] for key, mid in insert_mails(mails, now).items()})
    db.session.flush()
    return len(created)

