"""Mail templates an administrator edited (the defaults are files in templates/emails/), and the
indexes the reminder sweep needs on the case table.

``email_template(kind)`` gives the text in force for a kind of mail: the administrator's row when
there is one, else the file ``templates/emails/<kind>.txt``, whose first line is the subject and the
rest, after one blank line, the body (both Jinja, rendered by notify/outbox/ in a sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from config import BASE_DIR
from webapp.extensions import db

from ._types import utcnow
from .case import Case

EMAIL_TEMPLATE_DIR = BASE_DIR / "templates" / "emails"


class EmailTemplate(db.Model):
    """An administrator's version of one kind of mail (subject and body are Jinja text)."""

    __tablename__ = "email_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    def __repr__(self) -> str:
        return f"<EmailTemplate {self.kind}>"


@dataclass(frozen=True)
class TemplateText:
    kind: str
    subject: str
    body: str
    source: str   # "admin" (an EmailTemplate row) or "file" (the shipped default)


def default_email_template(kind: str) -> TemplateText:
    """The shipped text of ``templates/emails/<kind>.txt``; KeyError for an unknown kind."""
    path = EMAIL_TEMPLATE_DIR / f"{kind}.txt"
    if not kind.replace("_", "").isalnum() or not path.is_file():
        raise KeyError(f"no mail template {kind!r}")
    text = path.read_text(encoding="utf-8")
    subject, _, body = text.partition("\n")
    return TemplateText(kind, subject.strip(), body.removeprefix("\n"), "file")


def email_template(kind: str) -> TemplateText:
    """The template in force for ``kind``: the administrator's row, else the shipped file."""
    row = db.session.scalar(select(EmailTemplate).where(EmailTemplate.kind == kind))
    if row is not None:
        return TemplateText(kind, row.subject, row.body, "admin")
    return default_email_template(kind)


# The reminder sweep (notify/reminders/) reads each deadline column by range; only due_on is
# indexed in case.py. These attach to the case table (create_all and Alembic see them there); the
# columns are NULL for every case not waiting on that deadline, so the indexes stay small.
SWEEP_INDEXES = (
    Index("ix_case_correction_notice_due_on", Case.correction_notice_due_on),
    Index("ix_case_correction_reply_by", Case.correction_reply_by),
    Index("ix_case_consultation_due_on", Case.consultation_due_on),
    Index("ix_case_fee_due_on", Case.fee_due_on),
)
