"""Recording deliveries and returns (退件). Each call validates everything first, then writes the
Delivery row and its case-history event (cases.services.add_note: hash-chained, refused on an
archived case) and flushes; the caller commits, or rolls back on ServiceError: all or nothing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, select

from webapp.cases.services import add_note, ensure_changeable
from webapp.domain.kinds import AttachmentKind, DeliveryMethod, LetterKind
from webapp.domain.states import DELIVERY_FLAGGED, DeliveryStatus
from webapp.domain.workflow import EventType
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.letters import LETTER_FOR_EVENT, LETTER_TITLES
from webapp.models import Case, CaseEvent, OutboxMail, User
from webapp.models.delivery import Delivery
from webapp.prebuilt import prebuilt
from webapp.timeutil import today_shanghai

#: method code -> Chinese
METHODS = {m: m.label_zh for m in DeliveryMethod}
#: status code -> Chinese
STATUSES = {DeliveryStatus.DELIVERED: "已送达", DeliveryStatus.RETURNED: "退件", DeliveryStatus.UNDELIVERED: "未送达"}
FLAGGED = DELIVERY_FLAGGED
TRACKING_RE = re.compile(r"^[A-Za-z0-9]{6,30}$")


def _err(message: str, message_zh: str, rule: str) -> ServiceError:
    return ServiceError(message, message_zh, rule=rule)


def letter_kind(ev: CaseEvent) -> LetterKind | None:
    try:
        return LETTER_FOR_EVENT.get(EventType(ev.type))
    except ValueError:
        return None


def applicant_letters(case: Case) -> list[CaseEvent]:
    """The events of the case that sent a letter to the applicant, in order."""
    return [e for e in sorted(case.events, key=lambda e: e.seq)
            if (kind := letter_kind(e)) is not None and kind.to_applicant]


def letter_label(ev: CaseEvent) -> str:
    return f"{LETTER_TITLES[letter_kind(ev)]}（{ev.on.isoformat()}）"


def letter_mail(case: Case, ev: CaseEvent) -> OutboxMail | None:
    """The applicant notice that carried this letter by e-mail (notify/applicant_notices.py writes
    it with the dedupe key ``applicant:<case id>:<kind>:<event seq>``), or None."""
    from webapp.notify.applicant_notices import EVENT_KINDS

    kind = EVENT_KINDS.get(ev.type)
    if kind is None:
        return None
    return db.session.scalar(select(OutboxMail).where(OutboxMail.dedupe_key == f"applicant:{case.id}:{kind}:{ev.seq}"))


def deliveries_of(case: Case) -> list[Delivery]:
    stmt = prebuilt("deliveries_of", lambda: select(Delivery).where(Delivery.case_id == bindparam("case_id"))
                    .order_by(Delivery.id))     # every case page: built once (webapp/prebuilt.py)
    return list(db.session.scalars(stmt, {"case_id": case.id}))


def _check_date(on: date | None, today: date, not_before: date | None, what_zh: str, before_zh: str) -> None:
    if on is None:
        raise _err("a date is needed", f"请填写{what_zh}", "delivery.date")
    if on > today:
        raise _err("date in the future", f"{what_zh}不能晚于今天（{today.isoformat()}）", "delivery.future")
    if not_before is not None and on < not_before:
        raise _err("date before the letter", f"{what_zh}不能早于{before_zh}（{not_before.isoformat()}）",
                   "delivery.before_letter")


def record_delivery(case: Case, letter_event: CaseEvent | None, method: DeliveryMethod | str, on: date | None, *,
                    tracking_no: str = "", proof_upload: Any = None, note: str = "", proof_text: str = "",
                    actor: User | None = None, today: date | None = None, imported: bool = False,
                    actor_name: str = "") -> Delivery:
    """Record that ``letter_event``'s letter reached the applicant by ``method`` on ``on``.

    post: a tracking number (邮件号); email: the outbox mail that carried the letter, which must have
    been sent; pickup: the applicant's signature scan (``proof_upload``, a cases.attachments.Upload);
    online: nothing more. An import (``imported``) gives the proof as text instead.
    """
    today = today or today_shanghai()
    ensure_changeable(case)
    if method not in METHODS:
        raise _err(f"unknown delivery method {method!r}", "送达方式无效", "delivery.method")
    method = DeliveryMethod(method)
    kind: LetterKind | str = ""
    if letter_event is not None:
        if letter_event.case_id != case.id or letter_event not in applicant_letters(case):
            raise _err("not a letter of this case to the applicant", "请选择本案发给申请人的文书", "delivery.letter")
        kind = letter_kind(letter_event)
    elif not imported:
        raise _err("choose the letter", "请选择送达的文书", "delivery.letter")
    _check_date(on, today, letter_event.on if letter_event is not None else case.received_on, "送达日期",
                "文书发出之日" if letter_event is not None else "收到申请之日")
    tracking_no = (tracking_no or "").strip()
    note = (note or "").strip()
    if len(note) > 1000:
        raise _err("note too long", "备注不超过1000字", "delivery.note")
    mail = None
    proof = (proof_text or "").strip()[:200]
    if method == DeliveryMethod.POST:
        tracking_no = tracking_no or proof
        if not TRACKING_RE.match(tracking_no):
            raise _err("post needs a tracking number", "邮寄送达须填写邮件号（6至30位字母或数字）",
                       "delivery.tracking_no")
        proof = tracking_no
    elif method == DeliveryMethod.EMAIL and not imported:
        from webapp.notify.mail_status import state_of

        mail = letter_mail(case, letter_event)
        if mail is None:
            raise _err("no e-mail carried this letter", "发件箱中没有将该文书发给申请人的邮件，不能登记为电子邮件送达",
                       "delivery.email_missing")
        state = state_of(mail)
        if not state.sent:
            raise _err(f"the mail is {state.status}",
                       f"发件箱中该邮件的状态为“{state.text}”，尚未发出，不能登记为已送达", "delivery.email_not_sent")
        proof = f"发件箱邮件 #{mail.id}"
    elif method == DeliveryMethod.PICKUP and proof_upload is None and not (imported and proof):
        raise _err("pickup needs the signed receipt", "当面领取须上传申请人签收的扫描件", "delivery.proof")
    attachment = None
    if proof_upload is not None:
        from webapp.cases.attachments import store_attachment

        attachment = store_attachment(case, proof_upload.filename, proof_upload.data, proof_upload.content_type,
                                      kind=AttachmentKind.PROOF, user=actor)
        db.session.flush()
        if method != DeliveryMethod.POST:
            proof = proof_upload.filename
    d = Delivery(case_id=case.id, agency_id=case.agency_id, letter_event_id=letter_event.id if letter_event else None,
                 letter_kind=kind, method=method, delivered_on=on,
                 tracking_no=tracking_no if method == DeliveryMethod.POST else "",
                 outbox_id=mail.id if mail is not None else None,
                 proof_attachment_id=attachment.id if attachment is not None else None, proof=proof, note=note,
                 recorded_by_id=actor.id if actor is not None else None)
    db.session.add(d)
    db.session.flush()
    # a new attempt for the same letter settles the earlier returned ones
    if letter_event is not None:
        for old in db.session.scalars(select(Delivery).where(
                Delivery.case_id == case.id, Delivery.letter_event_id == letter_event.id, Delivery.id != d.id,
                Delivery.status.in_(FLAGGED), Delivery.resolved_by_id.is_(None))):
            old.resolved_by_id = d.id
    payload: dict[str, Any] = {"delivery_id": d.id, "letter": str(kind), "method": str(method), "proof": proof}
    if letter_event is not None:
        payload["letter_seq"] = letter_event.seq
    if note:
        payload["note"] = note
    add_note(case, "delivered", on, payload, actor, actor_name=actor_name)
    return d


def flag_return(delivery: Delivery, status: str, on: date | None, reason: str, *, actor: User | None = None,
                today: date | None = None, actor_name: str = "") -> Delivery:
    """The letter did not reach the applicant: returned post (退件) or otherwise undelivered (未送达).
    The delivery stays flagged on the case and the dashboard until a new delivery of the letter."""
    today = today or today_shanghai()
    case = delivery.case
    ensure_changeable(case)
    if status not in FLAGGED:
        raise _err("status must be returned or undelivered", "请选择退件或未送达", "delivery.status")
    if delivery.status != DeliveryStatus.DELIVERED:
        raise _err("already flagged", f"该送达记录已登记为{STATUSES[delivery.status]}", "delivery.flagged")
    if status == DeliveryStatus.RETURNED and delivery.method != DeliveryMethod.POST:
        raise _err("only post comes back", "只有邮寄送达才有退件；其他方式请登记为未送达", "delivery.status")
    _check_date(on, today, delivery.delivered_on, "退件或未送达的日期", "送达记录的日期")
    reason = (reason or "").strip()
    if not reason:
        raise _err("a reason is needed", "请填写退件或未送达的原因", "delivery.reason")
    if len(reason) > 1000:
        raise _err("reason too long", "原因不超过1000字", "delivery.reason")
    delivery.status, delivery.returned_on, delivery.return_reason = DeliveryStatus(status), on, reason
    add_note(case, "delivery_returned", on, {"delivery_id": delivery.id, "letter": str(delivery.letter_kind),
                                             "method": str(delivery.method), "proof": delivery.proof,
                                             "status": str(status), "reason": reason}, actor, actor_name=actor_name)
    db.session.flush()
    return delivery


# --- flags -------------------------------------------------------------------------------------------

def flagged_where(in_agencies: Any) -> tuple:
    """The flagged deliveries' conditions (``in_agencies``: a condition on ``Delivery.agency_id``): the
    list's, its count's and the dashboard's (a part of its one statement, cases/dashboard.py)."""
    return (in_agencies, Delivery.status.in_(FLAGGED), Delivery.resolved_by_id.is_(None))


def flagged_count(agency_ids: list[int]) -> int:
    stmt = prebuilt("flagged_count", lambda: select(func.count(Delivery.id)).where(
        *flagged_where(Delivery.agency_id.in_(bindparam("agency_ids", expanding=True)))))
    return db.session.scalar(stmt, {"agency_ids": list(agency_ids)}) or 0


def flagged(agency_ids: list[int]) -> list[Delivery]:
    return list(db.session.scalars(select(Delivery).where(*flagged_where(Delivery.agency_id.in_(agency_ids)))
                                   .order_by(Delivery.returned_on, Delivery.id)))


def case_flags(case: Case) -> list[Delivery]:
    return [d for d in deliveries_of(case) if d.flagged]
