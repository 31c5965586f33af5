"""E-mail notices to applicants of online submissions: at submission and rejection (before a
case exists), and at confirmation, correction notice (补正告知), extension (延期), fee notice (收费通知)
and answer (答复) once it does.

Each notice is an OutboxMail row written in the caller's transaction (the workers' delivery task
sends it) with a dedupe key, so it exists exactly once:
``applicant:<case id>:<kind>:<event seq>`` for a case, ``submission:<id>:<kind>`` before one. A
sent case notice is also a ``notice_sent`` event on the case history (cases.services.add_note).

Texts: ``templates/notices/<kind>.txt`` (first line the subject, a blank line, the body; Jinja), or
an administrator's EmailTemplate row of kind ``applicant_<kind>`` (webapp/models/emails.py),
rendered from plain values in the sandbox of webapp/sandbox/ (bounded time and size).

Where the applicant chose electronic delivery, the notice carries its letter (an
Attachment(kind='letter') on the case whose file name holds the letter's title, e.g. 答复书) in
OutboxMail.attachment_ids. Hooks: ``on_case_event(case, event_row)`` -- connected to
cases.services.signals.case_event_recorded by ``install()``; a notice whose letter is not stored yet is
written when the transaction commits, with the letter stored by then -- and
``sweep_applicant_notices()``, the safety net for a notice whose writing failed.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import event as sa_event
from sqlalchemy import select

from webapp.cases.services import add_note
from webapp.cases.services.applicants import mask_email, mask_phone
from webapp.cases.services.reply_route import is_electronic
from webapp.domain.kinds import AttachmentKind, MailChannel
from webapp.domain.labels import APPLICANT_LETTER_MARKS, outcome_phrase
from webapp.domain.workflow import EventType
from webapp.extensions import db
from webapp.models import Agency, Attachment, Case, CaseEvent, OutboxMail
from webapp.models.submission import Submission
from webapp.sandbox import SafeTemplates
from webapp.timeutil import now_utc, today_shanghai

log = logging.getLogger(__name__)

#: notice kind -> the workflow event that triggers it
NOTICE_EVENTS = {
    "confirmation": EventType.RECEIVED.value,
    "correction": EventType.CORRECTION_REQUESTED.value,
    "extension": EventType.EXTENDED.value,
    "fee": EventType.FEE_NOTICE.value,
    "answer": EventType.ANSWERED.value,
}
EVENT_KINDS = {v: k for k, v in NOTICE_EVENTS.items()}
#: the applicant's letter of each kind, recognised by this title in its file name
LETTER_TITLES = APPLICANT_LETTER_MARKS   # what the applicant's letters' file names contain (domain/labels.py)
SUBMISSION_KINDS = ("submitted", "rejected")
ALL_KINDS = SUBMISSION_KINDS + tuple(NOTICE_EVENTS)

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "notices"
#: the notices' texts are rendered here, from plain values (webapp/sandbox/)
NOTICES = SafeTemplates(keep_trailing_newline=True)


# --- texts ---------------------------------------------------------------------------------------

def template_text(kind: str) -> tuple[str, str]:
    """(subject, body) Jinja sources for ``kind``: the administrator's EmailTemplate row
    ``applicant_<kind>`` if there is one, else templates/notices/<kind>.txt."""
    if kind not in ALL_KINDS:
        raise KeyError(f"no applicant notice {kind!r}")
    try:
        from webapp.models.emails import EmailTemplate
    except ImportError:   # the workers' model is optional
        EmailTemplate = None
    if EmailTemplate is not None:
        row = db.session.scalar(select(EmailTemplate).where(EmailTemplate.kind == f"applicant_{kind}"))
        if row is not None:
            return row.subject, row.body
    text = (TEMPLATE_DIR / f"{kind}.txt").read_text(encoding="utf-8")
    subject, _, body = text.partition("\n")
    return subject.strip(), body.removeprefix("\n")


def render_notice(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    subject_src, body_src = template_text(kind)
    subject = NOTICES.render(subject_src, context)
    body = NOTICES.render(body_src, context)
    return " ".join(subject.split())[:300], body


def status_url() -> str:
    """Where applicants look their application up: BASE_URL (the service's public address), else
    this request's host, else the outbox's default."""
    from .outbox.templates import base_url

    base = current_app.config.get("BASE_URL") or (request.host_url if has_request_context() else "") \
        or base_url()
    return base.rstrip("/") + "/status"


def _base_context(agency: Agency | None) -> dict[str, Any]:
    return {"agency_name": agency.name if agency else "", "agency_phone": agency.phone if agency else "",
            "agency_address": agency.address if agency else "", "status_url": status_url()}


# --- writing mail --------------------------------------------------------------------------------

def queue_mail(to_addr: str, subject: str, body: str, dedupe_key: str,
               attachment_ids: list[int] | tuple[int, ...] = (), secrets: list[str] | None = None,
               agency_id: int | None = None) -> OutboxMail | None:
    """An outbox row through the workers' outbox (notify/outbox/), unless one with this dedupe
    key exists (then None): exactly once. Delivery is requested for after the commit. ``secrets``
    are masked in the stored text once sent."""
    from webapp.sms.quiet import not_before_for

    from .outbox.delivery import request_delivery
    from .outbox.queue import queue_mail as outbox_queue_mail

    mail = outbox_queue_mail(to_addr, subject, body, dedupe_key=dedupe_key, attachment_ids=attachment_ids,
                             secrets=secrets or (), agency_id=agency_id)
    if mail is not None:
        # the agency may have its applicant mail honour quiet hours (webapp/sms/quiet.py)
        mail.not_before = not_before_for(agency_id, applicant_mail=True)
        request_delivery()
    return mail


def _channels(via: str | None, email: str, phone: str) -> tuple[str, str]:
    """(mail address, mobile number) a notice goes to, per the applicant's choice as filed
    (e-mail, SMS or both); a choice that cannot be honoured (SMS without a mobile number) falls
    back to e-mail."""
    from webapp.sms.outbox import normalize_mobile, wants

    mobile = normalize_mobile(phone) if wants(via, MailChannel.SMS) else ""
    to = (email or "").strip() if (wants(via, MailChannel.EMAIL) or not mobile) else ""
    return to, mobile


def queue_applicant_sms(mobile: str, kind: str, params: dict[str, Any], dedupe_key: str,
                        agency_id: int | None) -> OutboxMail | None:
    """The SMS twin of a notice (webapp/sms/), held for the agency's quiet hours."""
    from webapp.sms.outbox import queue_sms
    from webapp.sms.quiet import not_before_for

    row = queue_sms(mobile, kind, params, dedupe_key="sms:" + dedupe_key, agency_id=agency_id,
                    not_before=not_before_for(agency_id))
    if row is not None:
        from .outbox.delivery import request_delivery

        request_delivery()
    return row


def notify_submission(sub: Submission, kind: str, query_code: str | None = None) -> OutboxMail | None:
    """Mail about a submission that is not (yet) a case: its receipt with the number and the query
    code ('submitted'), or its rejection with the reason ('rejected')."""
    if kind not in SUBMISSION_KINDS:
        raise ValueError(kind)
    to, mobile = _channels(sub.notify_via, (sub.applicant or {}).get("email") or "",
                           (sub.applicant or {}).get("phone") or "")
    if not to and not mobile:
        return None
    agency = db.session.get(Agency, sub.agency_id)
    key = f"submission:{sub.id}:{kind}"
    sms = queue_applicant_sms(mobile, kind, {"agency": agency.name if agency else "", "number": sub.number},
                              key, sub.agency_id) if mobile else None
    if not to:
        return sms
    ctx = {**_base_context(agency), "applicant_name": sub.applicant.get("name", ""), "number": sub.number,
           "query_code": query_code or "", "submitted_on": sub.submitted_on.isoformat(),
           "items": list(sub.items), "reject_reason": sub.reject_reason}
    subject, body = render_notice(kind, ctx)
    return queue_mail(to, subject, body, key, secrets=[query_code] if query_code else [],
                      agency_id=sub.agency_id)


def submission_of(case: Case) -> Submission | None:
    return db.session.scalars(select(Submission).where(Submission.case_id == case.id)).first()


def wants_electronic(case: Case) -> bool:
    return is_electronic(case.form_wanted, case.route_wanted)


def _sent_letter_ids(case: Case) -> set[int]:
    ids: set[int] = set()
    for ev in case.events:
        if ev.type == "notice_sent":
            ids.update(int(i) for i in (ev.payload or {}).get("letters", []))
    return ids


def letters_for(case: Case, kind: str) -> list[Attachment]:
    """The case's letters of this kind (title in the file name) not sent in an earlier notice."""
    title = LETTER_TITLES.get(kind)
    if title is None:
        return []
    sent = _sent_letter_ids(case)
    rows = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id,
                                                       Attachment.kind == AttachmentKind.LETTER)
                              .order_by(Attachment.uploaded_at, Attachment.id)).all()
    # 答复书 is also the tail of no other title; 延期答复告知书 does not contain 答复书
    return [a for a in rows if title in a.filename and a.id not in sent]


