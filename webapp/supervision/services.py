"""督办通知: sending a supervision notice to a department and recording its reply. Every change of a
notice happens here; the caller commits.

Sending writes, in one transaction: the notice row; for a notice about a case the non-statutory case
event ``supervision_notice`` (it does not move the clock); a bell notification for each active user
of the department; one outbox mail per such user with an address (dedupe key per notice and user:
mailed exactly once, however often ``queue_notice_mail`` runs); and the audit row
``supervision.notice_sent``. A reply writes the reply, the case event ``supervision_reply`` and the
audit row ``supervision.notice_replied``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.cases.services import add_note
from webapp.cases.services.applicants import has_control_chars
from webapp.domain.kinds import AgencyKind
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Case, Notification, OutboxMail, SupervisionNotice, User
from webapp.models._types import utcnow
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

MESSAGE_LIMIT = 2000
NOTICE_KIND = "supervision_notice"
EVENT_NOTICE, EVENT_REPLY = "supervision_notice", "supervision_reply"


def _clean_text(text: str | None, what_zh: str, rule: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ServiceError(f"{rule}: empty", f"请填写{what_zh}", rule=rule)
    if has_control_chars(text):
        raise ServiceError(f"{rule}: control characters", f"{what_zh}含有无法识别的控制字符", rule=rule)
    if len(text) > MESSAGE_LIMIT:
        raise ServiceError(f"{rule}: too long", f"{what_zh}不超过{MESSAGE_LIMIT}字", rule=rule)
    return text


def may_supervise(user, agency: Agency) -> bool:
    """A government-level user over one of its departments (not itself); an installation-wide
    account (no agency) over any agency."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.agency_id is None:
        return True
    gov = db.session.get(Agency, user.agency_id)
    return gov is not None and gov.kind == AgencyKind.GOVERNMENT and agency.parent_id == gov.id


def recipients(agency_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(User.agency_id == agency_id, User.active.is_(True))
                                   .order_by(User.id)))


def notice_link(notice: SupervisionNotice) -> str:
    return f"/supervision/notices/{notice.id}"


def send_notice(sender: User, agency: Agency, message: str, reply_by: date, *, case: Case | None = None,
                today: date | None = None) -> SupervisionNotice:
    today = today or today_shanghai()
    if not may_supervise(sender, agency):
        raise ServiceError("not a department this user supervises", "只能向本级政府所属部门发出督办通知",
                           rule="supervision.scope")
    if case is not None and case.agency_id != agency.id:
        raise ServiceError("the case is not the department's", "该案件不属于所督办的部门", rule="supervision.case")
    message = _clean_text(message, "督办内容", "supervision.message")
    if reply_by is None or reply_by < today:
        raise ServiceError("reply_by must be today or later", "回复期限不能早于今天", rule="supervision.reply_by")
    notice = SupervisionNotice(government_id=sender.agency_id, agency_id=agency.id,
                               case_id=case.id if case is not None else None, message=message, sent_on=today,
                               reply_by=reply_by, sent_by_id=sender.id, sent_by_name=sender.display_name)
    db.session.add(notice)
    db.session.flush()
    if case is not None:
        add_note(case, EVENT_NOTICE, today, {"notice_id": notice.id, "message": message,
                                             "reply_by": reply_by.isoformat()}, sender)
    about = f"（案件 {case.number}）" if case is not None else ""
    title = f"督办通知{about}：请于{reply_by.isoformat()}前回复"
    for user in recipients(agency.id):
        db.session.add(Notification(dedupe_key=f"supervision:{notice.id}:{user.id}", agency_id=agency.id,
                                    case_id=notice.case_id, kind=NOTICE_KIND, ref_date=reply_by,
                                    recipient_id=user.id, title=title[:300], body=message[:500],
                                    link=notice_link(notice)))
    db.session.flush()
    queue_notice_mail(notice)
    log_event("supervision.notice_sent", user=sender, target_type="supervision_notice", target_id=notice.id,
              detail={"agency_id": agency.id, "case_id": notice.case_id, "reply_by": reply_by.isoformat()})
    return notice


