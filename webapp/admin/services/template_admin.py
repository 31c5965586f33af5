"""Letter and mail templates edited by the installation's administrator.

Both tables hold one text per kind for the whole installation (no agency column): any
administrator's change applies to every agency, and the page says so.

A text is checked before it is saved by rendering it in the sandbox (webapp/sandbox/) against a
sample built in memory from plain values (letters: webapp/letters ``sample_letter_context``; mails:
notify/outbox ``check_email_template``) -- never against a real case -- inside a savepoint that is
always rolled back. The audit row of a change keeps the text itself: a unified diff of the text
before and after (and both hashes).

Editing, checking and resetting are one implementation for both families (``TemplateFamily``:
``LETTER_TEMPLATES``, a body per kind; ``MAIL_TEMPLATES``, a subject and a body per kind); the admin pages are one
pair of views registered for each.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


def _in_rolled_back_savepoint(check):
    """Run ``check()`` in a savepoint that is always rolled back (the check reads no case and writes
    nothing; this keeps it so whatever it calls)."""
    savepoint = db.session.begin_nested()
    try:
        return check()
    finally:
        savepoint.rollback()


@dataclass(frozen=True)
class Text:
    """A template's text: a mail's subject and body, or a letter's body (subject None)."""

    subject: str | None
    body: str

    def hashed(self) -> str:
        return self.body if self.subject is None else f"{self.subject}\n{self.body}"

    def shown(self) -> str:
        """As the audit row's diff shows it."""
        return self.body if self.subject is None else f"主题：{self.subject}\n\n{self.body}"


@dataclass(frozen=True)
class TemplateFamily:
    """One family of administrator-edited templates, one row per kind (no agency column)."""

    name: str           # "letter" | "email": audit actions admin.<name>_template_saved/_reset, the pages
    what_zh: str        # 文书模板 | 邮件模板 (the refusal to a non-installation administrator)
    saved_zh: str       # the word after the title in "已保存“…”模板。"
    has_subject: bool

    @property
    def model(self) -> Any:
        from webapp.models.emails import EmailTemplate
        from webapp.models.letters import LetterTemplate

        return EmailTemplate if self.has_subject else LetterTemplate

    def titles(self) -> Mapping[str, str]:
        """Each kind -> its title on the pages."""
        if self.has_subject:
            from webapp.notify.outbox import EMAIL_KINDS

            return {k: v["label_zh"] for k, v in EMAIL_KINDS.items()}
        from webapp.letters.render import LETTER_TITLES

        return LETTER_TITLES

    def default(self, kind: str) -> Text:
        if self.has_subject:
            from webapp.models.emails import default_email_template

            t = default_email_template(kind)
            return Text(t.subject, t.body)
        from webapp.letters.render import default_template_source

        return Text(None, default_template_source(kind))

    def clean(self, subject: str | None, body: str | None) -> Text:
        """Control characters refused, line ends made plain; ServiceError when a part is empty."""
        body = (body or "").replace("\r\n", "\n")
        if not self.has_subject:
            body = reject_control_chars(body, "模板")
            if not body.strip():
                raise ServiceError("the template is empty", "模板不能为空", rule="template.empty")
            return Text(None, body)
        subject = reject_control_chars(" ".join((subject or "").split()), "邮件主题")
        body = reject_control_chars(body, "邮件正文")
        if not subject or not body.strip():
            raise ServiceError("subject and body are required", "邮件主题和正文都不能为空", rule="template.empty")
        return Text(subject, body)

    def check(self, kind: str, text: Text) -> None:
        """The text must render in its sandbox for the in-memory sample; ServiceError (Chinese) if not."""
        if not self.has_subject:
            return check_letter_template(kind, text.body)
        from webapp.notify.outbox import check_email_template

        problem = _in_rolled_back_savepoint(lambda: check_email_template(kind, text.subject, text.body))
        if problem:
            raise ServiceError(problem, problem, rule="template.render")
        return None


LETTER_TEMPLATES = TemplateFamily("letter", "文书模板", "模板", has_subject=False)
MAIL_TEMPLATES = TemplateFamily("email", "邮件模板", "邮件模板", has_subject=True)


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


def _row(family: TemplateFamily, kind: str) -> Any:
    return db.session.scalar(select(family.model).where(family.model.kind == kind))


def overridden(family: TemplateFamily, kind: str) -> bool:
    return _row(family, kind) is not None


def in_force(family: TemplateFamily, kind: str) -> Text:
    """The administrator's text of ``kind``, else the shipped default."""
    row = _row(family, kind)
    if row is None:
        return family.default(kind)
    return Text(row.subject if family.has_subject else None, row.body)


def save_template(family: TemplateFamily, actor: User | None, kind: str, subject: str | None, body: str) -> None:
    """Save the administrator's text of ``kind`` after checking it; an unchanged text writes nothing."""
    require_installation_admin(actor, family.what_zh)
    if kind not in family.titles():
        raise NotFound(f"no {family.name} template {kind!r}", "没有该类模板")
    text = family.clean(subject, body)
    family.check(kind, text)
    row = _row(family, kind)
    before = in_force(family, kind)
    if before == text and row is not None:
        return
    if row is None:
        row = family.model(kind=kind, body=text.body)
        db.session.add(row)
    if family.has_subject:
        row.subject = text.subject
    row.body = text.body
    row.updated_by_id = actor.id if actor is not None else None
    row.updated_at = utcnow()
    db.session.flush()
    log_event(f"admin.{family.name}_template_saved", user=actor, target_type=f"{family.name}_template",
              target_id=kind, detail={"kind": kind, "before_sha": _digest(before.hashed()),
                                      "after_sha": _digest(text.hashed()), "length": len(text.body),
                                      "diff": text_diff(before.shown(), text.shown())})


def reset_template(family: TemplateFamily, actor: User | None, kind: str) -> bool:
    """Back to the shipped default: the administrator's row goes (False when there is none)."""
    require_installation_admin(actor, family.what_zh)
    row = _row(family, kind)
    if row is None:
        return False
    before = Text(row.subject if family.has_subject else None, row.body)
    log_event(f"admin.{family.name}_template_reset", user=actor, target_type=f"{family.name}_template",
              target_id=kind, detail={"kind": kind, "before_sha": _digest(before.hashed()),
                                      "diff": text_diff(before.shown(), family.default(kind).shown())})
    db.session.delete(row)
    db.session.flush()
    return True
