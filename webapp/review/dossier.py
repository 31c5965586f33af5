"""The 办理审批单 of every signed-off draft of a case, as a part of its archive dossier
(webapp/archive/dossier.py DOSSIER_PARTS, order 30)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from webapp.archive.part import Part
from webapp.cases.services.calendar import current_calendar
from webapp.domain.states import DraftStatus
from webapp.extensions import db
from webapp.models import Case
from webapp.models.review import ReviewDraft
from webapp.timeutil import today_shanghai

from .services import KINDS
from .view import draft_context


def approval_form(case: Case) -> list[Part]:
    drafts = db.session.scalars(select(ReviewDraft).where(
        ReviewDraft.case_id == case.id, ReviewDraft.status == DraftStatus.SIGNED).order_by(ReviewDraft.id)).all()
    today, cal = today_shanghai(), current_calendar()
    return [Part(f"办理审批单（{KINDS.get(d.kind, d.kind)}）", d.signed_on,
                 render_template("review/_sheet_body.html", **draft_context(d, today, cal), today=today))
            for d in drafts]
