"""The mail outbox: mail is written as an OutboxMail row in the transaction that decides it, and sent
later over SMTP by ``deliver_pending`` (the ``outbox.deliver`` task, and every minute by beat as a
safety net), so a mail is never lost when the SMTP server, Redis or the worker is down.

Delivery claims one row at a time. On PostgreSQL the claim is a row lock (``SELECT ... FOR UPDATE
SKIP LOCKED``) held while the mail goes out, so two deliverers never send the same row and a killed
one leaves its row pending. Elsewhere (SQLite, the embedded mode) a conditional UPDATE sets the row to
``sending`` with a lease in ``next_attempt_at``; a row still ``sending`` when its lease (10 minutes)
has run out is claimed again. A failure records the error, counts the attempt and backs off
exponentially (1, 2, 4, ... minutes, at most an hour); the row stays visible (``failed_mail``) and is
retried until it goes through. Each mail carries a Message-ID made from its row, so a receiving system
can recognise the rare resend of a mail whose "sent" mark was lost with a killed process.

Templates: ``render_email(kind, **context)`` renders the text in force for a kind
(``webapp.models.emails.email_template``: an administrator's EmailTemplate row, else
templates/emails/<kind>.txt) from plain values in the sandbox of webapp/sandbox.py (bounded time and
size).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from jinja2 import TemplateError
from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Attachment, OutboxMail
from webapp.models.emails import TemplateText, default_email_template, email_template
from webapp.sandbox import SafeTemplates
from webapp.sms.providers import SmsError
from webapp.timeutil import now_utc

log = logging.getLogger(__name__)

DELIVER_TASK = "outbox.deliver"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

#: The kinds of mail, with what an administrator may use in each (for the template editing page).
EMAIL_KINDS: dict[str, dict[str, Any]] = {
    "reminder_digest": {
        "label_zh": "期限提醒（每次巡检汇总）",
        "variables": "user.display_name, today, base_url, items[]: title, case_number, applicant, deadline, "
                     "days_left, days_text, action, url",
    },
    "morning_digest": {
        "label_zh": "每日待办（8:30）",
        "variables": "user.display_name, today, base_url, items[] (同上)",
    },
    "holiday_notice_missing": {
        "label_zh": "提醒录入下一年度节假日安排",
        "variables": "user.display_name, year, url, base_url",
    },
    "annual_report_due": {
        "label_zh": "年度报告定稿提醒",
        "variables": "user.display_name, agency_name, year, deadline, days_left, state_text, url, base_url",
    },
}

_SAMPLE_ITEM = {"kind": "answer_due_3", "title": "答复期限还剩3个工作日", "case_number": "SWJ-2025-0001",
                "applicant": "张三", "deadline": "2025-06-20", "days_left": 3, "days_text": "还剩3个工作日",
                "action": "请在期限内作出答复", "url": DEFAULT_BASE_URL + "/cases/1"}
_SAMPLE_CONTEXT: dict[str, Any] = {
    "user": {"display_name": "经办人", "username": "clerk"}, "today": "2025-06-17",
    "base_url": DEFAULT_BASE_URL, "items": [_SAMPLE_ITEM], "year": 2026, "url": DEFAULT_BASE_URL + "/",
    "agency_name": "某区商务局", "deadline": "2026-01-31", "days_left": 10, "state_text": "尚未定稿",
}


# --- templates ---------------------------------------------------------------------------------

# Every mail text -- the administrator's and the shipped file -- is rendered from plain values in the
# sandbox with bounded time and size (webapp/sandbox.py); plain text, no HTML escaping.
MAILS = SafeTemplates(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_template_text(template: TemplateText, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a template. The subject is folded to one line (no header injection)."""
    subject = _one_line(MAILS.render(template.subject, context))
    body = MAILS.render(template.body, context)
    return subject[:300], body


def mail_renderer(kind: str) -> Callable[..., tuple[str, str]]:
    """A function rendering the template in force for ``kind`` (looked up once: a sweep renders many
    mails). An administrator's text that fails to render falls back to the shipped file (logged), so
    a typo never stops the reminders."""
    template = email_template(kind)

    def render(**context: Any) -> tuple[str, str]:
        try:
            return render_template_text(template, context)
        except Exception:      # a syntax error, or one at run time (say, a division by zero on real data)
            if template.source == "file":
                raise
            log.exception("mail template %s (edited by an administrator) failed; using the default", kind)
            return render_template_text(default_email_template(kind), context)

    return render


