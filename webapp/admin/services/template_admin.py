"""Letter and mail templates edited by the installation's administrator.

Both tables hold one text per kind for the whole installation (no agency column): any
administrator's change applies to every agency, and the page says so.

A text is checked before it is saved by rendering it in the sandbox (webapp/sandbox/) against a
sample built in memory from plain values (letters: webapp/letters ``sample_letter_context``; mails:
notify/outbox ``check_email_template``) -- never against a real case -- inside a savepoint that is
always rolled back. The audit row of a change keeps the text itself: a unified diff of the text
before and after (and both hashes).
"""

from __future__ import annotations

import difflib
import hashlib

from sqlalchemy import select

from webapp.errors import NotFound, ServiceError
from webapp.extensions import db
from webapp.models import User
from webapp.models._types import utcnow
from webapp.trust.audit import log_event

from .agency_admin import reject_control_chars, require_installation_admin


def _digest(text_: str | None) -> str | None:
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()[:16] if text_ is not None else None


def text_diff(before: str, after: str) -> str:
    """The unified diff of a template text, before -> after (what the audit row keeps)."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile="before", tofile="after", lineterm="\n"))


def _mail_text(subject: str, body: str) -> str:
    return f"主题：{subject}\n\n{body}"


def _in_rolled_back_savepoint(check):
    """Run ``check()`` in a savepoint that is always rolled back (the check reads no case and writes
    nothing; this keeps it so whatever it calls)."""
    savepoint = db.session.begin_nested()
    try:
        return check()
    finally:
        savepoint.rollback()


def letter_overridden(kind: str) -> bool:
    from webapp.models.letters import LetterTemplate

    return db.session.scalar(select(LetterTemplate.id).where(LetterTemplate.kind == kind)) is not None


def check_letter_template(kind: str, body: str) -> None:
    """The template must compile in the letters' sandbox and render for the in-memory sample case
    (webapp/letters ``sample_letter_context``); ServiceError (Chinese) if not."""
    from webapp.letters.render import LETTER_TITLES, LETTERS, sample_letter_context

    if kind not in LETTER_TITLES:
        raise NotFound(f"no letter kind {kind!r}", "没有该类文书")
    problem = _in_rolled_back_savepoint(lambda: LETTERS.problem(body, sample_letter_context(kind), strict=False))
    if problem:
        raise ServiceError(f"template does not render: {problem}", f"模板无法生成文书（以示例案件试算）：{problem}",
                           rule="template.render")


def save_letter_template(actor: User | None, kind: str, body: str) -> None:
    require_installation_admin(actor, "文书模板")
    from webapp.letters.render import default_template_source
    from webapp.models.letters import LetterTemplate

    body = reject_control_chars((body or "").replace("\r\n", "\n"), "模板")
    if not body.strip():
        raise ServiceError("the template is empty", "模板不能为空", rule="template.empty")
    check_letter_template(kind, body)
    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.kind == kind))
    before = row.body if row is not None else default_template_source(kind)
    if before == body and row is not None:
        return
    if row is None:
        row = LetterTemplate(kind=kind, body=body)
        db.session.add(row)
    row.body = body
    row.updated_by_id = actor.id if actor is not None else None
    row.updated_at = utcnow()
    db.session.flush()
    log_event("admin.letter_template_saved", user=actor, target_type="letter_template", target_id=kind,
              detail={"kind": kind, "before_sha": _digest(before), "after_sha": _digest(body), "length": len(body),
                      "diff": text_diff(before, body)})


def reset_letter_template(actor: User | None, kind: str) -> bool:
    require_installation_admin(actor, "文书模板")
    from webapp.letters.render import default_template_source
    from webapp.models.letters import LetterTemplate

    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.kind == kind))
    if row is None:
        return False
    log_event("admin.letter_template_reset", user=actor, target_type="letter_template", target_id=kind,
              detail={"kind": kind, "before_sha": _digest(row.body),
                      "diff": text_diff(row.body, default_template_source(kind))})
    db.session.delete(row)
    db.session.flush()
    return True


def email_overridden(kind: str) -> bool:
    from webapp.models.emails import EmailTemplate

    return db.session.scalar(select(EmailTemplate.id).where(EmailTemplate.kind == kind)) is not None


def save_email_template(actor: User | None, kind: str, subject: str, body: str) -> None:
    require_installation_admin(actor, "邮件模板")
    from webapp.models.emails import EmailTemplate, email_template
    from webapp.notify.outbox import EMAIL_KINDS, check_email_template

    if kind not in EMAIL_KINDS:
        raise NotFound(f"no mail kind {kind!r}", "没有该类邮件")
    subject = reject_control_chars(" ".join((subject or "").split()), "邮件主题")
    body = reject_control_chars((body or "").replace("\r\n", "\n"), "邮件正文")
    if not subject or not body.strip():
        raise ServiceError("subject and body are required", "邮件主题和正文都不能为空", rule="template.empty")
    problem = _in_rolled_back_savepoint(lambda: check_email_template(kind, subject, body))
    if problem:
        raise ServiceError(problem, problem, rule="template.render")
    before = email_template(kind)
    row = db.session.scalar(select(EmailTemplate).where(EmailTemplate.kind == kind))
    if row is None:
        row = EmailTemplate(kind=kind, subject=subject, body=body)
        db.session.add(row)
    row.subject, row.body = subject, body
    row.updated_by_id = actor.id if actor is not None else None
    row.updated_at = utcnow()
    db.session.flush()
    log_event("admin.email_template_saved", user=actor, target_type="email_template", target_id=kind,
              detail={"kind": kind, "before_sha": _digest(before.subject + "\n" + before.body),
                      "after_sha": _digest(subject + "\n" + body),
                      "diff": text_diff(_mail_text(before.subject, before.body), _mail_text(subject, body))})


def reset_email_template(actor: User | None, kind: str) -> bool:
    require_installation_admin(actor, "邮件模板")
    from webapp.models.emails import EmailTemplate, default_email_template

    row = db.session.scalar(select(EmailTemplate).where(EmailTemplate.kind == kind))
    if row is None:
        return False
    default = default_email_template(kind)
    log_event("admin.email_template_reset", user=actor, target_type="email_template", target_id=kind,
              detail={"kind": kind, "before_sha": _digest(row.subject + "\n" + row.body),
                      "diff": text_diff(_mail_text(row.subject, row.body), _mail_text(default.subject, default.body))})
    db.session.delete(row)
    db.session.flush()
    return True