def _event_for(case: Case, kind: str) -> CaseEvent | None:
    etype = NOTICE_EVENTS[kind]
    matching = [e for e in case.events if e.type == etype]
    return max(matching, key=lambda e: e.seq) if matching else None


def _case_context(case: Case, kind: str, ev: CaseEvent, sub: Submission | None,
                  letters: list[Attachment]) -> dict[str, Any]:
    agency = db.session.get(Agency, case.agency_id)
    p = ev.payload or {}
    outcome = ""
    if kind == "answer" and case.outcome:
        try:
            outcome = outcome_phrase(case.outcome)
        except ValueError:
            outcome = ""
    return {**_base_context(agency), "applicant_name": case.applicant.name if case.applicant else "",
            "number": sub.number if sub is not None else case.number, "case_number": case.number,
            "received_on": case.received_on.isoformat() if case.received_on else "",
            "due_on": case.due_on.isoformat() if case.due_on else "",
            "due_provisional": bool(case.due_on and case.due_provisional),
            "event_on": ev.on.isoformat(), "reply_by": p.get("reply_by", ""),
            "days": p.get("days", ""), "amount_yuan": p.get("amount_yuan", ""), "outcome": outcome,
            "items": [i.text for i in case.items], "letters": [a.filename for a in letters],
            "electronic": wants_electronic(case)}


