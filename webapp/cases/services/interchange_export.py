"""The interchange document's export (docs/interchange.md): an agency's cases as recorded, with
their statutory and non-statutory events, appeals and the proactive ledger; ``mask`` hides what the
personal-data rule hides."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.cases.services import WORKFLOW_TYPES, workflow_events
from webapp.domain.appeals import AppealResult
from webapp.domain.workflow import replay
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, ProactiveYear

from .applicants import mask_address, mask_id, mask_phone
from .calendar import current_calendar
from .interchange_notes import EXPORTED, applicant_masker, export_note

FORMAT = "disclosure-case-history/1"


def export_document(agency: Agency, as_of: date, mask: bool = False) -> dict[str, Any]:
    cal = current_calendar()
    policies = agency.policy()
    cases_out = []
    q = (select(Case).where(Case.agency_id == agency.id, Case.received_on <= as_of)
         .order_by(Case.received_on, Case.id))
    for case in db.session.scalars(q):
        events = workflow_events(case)
        shown = [e for e in events if e.on <= as_of]
        clock = replay(shown, cal, policies, as_of=as_of, recorded=True)
        a = case.applicant
        applicant: dict[str, Any] = {"kind": a.kind, "name": a.name}
        if a.id_number:
            applicant["id_number"] = mask_id(a.id_number) if mask else a.id_number
        if a.uscc:
            applicant["uscc"] = a.uscc
        for key in ("phone", "email", "address"):
            v = getattr(a, key)
            if v:
                if mask and key == "phone":
                    v = mask_phone(v)
                elif mask and key == "address":
                    v = mask_address(v)
                elif mask and key == "email":
                    continue
                applicant[key] = v
        items = []
        closed = clock.closed_on is not None
        for it in case.items:
            d: dict[str, Any] = {"text": it.text}
            if closed and it.outcome:
                d["outcome"] = it.outcome
            items.append(d)
        # the statutory events with the non-statutory ones the document carries, in history order
        masker = applicant_masker(a) if mask else None
        flow = iter(events)
        listed = []
        for row in sorted(case.events, key=lambda r: r.seq):
            if row.type in WORKFLOW_TYPES:
                e = next(flow)
                if e.on <= as_of:
                    listed.append(e.to_dict())
            elif row.type in EXPORTED and row.on <= as_of:
                listed.append(export_note(row, masker))
        out = {"ref": case.ref, "number": case.number, "applicant": applicant, "items": items,
               "events": listed}
        out.update(clock.derived(cal, as_of))
        cases_out.append(out)
    case_ids = {c.id: c.ref for c in db.session.scalars(select(Case).where(Case.agency_id == agency.id))}
    appeals = []
    appeal_rows = select(Appeal).where(Appeal.case_id.in_(case_ids)).order_by(Appeal.filed_on, Appeal.id)
    for ap in db.session.scalars(appeal_rows):
        if ap.filed_on > as_of:
            continue
        d = {"case_ref": case_ids[ap.case_id], "kind": ap.kind, "filed_on": ap.filed_on.isoformat()}
        if ap.result != AppealResult.PENDING and ap.decided_on and ap.decided_on <= as_of:
            d["result"] = ap.result
            d["decided_on"] = ap.decided_on.isoformat()
        appeals.append(d)
    proactive = {}
    for row in db.session.scalars(select(ProactiveYear).where(ProactiveYear.agency_id == agency.id)
                                  .order_by(ProactiveYear.year)):
        proactive[str(row.year)] = row.to_proactive()
        if row.categories:
            proactive[str(row.year)]["categories"] = dict(row.categories)
    return {"format": FORMAT, "agency": {"code": agency.code, "name": agency.name},
            "as_of": as_of.isoformat(), "cases": cases_out, "appeals": appeals, "proactive": proactive}
