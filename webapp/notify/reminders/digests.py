"""The morning digest mail (composed at delivery) and the annual report reminder."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from webapp.cases.services.calendar import current_calendar
from webapp.domain.annual_report import report_due_on
from webapp.domain.kinds import Role
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, Notification, OutboxMail, ReportVersion, User

from ..outbox.templates import base_url, mail_renderer
from .kinds import KINDS, Item
from .people import _recipients, _users, user_context
from .sweep import _auto_lapse_agencies, collect
from .writing import Mail, Note, insert_mails, notify_and_mail


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
    force (notify/outbox/ calls this when it delivers the mail, and stores the text)."""
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
    # quiet hours (webapp/sms/): the agenda waits for the agency's window like the sweep's digests
    from webapp.sms.staff import hold_staff_mails

    hold_staff_mails([(uid, written[f"morning:{uid}:{today.isoformat()}"]) for uid in per_user
                      if f"morning:{uid}:{today.isoformat()}" in written], per_user,
                     {uid: users[uid].agency_id for uid in per_user if uid in users}, now)
    db.session.flush()
    return len(written)


# --- the annual report (report.md, "Year close-out") ------------------------------------------------

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
        deadline = report_due_on(year, agency.kind)   # Art. 49 (domain/annual_report.py)
        state = "尚未生成（年度结账尚未完成）" if latest is None else f"已结账（第{latest.version}版），尚未定稿"
        link = f"/reports/agency/{agency.code}/{year}"
        for uid in db.session.scalars(select(User.id).where(User.agency_id == agency.id, User.role == Role.APPROVER,
                                                            User.active.is_(True)).order_by(User.id)):
            key = f"annual_report_due:{agency.id}:{year}:w{week}:{uid}"
            notes.append(Note(key, "annual_report_due", uid, f"{agency.name}{year}年度报告尚未定稿",
                              f"{year}年度政府信息公开工作年度报告{state}，应于{deadline.isoformat()}前公布。",
                              link, agency.id, None, deadline))
            context[key] = {"agency_name": agency.name, "year": year, "deadline": deadline.isoformat(),
                            "days_left": (deadline - today).days, "state_text": state, "url": base + link,
                            "base_url": base}
    return notify_and_mail(notes, "annual_report_due", context, now)
