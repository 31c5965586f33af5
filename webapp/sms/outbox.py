"""SMS rows in the one outbox (notify/outbox/): written by ``queue_sms`` in the caller's
transaction with a dedupe key, claimed, sent, retried with back-off and shown on the admin outbox
page by the same code as mail (``OutboxMail.channel == "sms"``). ``send_row`` is what the delivery
calls for such a row. The provider's OutId is ``outbox-<row id>``: a resend after a worker was
killed between the provider's answer and the "sent" mark carries the same OutId, so the provider's
delivery receipts (and its console) show the two as one message."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp.domain.kinds import MailChannel, NotifyVia
from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import OutboxMail
from webapp.notify.outbox.queue import add_once

from .providers import SmsError, provider_for
from .texts import SMS_KINDS, clean_params, render

MOBILE = re.compile(r"^1[3-9]\d{9}$")
CHOICES = {v.value: v.label_zh for v in NotifyVia}   # the forms' choices


def normalize_mobile(value: str | None) -> str:
    """A mainland mobile number (11 digits from 1[3-9]), '+86'/'86' and separators dropped, or ''."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    digits = digits.removeprefix("+86") if digits.startswith("+86") else digits
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if MOBILE.match(digits) else ""


def notify_choice(choice: Any) -> NotifyVia | None:
    """The choice as the enum (a form's or the API's string), or None if it is not one."""
    return NotifyVia(choice) if isinstance(choice, str) and choice in CHOICES else None


def wants(choice: str | None, channel: MailChannel) -> bool:
    """Notices by ``channel`` are wanted (an unknown choice: e-mail)."""
    return (notify_choice(choice) or NotifyVia.EMAIL).wants(channel)


def template_code(kind: str) -> str:
    return (current_app.config.get("SMS_TEMPLATES") or {}).get(kind, "") or ""


def queue_sms(phone: str, kind: str, params: dict[str, Any], *, dedupe_key: str,
              agency_id: int | None = None, not_before: datetime | None = None) -> OutboxMail | None:
    """An SMS of ``kind`` to ``phone`` in the outbox (the caller commits and requests delivery);
    None when the key exists already or the number is not a mobile number."""
    if kind not in SMS_KINDS:
        raise ValueError(f"unknown SMS kind {kind!r}")
    mobile = normalize_mobile(phone)
    if not mobile:
        return None
    if db.session.scalar(select(OutboxMail.id).where(OutboxMail.dedupe_key == dedupe_key)) is not None:
        return None
    clean = clean_params(params)
    text = render(kind, clean, current_app.config.get("SMS_SIGN_NAME") or "")
    row = OutboxMail(channel=MailChannel.SMS, to_addr=mobile, subject=SMS_KINDS[kind]["label_zh"], body=text,
                     compose_args=json.dumps({"kind": kind, "params": clean}, ensure_ascii=False),
                     dedupe_key=dedupe_key, attachment_ids="", status=MailStatus.PENDING, redact_after_send="",
                     agency_id=agency_id, not_before=not_before)
    return add_once(row)


def send_row(row: OutboxMail, provider=None) -> str:
    """Send one SMS row; the provider's message id. Raises SmsError."""
    try:
        spec = json.loads(row.compose_args or "{}")
        kind, params = spec["kind"], spec["params"]
    except (ValueError, KeyError, TypeError) as e:
        raise SmsError("bad_row", f"unreadable SMS row {row.id}") from e
    code = template_code(kind)
    provider = provider or provider_for(current_app.config)
    if not code and provider.name != "log":
        raise SmsError("no_template", f"SMS_TEMPLATE_{kind.upper()} is not set")
    return provider.send(row.to_addr, code or f"LOG_{kind.upper()}", params, f"outbox-{row.id}", text=row.body)
