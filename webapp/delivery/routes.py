"""The delivery page of a case, recording a delivery or a return, and the list of returned or
undelivered letters (blueprint ``delivery``). Thin: the services decide."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.cases.services import archived_event
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.letters import LETTER_TITLES
from webapp.models.delivery import Delivery
from webapp.security import actable_agency_ids, can, case_or_404, requires, visible_agency_ids
from webapp.timeutil import today_shanghai

from . import services
from .forms import DeliveryForm, ReturnForm

bp = Blueprint("delivery", __name__)


def _delivery_form(case, display: bool = False) -> DeliveryForm:
    form = DeliveryForm(formdata=None) if display else DeliveryForm()
    form.letter.choices = [(e.id, services.letter_label(e)) for e in services.applicant_letters(case)]
    return form


def _page(case, status: int = 200, form: DeliveryForm | None = None, return_forms: dict | None = None):
    from webapp.notify.mail_status import states

    today = today_shanghai()
    rows = services.deliveries_of(case)
    mail = states(d.outbox_id for d in rows if d.outbox_id)
    own = case.agency_id in actable_agency_ids()
    if form is None:
        form = _delivery_form(case, display=True)
        form.on.data = today
    return render_template(
        "delivery/case.html", case=case, rows=rows, mail=mail, form=form, today=today,
        return_forms=return_forms or {}, ReturnForm=ReturnForm, letters=services.applicant_letters(case),
        methods=services.METHODS, statuses=services.STATUSES, own=own, archived=archived_event(case),
        may_record=own and can("delivery.record") and archived_event(case) is None,
        letter_label=services.letter_label), status


@bp.get("/cases/<int:case_id>/delivery")
@requires("delivery.view")
def case_page(case_id: int):
    return _page(case_or_404(case_id))


@bp.post("/cases/<int:case_id>/delivery")
@requires("delivery.record")
def record(case_id: int):
    from webapp.cases.attachments import UploadRejected, check_upload
    from webapp.models import CaseEvent

    case = case_or_404(case_id, change=True)
    form = _delivery_form(case)
    if not form.validate_on_submit():
        flash("送达登记：请更正表单中标出的内容。", "error")
        return _page(case, 422, form)
    try:
        upload = check_upload(request.files.get(form.proof.name))
    except UploadRejected as e:
        form.proof.errors = [e.message_zh]
        return _page(case, 422, form)
    letter = db.session.get(CaseEvent, form.letter.data)
    try:
        d = services.record_delivery(case, letter, form.method.data, form.on.data,
                                     tracking_no=form.tracking_no.data or "", proof_upload=upload,
                                     note=form.note.data or "", actor=current_user._get_current_object(),
                                     today=today_shanghai())
    except ServiceError as e:
        db.session.rollback()
        case = case_or_404(case_id, change=True)
        flash(e.message_zh, "error")
        form.letter.choices = [(ev.id, services.letter_label(ev)) for ev in services.applicant_letters(case)]
        return _page(case, 422, form)
    flash(f"已登记送达：{services.METHODS[d.method]}，{d.delivered_on.isoformat()}。", "success")
    return redirect(url_for("delivery.case_page", case_id=case_id))


@bp.post("/cases/<int:case_id>/delivery/<int:delivery_id>/return")
@requires("delivery.record")
def flag_return(case_id: int, delivery_id: int):
    case = case_or_404(case_id, change=True)
    d = db.session.get(Delivery, delivery_id) if 0 < delivery_id < 2**31 else None
    if d is None or d.case_id != case.id:
        abort(404)
    form = ReturnForm(prefix=f"r{d.id}")
    if not form.validate_on_submit():
        flash("退件登记：请更正表单中标出的内容。", "error")
        return _page(case, 422, return_forms={d.id: form})
    try:
        services.flag_return(d, form.status.data, form.on.data, form.reason.data or "",
                             actor=current_user._get_current_object(), today=today_shanghai())
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        case = case_or_404(case_id, change=True)
        return _page(case, 422, return_forms={delivery_id: form})
    flash("已登记退件或未送达；该文书重新送达前，案件和工作台上将一直提示。", "success")
    return redirect(url_for("delivery.case_page", case_id=case_id))


@bp.get("/deliveries/flagged")
@requires("delivery.view")
def flagged():
    return render_template("delivery/flagged.html", rows=services.flagged(visible_agency_ids()),
                           methods=services.METHODS, statuses=services.STATUSES, letter_titles=LETTER_TITLES)
