"""Writing to the outbox (one row per mail, once per key), and the outbox's state for the admin pages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import OutboxMail
from webapp.timeutil import now_utc

from .templates import _one_line

# --- writing to the outbox --------------------------------------------------------------------

def utc_naive(now: datetime | None = None) -> datetime:
    """An instant as the models store it: naive UTC."""
    dt = now or now_utc()
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo is not None else dt


def queue_mail(to_addr: str, subject: str, body: str, *, dedupe_key: str | None = None,
               attachment_ids: Iterable[int] = (), secrets: Iterable[str] = (),
               agency_id: int | None = None) -> OutboxMail | None:
    """Add a mail to the outbox in the caller's transaction (the caller commits, then calls
    ``request_delivery()`` or leaves it to beat). With a ``dedupe_key`` a second call with the same
    key adds nothing and returns None. ``secrets`` (e.g. a query code) are masked in the stored
    text as soon as the mail is sent."""
    to_addr = (to_addr or "").strip()
    if not to_addr or "\n" in to_addr or "\r" in to_addr:
        raise ValueError(f"not a mail address: {to_addr!r}")
    hidden = [s for s in secrets if s and "\n" not in s]
    if dedupe_key is not None:
        exists = db.session.scalar(select(OutboxMail.id).where(OutboxMail.dedupe_key == dedupe_key))
        if exists is not None:
            return None
    mail = OutboxMail(to_addr=to_addr, subject=_one_line(subject)[:300], body=body, dedupe_key=dedupe_key,
                      attachment_ids=",".join(str(int(i)) for i in attachment_ids), status=MailStatus.PENDING,
                      redact_after_send="\n".join(hidden), agency_id=agency_id)
    if dedupe_key is None:
        db.session.add(mail)
        db.session.flush()
        return mail
    return add_once(mail)


def add_once(row: OutboxMail) -> OutboxMail | None:
    """Add an outbox row with a dedupe key: two writers racing on the same key, the unique index
    decides and the loser adds nothing (None). Mail and SMS alike."""
    savepoint = db.session.begin_nested()
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return row


# --- for the admin pages -----------------------------------------------------------------------

def failed_mail(limit: int = 100) -> list[OutboxMail]:
    """Mails not sent after at least one attempt, the most recently tried first."""
    return list(db.session.scalars(
        select(OutboxMail).where(OutboxMail.status != MailStatus.SENT, OutboxMail.attempts > 0)
        .order_by(OutboxMail.next_attempt_at.desc(), OutboxMail.id.desc()).limit(limit)))


def retry_mail(mail_id: int) -> OutboxMail | None:
    """Make a failed mail due now (the admin's "retry now"); the caller commits and may then call
    ``request_delivery()``."""
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None or mail.status == MailStatus.SENT:
        return None
    mail.status, mail.next_attempt_at = MailStatus.FAILED if mail.attempts else MailStatus.PENDING, None
    mail.not_before = None   # the administrator asks for now, quiet hours or not (webapp/sms/quiet.py)
    db.session.flush()
    return mail
