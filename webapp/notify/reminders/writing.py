"""Writing notifications and mails once each (shared with holiday_watch, the report reminder, review and
handovers): a key already written is never written again."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import Notification, OutboxMail

from ..outbox.queue import utc_naive
from ..outbox.templates import mail_renderer
from .people import _users, user_context

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
    same = {"attachment_ids": "", "status": MailStatus.PENDING.value, "attempts": 0, "last_error": "",
            "created_at": created}
    return {key: mid for mid, key in _insert_new(OutboxMail.__table__, _MAIL_COLUMNS, rows, same)}


def link_mails(links: dict[int, Sequence[int]]) -> None:
    """Point notifications at the mail that carries them: {mail id: [notification ids]}."""
    table = Notification.__table__
    params = [{"nid": nid, "mid": mid} for mid, nids in links.items() for nid in nids]
    if params:
        db.session.execute(update(table).where(table.c.id == bindparam("nid")).values(outbox_id=bindparam("mid")),
                           params)


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
    written = insert_mails(mails, now)
    link_mails({mid: [ids[key]] for key, mid in written.items()})
    # quiet hours (webapp/sms/): these mails wait for their agency's window like the reminders
    from webapp.sms.staff import hold_staff_mails

    readers = {"mail:" + note.key: note.recipient_id for _, note in created}
    hold_staff_mails([(readers[key], mid) for key, mid in written.items()], {},
                     {uid: u.agency_id for uid, u in users.items()}, now)
    db.session.flush()
    return len(created)
