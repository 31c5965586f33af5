"""Staff reminders by SMS and in quiet hours (called by notify/reminders/ ``sweep``).

Each user chooses in their profile: e-mail, SMS or both (``User.notify_via``, SMS to
``User.mobile``); a user who chose SMS without a usable mobile number keeps getting mail. A sweep's
digest mail and SMS wait for the end of the agency's quiet hours (``quiet.not_before_for``), unless
one of the user's reminders has a deadline that would have passed by then (a deadline today, in the
evening): then they go at once. Reminders already overdue wait like the others."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import update

from webapp.domain.kinds import MailChannel
from webapp.extensions import db
from webapp.models import OutboxMail
from webapp.timeutil import SHANGHAI, now_utc

from .outbox import normalize_mobile, queue_sms, wants
from .quiet import QuietHours, quiet_hours_from, quiet_hours_of


def prefs_of(rows: Iterable[tuple[int, str | None, str | None]]) -> dict[int, tuple[bool, str]]:
    """(user id, notify_via, mobile) rows -> user id -> (wants mail, mobile for SMS or ''): a user who
    chose SMS without a usable number keeps getting mail."""
    out: dict[int, tuple[bool, str]] = {}
    for uid, via, mobile in rows:
        number = normalize_mobile(mobile) if wants(via, MailChannel.SMS) else ""
        out[uid] = (wants(via, MailChannel.EMAIL) or not number, number)
    return out


def _deadline_ahead(items: Sequence, today: date) -> date | None:
    ahead = [i.deadline for i in items if getattr(i, "deadline", None) is not None and i.deadline >= today]
    return min(ahead) if ahead else None


def after_sweep(sweep_key: str, by_user: dict[int, list], agency_of: dict[int, int | None],
                mail_of: dict[int, int], prefs: dict[int, tuple[bool, str]], names: dict[int, str],
                now: datetime | None = None, stored_quiet: dict[int, Any] | None = None) -> list[int]:
    """Hold each reader's digest mail for quiet hours, and write their SMS; the SMS ids written.
    ``stored_quiet``: agency id -> stored quiet hours the caller already read (the others are read)."""
    from webapp.cases.services.calendar import current_calendar

    now = now or now_utc()
    if now.tzinfo is None:   # naive: UTC, as the models store it
        now = now.replace(tzinfo=UTC)
    today = now.astimezone(SHANGHAI).date()
    needed = {agency_of.get(uid) or items[0].agency_id for uid, items in by_user.items() if items}
    known = stored_quiet or {}
    quiet: dict[int | None, QuietHours] = quiet_hours_from((a, known[a]) for a in needed if a in known)
    quiet.update(quiet_hours_of(a for a in needed if a not in known))
    cal = None
    sms_ids: list[int] = []
    for uid, items in sorted(by_user.items()):
        if not items:
            continue
        agency_id = agency_of.get(uid) or items[0].agency_id
        first = min(items, key=lambda i: (i.deadline, i.case_number))
        wait = None
        if quiet.get(agency_id, QuietHours()).enabled:
            cal = cal or current_calendar()
            wait = quiet[agency_id].not_before(now, cal.is_workday, _deadline_ahead(items, today))
        if wait is not None and uid in mail_of:
            db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_of[uid]).values(not_before=wait))
        mobile = prefs.get(uid, (True, ""))[1]
        if mobile:
            row = queue_sms(mobile, "reminder",
                            {"name": names.get(uid, ""), "count": len(items), "deadline": first.deadline.isoformat(),
                             "case_number": first.case_number},
                            dedupe_key=f"sms:digest:{uid}:{sweep_key}", agency_id=agency_of.get(uid), not_before=wait)
            if row is not None:
                sms_ids.append(row.id)
    return sms_ids


def hold_staff_mails(mails: Iterable[tuple[int, int]], items_of: dict[int, list],
                     agency_of: dict[int, int | None], now: datetime | None = None) -> int:
    """Hold staff mails ((user id, outbox id) pairs) until their agency's quiet hours end, unless a
    reminder in them (``items_of[user]``) has a deadline that would pass by then. The mails held."""
    from webapp.cases.services.calendar import current_calendar

    now = now or now_utc()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    today = now.astimezone(SHANGHAI).date()
    mails = list(mails)
    quiet = quiet_hours_of(agency_of.get(uid) for uid, _ in mails)
    if not any(q.enabled for q in quiet.values()):
        return 0
    cal = current_calendar()
    held = 0
    for uid, mail_id in sorted(mails):
        q = quiet.get(agency_of.get(uid) or 0)
        wait = q.not_before(now, cal.is_workday, _deadline_ahead(items_of.get(uid, []), today)) if q else None
        if wait is not None:
            db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id).values(not_before=wait))
            held += 1
    return held
