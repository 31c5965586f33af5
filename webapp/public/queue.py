"""The clerks' queue of online submissions: confirm (the receipt date is the confirmation date),
reject as not an application, or route within a government (分办). Blueprint ``queue``.

A user sees the queues of the agencies they may see (a government also its departments') and acts
only on their own agency's. The dashboard can include ``public/_queue_summary.html``, which calls
``submission_queue_summary()`` (a template global: webapp/platform/template_helpers.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.cases.services.applicant_records import IDENTITY_CHOICES, identity_conflict
from webapp.cases.services.applicants import (
    APPLICANT_KINDS,
    applicant_hints,
    mask_address,
    mask_email,
    mask_id,
    mask_phone,
)
from webapp.cases.services.calendar import current_calendar
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.forms import ZhForm as FlaskForm
from webapp.models import Agency
from webapp.models.submission import Submission, SubmissionFile
from webapp.params import id_arg
from webapp.public.services import (
    FORMS_WANTED,
    ROUTES_WANTED,
    age_in_workdays,
    confirm_submission,
    pending_submissions,
    recent_reviewed,
    reject_submission,
    resolve_storage_path,
    route_submission,
    route_targets,
)
from webapp.security import SCAN_REFUSED, actable_agency_ids, agency_row_or_404, can, requires, visible_agency_ids
from webapp.timeutil import SHANGHAI
from webapp.trust.audit import log_event

bp = Blueprint("queue", __name__, url_prefix="/queue")


class ActionForm(FlaskForm):
    """CSRF only; fields are read from request.form."""


def fmt_time(value: datetime | None) -> str:
    """A stored naive-UTC timestamp as Shanghai wall-clock time."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _visible_or_404(submission_id: int) -> Submission:
    return agency_row_or_404(Submission, submission_id)


def _version() -> int | None:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return None


@bp.get("/")
@requires("queue.view")
def index():
    cal = current_calendar()
    visible = visible_agency_ids()
    pending = [(s, age_in_workdays(s, cal)) for s in pending_submissions(visible)]
    unsigned = pending_submissions(visible, unsigned=True)   # routed here, waiting for 签收
    agencies = {a.id: a for a in db.session.scalars(select(Agency).where(Agency.id.in_(visible)))}
    return render_template("public/queue/index.html", pending=pending, unsigned=unsigned,
                           reviewed=recent_reviewed(visible),
                           agencies=agencies, own=set(actable_agency_ids()), mask_id=mask_id,
                           fmt_time=fmt_time)


@bp.get("/<int:submission_id>")
@requires("queue.view")
def detail(submission_id: int):
    sub = _visible_or_404(submission_id)
    # The full identity and contact are personal data: shown to the receiving agency's own users (who
    # check them before confirming), each opening logged; others who may see the queue get them masked.
    full = sub.agency_id in actable_agency_ids()
    if full:
        log_event("personal.view", target_type="submission", target_id=sub.number)
    from webapp.handovers.services import age as handover_age
    from webapp.handovers.services import last_returned, pending_for_submission

    handover = pending_for_submission(sub)   # 签收 first (handovers/services.py)
    returned = last_returned(sub) if sub.pending and handover is None else None
    may_act = sub.pending and sub.agency_id in actable_agency_ids() and can("queue.confirm") and handover is None
    # an identity number on file under another name: the clerk chooses before confirming
    conflict = identity_conflict(sub.agency_id, sub.applicant) if may_act else []
    return render_template("public/queue/detail.html", sub=sub, form=ActionForm(), may_act=may_act,
                           conflict=conflict,
                           age=age_in_workdays(sub), targets=route_targets(sub) if may_act else [],
                           kinds=APPLICANT_KINDS, forms_wanted=FORMS_WANTED, routes_wanted=ROUTES_WANTED,
                           mask_id=mask_id, mask_phone=mask_phone, mask_email=mask_email,
                           mask_address=mask_address, full=full, hints=applicant_hints(sub.applicant),
                           handover=handover, returned=returned, fmt_time=fmt_time,
                           handover_age=handover_age(handover) if handover else None,
                           may_sign=handover is not None and handover.to_agency_id == current_user.agency_id
                           and can("handover.sign"))


def _act(submission_id: int, do):
    sub = _visible_or_404(submission_id)
    if sub.agency_id not in actable_agency_ids():
        abort(404 if sub.agency_id not in visible_agency_ids() else 403)
    if not ActionForm().validate():
        abort(400)
    try:
        message = do(sub)
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        return redirect(url_for("queue.detail", submission_id=submission_id))
    flash(message, "success")
    return None


@bp.post("/<int:submission_id>/confirm")
@requires("queue.confirm")
def confirm(submission_id: int):
    made = {}

    def do(sub):
        choice = request.form.get("identity_choice", "")
        correction = {k: request.form.get(k, "") for k in ("name", "id_number", "uscc")}
        case = confirm_submission(sub, current_user._get_current_object(), expected_version=_version(),
                                  identity_choice=choice if choice in IDENTITY_CHOICES else "ask",
                                  correction=correction if choice == "corrected" else None)
        made["case"] = case
        return f"已确认受理，登记为案件 {case.number}，收到申请之日为 {case.received_on.isoformat()}。"

    resp = _act(submission_id, do)
    if resp is not None:
        return resp
    if "cases.show" in current_app.view_functions:
        return redirect(url_for("cases.show", case_id=made["case"].id))
    return redirect(url_for("queue.index"))


@bp.post("/<int:submission_id>/reject")
@requires("queue.confirm")
def reject(submission_id: int):
    def do(sub):
        reject_submission(sub, current_user._get_current_object(), request.form.get("reason", ""),
                          expected_version=_version())
        return f"已标记为不予受理（{sub.number}），申请人可在查询页面看到理由。"

    return _act(submission_id, do) or redirect(url_for("queue.index"))


@bp.post("/<int:submission_id>/route")
@requires("queue.confirm")
def route(submission_id: int):
    def do(sub):
        target_id = id_arg("target", request.form)
        target = db.session.get(Agency, target_id) if target_id else None
        route_submission(sub, current_user._get_current_object(), target, request.form.get("note", ""),
                         expected_version=_version())
        return f"已分办至 {target.name}（{sub.number}）。"

    return _act(submission_id, do) or redirect(url_for("queue.index"))


@bp.get("/<int:submission_id>/files/<int:file_id>")
@requires("queue.view")
def file(submission_id: int, file_id: int):
    sub = _visible_or_404(submission_id)
    f = db.session.get(SubmissionFile, file_id)
    if f is None or f.submission_id != sub.id:
        abort(404)
    if sub.agency_id not in actable_agency_ids():   # seen masked: no scans either (security.sees_personal_data)
        return render_template("partials/error.html", code=403, title="无权下载", message=SCAN_REFUSED), 403
    path = resolve_storage_path(f.storage_path)
    if not path.is_file():
        abort(404)
    resp = send_file(path, mimetype=f.content_type, as_attachment=True, download_name=f.filename)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