def dedupe_key(case: Case, kind: str, ev: CaseEvent) -> str:
    return f"applicant:{case.id}:{kind}:{ev.seq}"


def notify_applicant(case: Case, kind: str, event: CaseEvent | None = None, *,
                     letters: list[Attachment] | None = None, today: date | None = None) -> OutboxMail | None:
    """Write the ``kind`` notice for ``event`` (default: the case's latest event of that kind) to the
    outbox and record a ``notice_sent`` event -- once: a second call finds the dedupe key and does
    nothing. Only for cases that came in online (they carry a query code) with an e-mail address."""
    if kind not in NOTICE_EVENTS:
        raise ValueError(f"unknown applicant notice {kind!r}")
    if not case.query_code_hash or case.applicant is None:
        return None
    to, mobile = _channels(case.notify_via, case.applicant.email, case.applicant.phone)
    if not to and not mobile:
        return None
    ev = event if event is not None else _event_for(case, kind)
    if ev is None or ev.type != NOTICE_EVENTS[kind]:
        return None
    key = dedupe_key(case, kind, ev)
    if db.session.scalar(select(OutboxMail.id).where(OutboxMail.dedupe_key.in_((key, "sms:" + key)))) is not None:
        return None
    if letters is None:
        letters = letters_for(case, kind) if wants_electronic(case) else []
    elif not wants_electronic(case):
        letters = []
    # everything that can fail (templates) before anything is written
    ctx = _case_context(case, kind, ev, submission_of(case), letters)
    mail = sms = None
    if to:
        subject, body = render_notice(kind, ctx)
        mail = queue_mail(to, subject, body, key, [a.id for a in letters], agency_id=case.agency_id)
    if mobile:
        sms = queue_applicant_sms(mobile, kind, {
            "agency": ctx["agency_name"], "number": ctx["number"], "due_on": ctx["due_on"],
            "reply_by": ctx["reply_by"], "amount": ctx["amount_yuan"]}, key, case.agency_id)
    first = mail or sms
    if first is None:
        return None
    payload = {"kind": kind, "event_seq": ev.seq, "outbox_id": first.id, "dedupe_key": key,
               "to": mask_email(to) if to else mask_phone(mobile), "letters": [a.id for a in letters]}
    if mail is None:
        payload["channel"] = "sms"
    elif sms is not None:
        payload["sms_outbox_id"] = sms.id
    add_note(case, "notice_sent", today or today_shanghai(), payload, actor_name="系统")
    return first


