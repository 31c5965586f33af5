"""Review and sign-off (审核、签发) of a proposed statutory act before it is recorded.

``ReviewChain``: per agency and kind of decision, the review steps an administrator set (each a
title and, optionally, the one user who reviews it; otherwise any approver of the agency) before
the sign-off by an approver. ``ReviewDraft``: one proposed act (拟办) on its way through a chain,
with the case-action form data it will be recorded from at sign-off. The opinions themselves are
case events (hash-chained history); see webapp/review/ and docs/review.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.domain.kinds import ReviewKind
from webapp.domain.states import DraftStatus
from webapp.extensions import db

from ._types import JsonType, utcnow


class ReviewChain(db.Model):
    __tablename__ = "review_chain"
    __table_args__ = (UniqueConstraint("agency_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    kind: Mapped[ReviewKind]
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"title": "科室审核", "reviewer_id": 7 | null}, ...] before the sign-off
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReviewDraft(db.Model):
    __tablename__ = "review_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[ReviewKind]                               # its chain's kind
    action: Mapped[str] = mapped_column(String(30))        # case action name (answer, extension, ...)
    status: Mapped[DraftStatus] = mapped_column(default=DraftStatus.PENDING, index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)  # index into steps; len(steps) = the sign-off
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)   # the chain when submitted
    formdata: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)      # the action form's fields
    summary: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)       # what is proposed, readable
    round: Mapped[int] = mapped_column(Integer, default=1)                         # 1 + redrafts
    drafter_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    signed_on: Mapped[date | None] = mapped_column(Date)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    case = relationship("Case")
    drafter = relationship("User", foreign_keys=[drafter_id])
    signed_by = relationship("User", foreign_keys=[signed_by_id])
