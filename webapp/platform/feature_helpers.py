"""What the feature packages give every template (the case page's panels, the header's and the
dashboard's counts), registered app-wide by create_app; the blueprints hold only routes.

One context processor per feature, in the order their blueprints are registered (supervision,
review, delivery, archive, handovers, Reach)."""

from __future__ import annotations

from flask import Flask, url_for
from flask_login import current_user

from webapp.cases.actions import BY_NAME, make_form
from webapp.cases.services.applicants import mask_phone
from webapp.delivery import services as delivery_services
from webapp.domain.clock import Status
from webapp.domain.kinds import AgencyKind, Role
from webapp.domain.workflow import EventType, allowed_events
from webapp.handovers.services import age, case_route_targets, pending_for_case
from webapp.request_memo import per_request
from webapp.review import services as review_services
from webapp.security import actable_agency_ids, can, visible_agency_ids
from webapp.sms.errors import explain
from webapp.sms.routes import quiet_hours_form
from webapp.supervision import services as supervision_services
from webapp.timeutil import today_shanghai

from .header import header_counts


def supervises(user=None) -> bool:
    """Whether the menu shows 督办 (of ``user``, the session user, given by the menu that holds it)."""
    user = user if user is not None else current_user._get_current_object()
    return user.is_authenticated and governs(user.agency_id, user.agency)


def governs(agency_id, agency) -> bool:
    """supervises() of a signed-in user of ``agency_id`` (None: government level) and ``agency``, its
    row (read with the user: auth/login.load_user)."""
    return agency_id is None or (agency is not None and agency.kind == AgencyKind.GOVERNMENT)


def _supervision() -> dict:
    def supervision_open_notices():
        if not current_user.is_authenticated or current_user.agency_id is None:
            return []
        return [n for n in supervision_services.notices_for(current_user, open_only=True, limit=50)
                if n.agency_id == current_user.agency_id]

    return {"supervises": supervises, "supervision_open_notices": supervision_open_notices}


def _review_case_panel(case, rows=None, forms=None):
    """For the case page: the open draft, and the clerk's extension request (Art. 33). ``rows``: the
    page's cases.page_reads.PanelRows (no draft of the case at all: none is read); ``forms``: the page's
    action forms made for display only (the extension's, shown disabled to a clerk: the same form)."""
    if not getattr(current_user, "is_authenticated", False) or case.agency_id not in actable_agency_ids():
        return None
    draft = review_services.open_draft(case) if rows is None or rows.drafts else None
    extension_form = None
    if (draft is None and can("review.draft") and not can("case.extend") and not case.extended
            and case.status and EventType.EXTENDED in set(allowed_events(Status(case.status)))):
        extension_form = (forms or {}).get("extension") \
            or make_form(BY_NAME["extension"], case, today_shanghai(), formdata=False)
    if draft is None and extension_form is None:
        return None
    return {"draft": draft, "extension_form": extension_form,
            "step": review_services.current_step(draft) if draft else None}


def review_pending_count(user=None) -> int:
    """待我审批's count (the menu's and the dashboard's) of ``user``, the session user if not given."""
    user = user if user is not None else current_user._get_current_object()
    if not getattr(user, "is_authenticated", False) or user.role not in (Role.CLERK, Role.APPROVER):
        return 0
    if not header_counts(user).drafts:  # no draft of the agency waits for anyone (the usual page)
        return 0
    # the nav and the dashboard both show it: one read per page view
    return per_request(("review_pending_count", user.id), lambda: len(review_services.pending_for(user)))


def _review() -> dict:
    def review_action_url(case, action) -> str | None:
        if action.name in review_services.ACTION_KINDS and review_services.may_have_chain(case, action.name):
            return url_for("review.draft_new", case_id=case.id, action=action.name)
        return None

    return {"review_pending_count": review_pending_count, "review_action_url": review_action_url,
            "review_case_panel": _review_case_panel}


def _delivery() -> dict:
    def delivery_flag_count():
        if not getattr(current_user, "is_authenticated", False) or not can("delivery.view"):
            return None
        return delivery_services.flagged_count(visible_agency_ids())

    def case_delivery_flags(case, rows=None):
        # rows: the case page's cases.page_reads.PanelRows (no delivery of the case at all: none is read)
        return delivery_services.case_flags(case) if rows is None or rows.deliveries else []

    return {"delivery_flag_count": delivery_flag_count, "case_delivery_flags": case_delivery_flags}


def _archive() -> dict:
    return {"case_archive_link": True}


def _handovers() -> dict:
    def handover_count():
        """待签收 for the user's own agency (dashboard and header)."""
        return header_counts().to_sign     # 0 without an agency or handover.view

    def case_routing(case, rows=None):
        """For the case page's 转办 panel: the pending routing (with its age), or the departments it
        may be routed to by the user (the holder's clerks and approvers, an open case). ``rows``: the
        page's cases.page_reads.PanelRows (no handover of the case at all: none is read; no department of
        its agency: no targets to read)."""
        pending = pending_for_case(case) if rows is None or rows.handovers else None
        targets = []
        if pending is None and case.closed_on is None and (rows is None or rows.departments) \
                and can("case.route") and case.agency_id in actable_agency_ids():
            targets = case_route_targets(case)
        return {"pending": pending, "age": age(pending) if pending else None, "targets": targets}

    return {"handover_count": handover_count, "case_routing": case_routing}


def _reach() -> dict:
    return {"quiet_form": quiet_hours_form, "sms_error_zh": explain, "sms_phone": mask_phone}


def install(app: Flask) -> None:
    for processor in (_supervision, _review, _delivery, _archive, _handovers, _reach):
        app.context_processor(processor)