def mail_key(notice: SupervisionNotice, user: User) -> str:
    return f"supervision:{notice.id}:user:{user.id}"


def queue_notice_mail(notice: SupervisionNotice) -> list[OutboxMail]:
    """One outbox mail per active user of the department with an address, once: a second call
    (a retry, a sweep) queues nothing more. Delivery is asked for after the commit."""
    from webapp.notify.outbox import base_url, queue_mail, request_delivery

    agency = db.session.get(Agency, notice.agency_id)
    sender = "本级人民政府" if notice.government_id is None else db.session.get(Agency, notice.government_id).name
    case = db.session.get(Case, notice.case_id) if notice.case_id else None
    subject = f"督办通知：{agency.name}" + (f"（案件 {case.number}）" if case else "")
    body = (f"{agency.name}：\n\n{sender}就" + (f"案件 {case.number}" if case else "你单位政府信息公开申请办理工作")
            + f"发出督办通知：\n\n{notice.message}\n\n请于{notice.reply_by.isoformat()}前在系统中回复：\n"
            + f"{base_url()}{notice_link(notice)}\n")
    queued = []
    for user in recipients(notice.agency_id):
        if not user.email:
            continue
        mail = queue_mail(user.email, subject, body, dedupe_key=mail_key(notice, user), agency_id=notice.agency_id)
        if mail is not None:
            queued.append(mail)
            n = db.session.scalar(select(Notification).where(
                Notification.dedupe_key == f"supervision:{notice.id}:{user.id}"))
            if n is not None and n.outbox_id is None:
                n.outbox_id = mail.id
    if queued:
        request_delivery()
    return queued


def reply_notice(notice: SupervisionNotice, user: User, reply: str, today: date | None = None) -> SupervisionNotice:
    today = today or today_shanghai()
    if user.agency_id != notice.agency_id:
        raise ServiceError("only the department addressed replies", "只有被督办部门可以回复该督办通知",
                           rule="supervision.reply_scope")
    if notice.replied_at is not None:
        raise ServiceError("already replied", "该督办通知已回复", rule="supervision.replied")
    reply = _clean_text(reply, "回复内容", "supervision.reply")
    notice.reply = reply
    notice.replied_on = today
    notice.replied_by_id = user.id
    notice.replied_by_name = user.display_name
    notice.replied_at = utcnow()
    if notice.case_id is not None:
        add_note(db.session.get(Case, notice.case_id), EVENT_REPLY, today,
                 {"notice_id": notice.id, "reply": reply}, user)
    log_event("supervision.notice_replied", user=user, target_type="supervision_notice", target_id=notice.id,
              detail={"agency_id": notice.agency_id, "case_id": notice.case_id,
                      "late": today > notice.reply_by})
    db.session.flush()
    return notice


def notices_for(user, open_only: bool = False, limit: int = 200) -> list[SupervisionNotice]:
    """Notices a user may see: addressed to their agency, or sent by their government (every notice
    for an installation-wide account); newest first."""
    return list(db.session.scalars(notices_query(user.agency_id, open_only, limit)))


def notices_query(agency_id: Any, open_only: bool = False, limit: int = 200) -> Any:
    """``notices_for``'s statement for a user of ``agency_id`` (a value or a parameter; None: every
    notice); also a part of the dashboard's one statement (cases/dashboard.py)."""
    from sqlalchemy import or_

    q = select(SupervisionNotice)
    if agency_id is not None:
        q = q.where(or_(SupervisionNotice.agency_id == agency_id,
                        SupervisionNotice.government_id == agency_id))
    if open_only:
        q = q.where(SupervisionNotice.replied_at.is_(None))
    return q.order_by(SupervisionNotice.id.desc()).limit(limit)


def may_see(user, notice: SupervisionNotice) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.agency_id is None or user.agency_id in (notice.agency_id, notice.government_id)
