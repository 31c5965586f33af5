"""签收 (blueprint ``handovers``, ``/handovers/``): what was routed to the user's agency and waits to
be signed for or sent back, and the agency's own routings not signed for yet, with their age.
Also 转办 of a registered case (``POST /handovers/case/<id>/route``). The rules are in
handovers/services.py; docs/applicant-side.md "Signing for routed applications".

Each office sees only what was routed to it or by it (a government does not see its departments'
routings to one another); only the receiving office's clerks and approvers sign or send back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.cases.services.calendar import current_calendar
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.forms import ZhForm as FlaskForm
from webapp.handovers.services import age, route_case, routed_by, send_back, sign, to_sign
from webapp.models import Agency
from webapp.models.handover import Handover
from webapp.params import id_arg
from webapp.security import actable_agency_ids, can, case_or_404, requires
from webapp.timeutil import SHANGHAI

bp = Blueprint("handovers", __name__, url_prefix="/handovers")


class ActionForm(FlaskForm):
    """CSRF only; fields are read from request.form."""


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _own_or_404(handover_id: int) -> Handover:
    h = db.session.get(Handover, handover_id) if 0 < handover_id < 2**63 else None
    own = set(actable_agency_ids())
    if h is None or not ({h.to_agency_id, h.from_agency_id} & own):
        abort(404)
    return h


@bp.get("/")
@requires("handover.view")
def index():
    own = actable_agency_ids()
    cal = current_calendar()
    incoming = [(h, age(h, cal)) for h in to_sign(own)]
    unsigned, returned = routed_by(own)
    return render_template("handovers/index.html", incoming=incoming,
                           unsigned=[(h, age(h, cal)) for h in unsigned], returned=returned,
                           form=ActionForm(), may_sign=can("handover.sign"), fmt_time=fmt_time)


def _act(handover_id: int, do):
    h = _own_or_404(handover_id)
    if h.to_agency_id != current_user.agency_id:
        abort(403)   # the routing office sees it, only the receiving office acts
    if not ActionForm().validate():
        abort(400)
    try:
        message = do(h)
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        return redirect(url_for("handovers.index"))
    flash(message, "success")
    return redirect(url_for("handovers.index"))


@bp.post("/<int:handover_id>/sign")
@requires("handover.sign")
def sign_for(handover_id: int):
    def do(h):
        sign(h, current_user._get_current_object())
        return f"已签收 {h.number}，现由本机关办理。"

    return _act(handover_id, do)


@bp.post("/<int:handover_id>/return")
@requires("handover.sign")
def send_back_(handover_id: int):
    def do(h):
        send_back(h, current_user._get_current_object(), request.form.get("reason", ""))
        return f"已将 {h.number} 退回 {h.from_agency.name}。"

    return _act(handover_id, do)


@bp.post("/case/<int:case_id>/route")
@requires("case.route")
def route_case_(case_id: int):
    case = case_or_404(case_id, change=True)
    if not ActionForm().validate():
        abort(400)
    target_id = id_arg("target", request.form)
    target = db.session.get(Agency, target_id) if target_id else None
    try:
        route_case(case, current_user._get_current_object(), target, request.form.get("note", ""))
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
    else:
        flash(f"已转办至 {target.name}（{case.number}），待对方签收。", "success")
    return redirect(url_for("handovers.index"))
