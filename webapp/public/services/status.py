"""The applicant's status look-up: number + query code, throttling of failures, the status page's view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from webapp.cases.services.reply_route import is_electronic
from webapp.domain.clock import Status
from webapp.domain.kinds import AttachmentKind
from webapp.domain.workflow import EventType
from webapp.extensions import db
from webapp.models import Agency, Attachment, Case, CaseEvent
from webapp.models.submission import LookupFailure, Submission, SubmissionStatus

from .settings import (
    LookupThrottled,
    _dummy_hash,
    _naive_utc,
    normalize_number,
    normalize_query_code,
    setting,
    verify_query_code,
)

# --- the applicant's status look-up ------------------------------------------------------------

@dataclass
class Found:
    submission: Submission | None
    case: Case | None

    @property
    def number(self) -> str:
        return self.submission.number if self.submission is not None else self.case.number


def find_by_number(number: str) -> tuple[Submission | None, Case | None, str | None]:
    sub = db.session.scalars(select(Submission).where(Submission.number == number)).first()
    if sub is not None:
        case = db.session.get(Case, sub.case_id) if sub.case_id else None
        return sub, case, sub.query_code_hash
    case = db.session.scalars(select(Case).where(Case.number == number,
                                                 Case.query_code_hash.is_not(None))).first()
    if case is not None:
        sub = db.session.scalars(select(Submission).where(Submission.case_id == case.id)).first()
        return sub, case, case.query_code_hash
    return None, None, None


def lookup(number: Any, code: Any, *, remote_addr: str = "", addr_key: str | None = None,
           addr_limit: int | None = None, now: datetime | None = None) -> Found | None:
    """The submission/case behind (number, query code), or None -- for an unknown number and a
    wrong code alike, in about the same time. Failures are recorded (the caller commits even on None)
    and throttled per hour, from one address (``addr_key``, default the remote address; a portal's
    token for the API) and for one number: past either limit a wrong code raises LookupThrottled. The
    right code is always checked and gets through - nobody can lock an applicant out, neither by
    failing on their number nor from an address they share (a carrier's NAT, an office proxy). A
    12-character code (59 bits) is not found by trying; floods are the route limits' business.
    """
    now = _naive_utc(now)
    number_n = normalize_number(number)
    code_n = normalize_query_code(code)
    key = (addr_key if addr_key is not None else remote_addr)[:80]
    since = now - timedelta(hours=1)
    sub, case, stored = find_by_number(number_n) if number_n else (None, None, None)
    ok = verify_query_code(stored or _dummy_hash(), code_n or "X")   # the same work in every case
    if stored is not None and ok and code_n:
        return Found(sub, case)
    per_number = db.session.scalar(select(func.count(LookupFailure.id)).where(
        LookupFailure.number == number_n, LookupFailure.at >= since)) or 0
    per_addr = db.session.scalar(select(func.count(LookupFailure.id)).where(
        LookupFailure.remote_addr == key, LookupFailure.at >= since)) or 0 if key else 0
    db.session.add(LookupFailure(number=number_n, remote_addr=key, at=now))
    db.session.flush()
    addr_limit = addr_limit if addr_limit is not None else setting("LOOKUP_FAILURES_PER_ADDRESS_PER_HOUR")
    if per_number >= setting("LOOKUP_FAILURES_PER_NUMBER_PER_HOUR") or (key and per_addr >= addr_limit):
        raise LookupThrottled("too many failed look-ups", "查询失败次数过多，请一小时后再试",
                              rule="lookup.throttled")
    return None


def purge_lookup_failures(older_than: timedelta = timedelta(days=1)) -> int:
    rows = db.session.execute(LookupFailure.__table__.delete().where(
        LookupFailure.at < _naive_utc() - older_than))
    return rows.rowcount or 0


PLAIN_STATUS = {
    Status.REGISTERED.value: "已受理，正在办理",
    Status.AWAITING_CORRECTION.value: "需要您补正申请：请按补正告知书的要求补正，补正后重新计算答复期限",
    Status.CONSULTING.value: "正在征求意见，征求意见的时间不计入答复期限",
    Status.AWAITING_FEE.value: "等待您缴纳信息处理费，缴费期间不计入答复期限",
}
CLOSED_BY = {
    EventType.ANSWERED.value: "已答复，办理完毕",
    EventType.WITHDRAWN.value: "您已撤回申请，办理终止",
    EventType.CORRECTION_LAPSED.value: "逾期未补正，视为放弃申请，办理终止",
    EventType.FEE_LAPSED.value: "逾期未缴纳信息处理费，视为放弃申请，办理终止",
}
# What the applicant was told, by workflow event (consultations are between the office and others).
APPLICANT_EVENTS = {
    EventType.RECEIVED.value: "确认受理",
    EventType.CORRECTION_REQUESTED.value: "补正告知",
    EventType.CORRECTION_RECEIVED.value: "收到补正",
    EventType.CORRECTION_LAPSED.value: "逾期未补正",
    EventType.EXTENDED.value: "延期答复告知",
    EventType.FEE_NOTICE.value: "收费通知",
    EventType.FEE_PAID.value: "收到缴费",
    EventType.FEE_LAPSED.value: "逾期未缴费",
    EventType.ANSWERED.value: "答复",
    EventType.WITHDRAWN.value: "撤回申请",
}


def _notice_detail(ev: CaseEvent) -> str:
    p = ev.payload or {}
    if ev.type == EventType.RECEIVED.value:
        return f"收到申请之日为{ev.on.isoformat()}，答复期限自该日起计算"
    if ev.type == EventType.CORRECTION_REQUESTED.value and p.get("reply_by"):
        return f"请于{p['reply_by']}前补正"
    if ev.type == EventType.EXTENDED.value:
        return f"答复期限延长{p.get('days', 20)}个工作日"
    if ev.type == EventType.FEE_NOTICE.value and p.get("amount_yuan") is not None:
        return f"信息处理费{p['amount_yuan']}元"
    return ""


def applicant_letters(case: Case) -> list[Attachment]:
    """The letters addressed to the applicant that they may download (electronic route only):
    those sent with an applicant notice, and those titled as one of the applicant's letters."""
    from webapp.notify.applicant_notices import LETTER_TITLES

    if not is_electronic(case.form_wanted, case.route_wanted):
        return []
    sent: set[int] = set()
    for ev in case.events:
        if ev.type == "notice_sent":
            sent.update(int(i) for i in (ev.payload or {}).get("letters", []))
    letters = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id,
                                                          Attachment.kind == AttachmentKind.LETTER)
                                 .order_by(Attachment.uploaded_at, Attachment.id)).all()
    return [a for a in letters if a.id in sent or any(t in a.filename for t in LETTER_TITLES.values())]


