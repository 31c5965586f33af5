"""Recording a review or lawsuit (行政复议/行政诉讼) on a case: the one writer, for the case page's
action and the import, after the domain's check (domain/appeals.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from webapp.domain.appeals import appeal_refusal
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Appeal, Case
from webapp.timeutil import today_shanghai

from .events import add_note


def record_appeal(case: Case, kind: str, filed_on: date, result: str, decided_on: date | None,
                  actor=None, *, today: date | None = None) -> Appeal:
    """Record or update a review/lawsuit (keyed by case, kind and filing date) on the case history,
    after the domain's check (domain/appeals.py; ServiceError, nothing changed, when it fails)."""
    refused = appeal_refusal(kind, filed_on, result, decided_on, received_on=case.received_on,
                             today=today or today_shanghai())
    if refused is not None:
        raise ServiceError(refused.message, refused.message_zh, rule=refused.rule)

    ap = db.session.scalar(select(Appeal).where(Appeal.case_id == case.id, Appeal.kind == kind,
                                                Appeal.filed_on == filed_on))
    if ap is not None and ap.result == result and ap.decided_on == decided_on:
        return ap
    if ap is None:
        ap = Appeal(case_id=case.id, agency_id=case.agency_id, kind=kind, filed_on=filed_on)
        db.session.add(ap)
        case.appeals.append(ap)
    ap.result, ap.decided_on = result, decided_on
    add_note(case, "appeal_recorded", decided_on or filed_on,
             {"kind": kind, "filed_on": filed_on.isoformat(), "result": result,
              "decided_on": decided_on.isoformat() if decided_on else None}, actor)
    return ap