# --- hooks ---------------------------------------------------------------------------------------

def on_case_event(case: Case, event_row: CaseEvent, *, letters: list[Attachment] | None = None,
                  wait_for_letter: bool = False) -> OutboxMail | None:
    """React to a recorded workflow event: the notice of its kind, if any.

    With ``wait_for_letter`` (the signal's way), a notice that should carry a letter which is not
    stored yet is left for a later call (the signal's receiver writes it at the commit). Call it
    from a route after storing the letter, or pass ``letters``."""
    kind = EVENT_KINDS.get(event_row.type)
    if kind is None:
        return None
    if (wait_for_letter and letters is None and kind in LETTER_TITLES and wants_electronic(case)
            and case.query_code_hash and not letters_for(case, kind)):
        return None
    return notify_applicant(case, kind, event_row, letters=letters)


def _on_signal(sender: Any, event: CaseEvent | None = None, **_: Any) -> None:
    if not isinstance(sender, Case) or event is None or event.type not in EVENT_KINDS:
        return
    if not sender.query_code_hash:
        return   # not an online application: nothing to do, and no query at all
    try:
        mail = on_case_event(sender, event, wait_for_letter=True)
    except Exception:   # a notice must never stop a clerk's action; the commit and the sweep try again
        log.exception("applicant notice for case %s event %s failed", sender.id, event.seq)
        mail = None
    if mail is None:
        _write_at_commit(sender.id, event.seq)


_AT_COMMIT = "applicant_notices_at_commit"


def _write_at_commit(case_id: int, seq: int) -> None:
    """The letter of a notice is usually stored just after its event, in the same transaction (the
    case page records the event, then stores the letter, then commits). Write the notice -- with
    the letter -- when that transaction commits, as its last change: the notice is in the outbox
    the moment the event is, and nothing is written if it rolls back. The sweep remains the safety
    net (a failure here is logged, never stops the commit)."""
    session = db.session()
    session.info.setdefault(_AT_COMMIT, []).append((case_id, seq))
    if not sa_event.contains(session, "before_commit", _before_commit):
        sa_event.listen(session, "before_commit", _before_commit)
        sa_event.listen(session, "after_transaction_end", _after_transaction_end)


def _before_commit(session) -> None:
    if session.in_nested_transaction():
        return   # a savepoint's commit: wait for the real one
    pending = session.info.pop(_AT_COMMIT, None)
    for case_id, seq in pending or ():
        savepoint = session.begin_nested()
        try:
            case = session.get(Case, case_id)
            ev = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == seq))
            if case is not None and ev is not None:
                notify_applicant(case, EVENT_KINDS[ev.type], ev)
            savepoint.commit()
        except Exception:
            savepoint.rollback()
            log.exception("applicant notice for case %s event %s failed at commit", case_id, seq)


def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is None:   # committed (then already written) or rolled back: forget
        session.info.pop(_AT_COMMIT, None)


_installed = False


def install() -> None:
    """Connect the notices to cases.services.signals.case_event_recorded (idempotent)."""
    global _installed
    from webapp.cases.services.signals import case_event_recorded

    if not _installed:
        case_event_recorded.connect(_on_signal, weak=False)
        _installed = True


def sweep_applicant_notices(now: datetime | None = None, grace: timedelta = timedelta(minutes=10)) -> int:
    """Write the notices still missing for events older than ``grace`` (e.g. one that waited for
    its letter, or whose hook failed): with the letter if it exists by now, else without. For a
    periodic task; returns the number written."""
    now = (now or now_utc()).replace(tzinfo=None)
    since = now - timedelta(days=30)
    rows = db.session.execute(
        select(CaseEvent, Case).join(Case, CaseEvent.case_id == Case.id)
        .where(Case.query_code_hash.is_not(None), CaseEvent.type.in_(list(EVENT_KINDS)),
               CaseEvent.recorded_at <= now - grace, CaseEvent.recorded_at >= since)
        .order_by(CaseEvent.case_id, CaseEvent.seq)).all()
    n = 0
    for ev, case in rows:
        if notify_applicant(case, EVENT_KINDS[ev.type], ev) is not None:
            n += 1
    return n
