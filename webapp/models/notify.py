from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.domain.kinds import MailChannel
from webapp.domain.states import MailStatus
from webapp.extensions import db

from ._types import utcnow


class Notification(db.Model):
    """One reminder to one person, keyed so that it exists once: (case, kind, the deadline it
    refers to, recipient). A deadline that moves is a new key, so its reminders re-arm.

    A write-heavy log, like the audit log's detail: its references (agency, case, recipient, the
    outbox mail carrying it) are plain indexed ids without foreign-key constraints. The writers take
    the ids from the rows they have just read (the sweep from the case table, in the same
    transaction), none of the referenced rows is ever deleted (cases and agencies are permanent,
    users are deactivated, sent mail is kept), and PostgreSQL's per-row foreign-key checks were half
    the cost of the first sweep of a day (BENCHMARKS.md, "Sweep"; docs/decisions.md)."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(index=True)
    case_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(40))
    ref_date: Mapped[date | None] = mapped_column(Date)
    #: working days from the sweep's day to ref_date (negative once passed), for the digest's text
    days_left: Mapped[int | None]
    recipient_id: Mapped[int | None] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    outbox_id: Mapped[int | None] = mapped_column(index=True)


class OutboxMail(db.Model):
    """Mail written in the same transaction that decided it; a delivery task sends it.

    Most mail is written with its text. A reminder digest is written as what it is - its kind
    (``compose``), its arguments (``compose_args``, JSON) and the notifications pointing at it - and
    its subject and body are composed by the delivery, which stores them on the row before sending
    (notify/outbox/, ``mail_text``): the sweep that decides stays short."""

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    to_addr: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attachment_ids: Mapped[str] = mapped_column(String(200), default="")
    compose: Mapped[str | None] = mapped_column(String(40))      # e.g. "reminder_digest"; None: text given
    compose_args: Mapped[str] = mapped_column(Text, default="")
    # Strings (one a line, e.g. an applicant's query code) masked in the stored text once the mail
    # is sent: the outbox keeps what was sent without keeping the secret.
    redact_after_send: Mapped[str] = mapped_column(Text, default="")
    # The agency the mail is about (its case's, or its reader's): whose administrators see it in the
    # outbox. None: installation-wide mail, seen by the installation's administrators.
    agency_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[MailStatus] = mapped_column(default=MailStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # "email" (to_addr a mail address) or "sms" (to_addr a mobile number; subject the notice kind,
    # body the rendered text, compose_args the template parameters as JSON): webapp/sms/.
    channel: Mapped[MailChannel] = mapped_column(default=MailChannel.EMAIL, server_default=MailChannel.EMAIL.value)
    # Quiet hours (webapp/sms/quiet.py): the delivery leaves the row alone until this instant (naive UTC).
    not_before: Mapped[datetime | None]
    # The provider's message id of a sent SMS (Alibaba Cloud: BizId).
    provider_ref: Mapped[str] = mapped_column(String(100), default="", server_default="")
