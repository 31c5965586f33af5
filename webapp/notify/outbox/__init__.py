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
templates/emails/<kind>.txt) from plain values in the sandbox of webapp/sandbox/ (bounded time and
size).
"""

from .delivery import backoff, deliver_pending, enqueue_delivery, mail_text, request_delivery
from .queue import failed_mail, queue_mail, retry_mail, utc_naive
from .templates import EMAIL_KINDS, base_url, check_email_template, mail_renderer, render_email

__all__ = [
    "EMAIL_KINDS",
    "backoff",
    "base_url",
    "check_email_template",
    "deliver_pending",
    "enqueue_delivery",
    "failed_mail",
    "mail_renderer",
    "mail_text",
    "queue_mail",
    "render_email",
    "request_delivery",
    "retry_mail",
    "utc_naive",
]
