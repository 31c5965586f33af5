"""Asking a worker to deliver (after the commit), and delivering: claim a row, compose, send by SMTP or SMS,
back off on failure."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from jinja2 import TemplateError
from sqlalchemy import and_, event, or_, select, update

from webapp.domain.kinds import MailChannel
from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import Attachment, OutboxMail
from webapp.sms.providers import SmsError
from webapp.timeutil import now_utc

from .queue import utc_naive
from .templates import _one_line

log = logging.getLogger("webapp.notify.outbox")

DELIVER_TASK = "outbox.deliver"
#: what a sent mail's secrets (the query code) read as in its stored text
REDACTED = "（已发送，系统不保留）"


# --- asking a worker to deliver ---------------------------------------------------------------

def enqueue_delivery(app: Flask | None = None) -> bool:
    """Ask a worker to deliver now, through the enqueue hook create_app registers
    (webapp/platform/celery.py). Never raises: when the broker (Redis) is down the failure is
    logged and the beat safety net (every minute) delivers once it is back."""
    try:
        flask_app = app or current_app._get_current_object()
        flask_app.extensions["enqueue_task"](DELIVER_TASK)
        return True
    except Exception:
        log.warning("could not enqueue mail delivery; the periodic delivery will send it", exc_info=True)
        return False


_REQUESTED = "outbox_delivery_requested"


def _after_commit(session) -> None:
    app = session.info.pop(_REQUESTED, None)
    if app is not None:
        enqueue_delivery(app)


def _after_rollback(session) -> None:
    session.info.pop(_REQUESTED, None)


def request_delivery() -> None:
    """Enqueue a delivery once the current transaction has committed (never before: a worker must
    find the rows), and not at all if it rolls back. Outside a transaction: enqueue now."""
    session = db.session()
    if not session.in_transaction():
        enqueue_delivery()
        return
    session.info[_REQUESTED] = current_app._get_current_object()
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)


# --- delivering ---------------------------------------------------------------------------------

@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"sent": len(self.sent), "failed": len(self.failed)}


def backoff(attempts: int, base_seconds: float = 60, max_seconds: float = 3600) -> timedelta:
    """Wait before attempt ``attempts + 1``: base, 2x base, 4x base, ... capped."""
    return timedelta(seconds=min(base_seconds * (2 ** max(attempts - 1, 0)), max_seconds))


def _claimable(now: datetime):
    return or_(
        and_(OutboxMail.status.in_((MailStatus.PENDING, MailStatus.FAILED)),
             or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
             or_(OutboxMail.not_before.is_(None), OutboxMail.not_before <= now)),   # quiet hours
        and_(OutboxMail.status == MailStatus.SENDING, OutboxMail.next_attempt_at <= now),
    )


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _claim_next(now: datetime, lease: timedelta, skip: set[int]) -> OutboxMail | None:
    """The next mail to send, claimed for this process (see the module docstring), or None."""
    q = select(OutboxMail).where(_claimable(now))
    if skip:
        q = q.where(OutboxMail.id.not_in(skip))
    q = q.order_by(OutboxMail.id).limit(1)
    if _is_postgresql():
        return db.session.execute(q.with_for_update(skip_locked=True)).scalar_one_or_none()
    while True:
        row = db.session.execute(q).scalar_one_or_none()
        if row is None:
            db.session.rollback()
            return None
        claimed = db.session.execute(
            update(OutboxMail).where(OutboxMail.id == row.id, _claimable(now))
            .values(status=MailStatus.SENDING, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False))
        db.session.commit()
        if claimed.rowcount == 1:
            return db.session.get(OutboxMail, row.id)
        skip.add(row.id)   # someone else claimed it first
        q = q.where(OutboxMail.id != row.id)


def _composers() -> dict[str, Callable[[OutboxMail], tuple[str, str]]]:
    from webapp.notify.reminders.digests import compose_digest
    from webapp.notify.reminders.kinds import DIGEST

    return {DIGEST: compose_digest}


def mail_text(row: OutboxMail) -> tuple[str, str]:
    """(subject, body) of an outbox mail. A mail written to be composed at delivery (``compose``, e.g.
    a sweep's reminder digest) is composed now and its text stored on the row, so what was sent - or
    what failed - stays readable, and a retry sends the same text. LookupError when it cannot be."""
    if row.compose and not row.body:
        composer = _composers().get(row.compose)
        if composer is None:
            raise LookupError(f"no composer for mail kind {row.compose!r}")
        try:
            subject, body = composer(row)
        except TemplateError as e:
            raise LookupError(f"mail {row.id} ({row.compose}): template error: {e}") from e
        row.subject, row.body = _one_line(subject)[:300], body
    return row.subject, row.body


def _message(row: OutboxMail, config) -> EmailMessage:
    sender = config.get("MAIL_FROM") or "noreply@localhost"
    domain = sender.rpartition("@")[2] or "localhost"
    subject, body = mail_text(row)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = row.to_addr
    msg["Date"] = format_datetime(now_utc())
    tag = hashlib.sha256(f"{row.id}|{row.dedupe_key or ''}|{row.created_at}".encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<outbox-{row.id}.{tag}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body, charset="utf-8")
    for att_id in [int(x) for x in (row.attachment_ids or "").split(",") if x.strip()]:
        att = db.session.get(Attachment, att_id)
        if att is None:
            raise LookupError(f"attachment {att_id} does not exist")
        path = Path(att.storage_path)
        if not path.is_absolute():
            path = Path(config.get("UPLOAD_FOLDER") or ".") / path
        maintype, _, subtype = (att.content_type or "application/octet-stream").partition("/")
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype or "octet-stream",
                           filename=att.filename)
    return msg


def _connect(config) -> smtplib.SMTP:
    from ..mail_capture import capture_mailbox

    if (mailbox := capture_mailbox(config)) is not None:   # make run without a mail server
        return mailbox  # type: ignore[return-value]
    host = config.get("MAIL_SERVER") or "localhost"
    port = int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT", 15))
    if config.get("MAIL_USE_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


# Errors after which the connection is gone: stop this round, the rest waits for the next one.
_CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError,
                      socket.timeout, TimeoutError, socket.gaierror)


def deliver_pending(limit: int = 100, now: datetime | None = None) -> DeliveryResult:
    """Send up to ``limit`` due mails over SMTP, each claimed, sent and marked in its own
    transaction (this function commits; it is the outbox's only writer of delivery state)."""
    config = current_app.config
    lease = timedelta(seconds=float(config.get("MAIL_CLAIM_SECONDS", 600)))
    base = float(config.get("MAIL_RETRY_BASE_SECONDS", 60))
    cap = float(config.get("MAIL_RETRY_MAX_SECONDS", 3600))
    result = DeliveryResult()
    smtp: smtplib.SMTP | None = None
    skip: set[int] = set()
    db.session.commit()   # start from a clean transaction: claims must not ride on the caller's
    try:
        for _ in range(max(limit, 0)):
            t = utc_naive(now)
            row = _claim_next(t, lease, skip)
            if row is None:
                break
            skip.add(row.id)
            error: str | None = None
            stop = False
            try:
                if row.channel == MailChannel.SMS:   # webapp/sms: the same claim, marks and back-off
                    row.provider_ref = _send_sms(row)[:100]
                else:
                    msg = _message(row, config)
                    if smtp is None:
                        smtp = _connect(config)
                    smtp.send_message(msg)
            except SmsError as e:
                error = str(e)
            except _CONNECTION_ERRORS as e:
                error, stop = f"{type(e).__name__}: {e}", True
            except (smtplib.SMTPException, OSError, LookupError) as e:
                error = f"{type(e).__name__}: {e}"
            except Exception as e:   # this mail cannot be built: it fails visibly, the others still go
                log.exception("mail %s could not be built", row.id)
                error = f"{type(e).__name__}: {e}"
            t = utc_naive(now)
            row.attempts = (row.attempts or 0) + 1
            if error is None:
                row.status, row.sent_at, row.next_attempt_at, row.last_error = MailStatus.SENT, t, None, ""
                _redact(row)
                result.sent.append(row.id)
            else:
                row.status, row.last_error = MailStatus.FAILED, error[:2000]
                row.next_attempt_at = t + backoff(row.attempts, base, cap)
                result.failed.append(row.id)
                result.errors[row.id] = error
                log.warning("mail %s to %s not delivered (attempt %s): %s", row.id, row.to_addr,
                            row.attempts, error)
            db.session.commit()
            if stop:
                if smtp is not None:
                    _quietly_close(smtp)
                    smtp = None
                break
    finally:
        if smtp is not None:
            _quietly_close(smtp)
        db.session.rollback()
    return result


def _send_sms(row: OutboxMail) -> str:
    from webapp.sms.outbox import send_row

    return send_row(row)


def _redact(row: OutboxMail) -> None:
    """Mask the mail's secrets in its stored text (it has been sent: nobody needs them here)."""
    for secret in (row.redact_after_send or "").splitlines():
        if secret:
            row.subject = row.subject.replace(secret, REDACTED)
            row.body = row.body.replace(secret, REDACTED)
    row.redact_after_send = ""


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        with contextlib.suppress(Exception):
            smtp.close()