def render_email(kind: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of one mail of ``kind``."""
    return mail_renderer(kind)(**context)


def check_email_template(kind: str, subject: str, body: str) -> str | None:
    """For the editing page: None when the text renders with the sample data (plain values built
    here, never a real case or user), every name defined, else the error (Chinese)."""
    if kind not in EMAIL_KINDS:
        return f"未知的邮件类型：{kind}"
    for text in (subject, body):
        problem = MAILS.problem(text, _SAMPLE_CONTEXT, strict=True)
        if problem:   # "模板第1行有语法错误" -> "模板有误：第1行有语法错误"
            return problem if problem.startswith("模板有误") else problem.replace("模板", "模板有误：", 1)
    return None


def base_url() -> str:
    url = (current_app.config.get("BASE_URL") if has_app_context() else None) or DEFAULT_BASE_URL
    return url.rstrip("/")


# --- writing to the outbox --------------------------------------------------------------------

def utc_naive(now: datetime | None = None) -> datetime:
    """An instant as the models store it: naive UTC."""
    dt = now or now_utc()
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo is not None else dt


REDACTED = "（已发送，系统不保留）"


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
                      attachment_ids=",".join(str(int(i)) for i in attachment_ids), status=PENDING,
                      redact_after_send="\n".join(hidden), agency_id=agency_id)
    if dedupe_key is None:
        db.session.add(mail)
        db.session.flush()
        return mail
    # Two writers racing on the same key: the unique index decides, the loser adds nothing.
    savepoint = db.session.begin_nested()
    db.session.add(mail)
    try:
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    return mail


# --- asking a worker to deliver ---------------------------------------------------------------

def enqueue_delivery(app: Flask | None = None) -> bool:
    """Ask a worker to deliver now. Never raises: when the broker (Redis) is down the failure is
    logged and the beat safety net (every minute) delivers once it is back."""
    try:
        from workers.celery_app import celery_for

        flask_app = app or current_app._get_current_object()
        celery_for(flask_app).send_task(DELIVER_TASK, retry=False, ignore_result=True)
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
        and_(OutboxMail.status.in_((PENDING, FAILED)),
             or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
             or_(OutboxMail.not_before.is_(None), OutboxMail.not_before <= now)),   # quiet hours
        and_(OutboxMail.status == SENDING, OutboxMail.next_attempt_at <= now),
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
            .values(status=SENDING, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False))
        db.session.commit()
        if claimed.rowcount == 1:
            return db.session.get(OutboxMail, row.id)
        skip.add(row.id)   # someone else claimed it first
        q = q.where(OutboxMail.id != row.id)


def _composers() -> dict[str, Callable[[OutboxMail], tuple[str, str]]]:
    from webapp.services import reminders

    return {reminders.DIGEST: reminders.compose_digest}


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
    from .mail_capture import capture_mailbox

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
                if row.channel == "sms":   # webapp/sms: the same claim, marks and back-off
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
                row.status, row.sent_at, row.next_attempt_at, row.last_error = SENT, t, None, ""
                _redact(row)
                result.sent.append(row.id)
            else:
                row.status, row.last_error = FAILED, error[:2000]
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


# --- for the admin pages -----------------------------------------------------------------------

def failed_mail(limit: int = 100) -> list[OutboxMail]:
    """Mails not sent after at least one attempt, the most recently tried first."""
    return list(db.session.scalars(
        select(OutboxMail).where(OutboxMail.status != SENT, OutboxMail.attempts > 0)
        .order_by(OutboxMail.next_attempt_at.desc(), OutboxMail.id.desc()).limit(limit)))


def pending_count() -> int:
    return db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status != SENT)) or 0


def retry_mail(mail_id: int) -> OutboxMail | None:
    """Make a failed mail due now (the admin's "retry now"); the caller commits and may then call
    ``request_delivery()``."""
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None or mail.status == SENT:
        return None
    mail.status, mail.next_attempt_at = FAILED if mail.attempts else PENDING, None
    mail.not_before = None   # the administrator asks for now, quiet hours or not (webapp/sms/quiet.py)
    db.session.flush()
    return mail