def notice_mail_states(events: list[CaseEvent], workflow: list[CaseEvent]):
    """Each workflow event with the state of the mail telling the applicant about it (a
    notify.mail_status.MailState, read from its outbox row), or None when none was written."""
    from webapp.notify.mail_status import states

    mail_of = {(ev.payload or {}).get("event_seq"): (ev.payload or {}).get("outbox_id")
               for ev in events if ev.type == "notice_sent"}
    found = states(i for i in mail_of.values() if i is not None)
    return [(e, found.get(mail_of[e.seq]) if e.seq in mail_of else None) for e in workflow]


def status_view(found: Found, today: date | None = None) -> dict[str, Any]:
    """What the applicant may see, and nothing more: the state in plain Chinese, the receipt date,
    the due date (provisional or not), the notices issued, and the letters to download."""
    sub, case = found.submission, found.case
    agency = db.session.get(Agency, case.agency_id if case is not None else sub.agency_id)
    out: dict[str, Any] = {
        "number": found.number, "case_number": case.number if case is not None else None,
        "agency": agency.name if agency else "", "submitted_on": sub.submitted_on if sub else None,
        "received_on": None, "due_on": None, "due_provisional": False, "closed_on": None,
        "reject_reason": None, "notices": [], "letters": [],
    }
    if case is None:
        status = sub.status_enum
        out["status"] = status.value
        if status is SubmissionStatus.REJECTED:
            out["status_text"] = "未予受理：经审核，该提交不属于有效的政府信息公开申请"
            out["reject_reason"] = sub.reject_reason
        elif status is SubmissionStatus.ROUTED:
            out["status_text"] = f"已分送{agency.name}办理，等待其确认受理"
        else:
            out["status_text"] = f"已提交，等待{agency.name}确认受理（确认之日为收到申请之日）"
        return out
    events = sorted(case.events, key=lambda e: e.seq)
    workflow = [e for e in events if e.type in APPLICANT_EVENTS]
    out["status"] = case.status or ""
    if case.status == Status.CLOSED.value:
        last = next((e for e in reversed(events) if e.type in CLOSED_BY), None)
        out["status_text"] = CLOSED_BY.get(last.type if last else "", "办理完毕")
        out["closed_on"] = case.closed_on
    else:
        text = PLAIN_STATUS.get(case.status or "", "正在办理")
        if case.status == Status.REGISTERED.value and case.extended:
            text += "（已延期答复）"
        out["status_text"] = text
    out["received_on"] = case.received_on
    if case.status != Status.CLOSED.value:
        out["due_on"] = case.due_on
        out["due_provisional"] = bool(case.due_on and case.due_provisional)
    from webapp.notify.applicant_notices import _channels

    by_sms = _channels(case.notify_via, case.applicant.email if case.applicant else "",
                       case.applicant.phone if case.applicant else "")[0] == ""   # SMS only (webapp/sms/)
    out["notices"] = [{"type": e.type, "title": APPLICANT_EVENTS[e.type], "on": e.on,
                       "detail": _notice_detail(e), "emailed": bool(mail and mail.sent),
                       "mail_state": str(mail.status) if mail else None, "mail_text": mail.text if mail else "",
                       "mail_css": mail.css if mail else "", "mail_word": "短信" if by_sms else "邮件"}
                      for e, mail in notice_mail_states(events, workflow)]
    out["letters"] = [{"id": a.id, "filename": a.filename, "size": a.size} for a in applicant_letters(case)]
    return out
