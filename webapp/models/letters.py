"""Letter templates edited by administrators (overrides of templates/letters/<kind>.txt)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db

from ._types import utcnow


class LetterTemplate(db.Model):
    """The body of one kind of letter (补正告知书, 征求意见函, ...) as a Jinja text template.

    No row: the file templates/letters/<kind>.txt is used (webapp.letters.letter_template_source).
    """

    __tablename__ = "letter_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), unique=True)   # correction | consultation | ...
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
