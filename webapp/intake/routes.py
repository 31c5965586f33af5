"""Registering an application (blueprint ``intake``): the form, and the applicant look-up (JSON for
static/js/app.js; the same search works as a plain GET form without JavaScript)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.cases.attachments import UploadRejected, check_upload, store_attachment
from webapp.cases.services import register_case
from webapp.cases.services.applicant_records import ASK, IdentityConflict, cases_of_person, search_applicants
from webapp.cases.services.applicants import APPLICANT_KINDS, mask_id, mask_phone
from webapp.cases.services.desk import assignable_user, assignable_users
from webapp.cases.services.reply_route import check_reply_route
from webapp.domain.kinds import FormWanted, NotifyVia, Role, RouteWanted
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Applicant, User
from webapp.params import MAX_ID
from webapp.public.services import check_notify_via
from webapp.security import actable_agency_ids, requires
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

from .forms import ApplicantSearchForm, IntakeForm
from .receipt import RECEIPT_RULES, propose_receipt_date, receipt_error, receipt_rule

bp = Blueprint("intake", __name__, url_prefix="/intake")

NO_CSRF = {"csrf": False}

#: ServiceError.rule -> the form field its message belongs to
RULE_FIELDS = {
    "applicant.id_number": "id_number", "applicant.uscc": "uscc", "applicant.name": "name",
    "applicant.kind": "kind", "applicant.invalid": "name", "items.empty": "items", "items.too_long": "items",
    "items.too_many": "items", "items.invalid": "items", "received.before_arrival": "received_on",
    "received.not_arrival": "received_on",
    "received.channel": "channel", "date.future": "received_on", "date.range": "received_on",
    "applicant.email": "email", "applicant.address": "address",
}


def _agencies() -> list[Agency]:
    ids = actable_agency_ids()
    if len(ids) == 1:   # the user's own agency: loaded with the user (auth/login.load_user), no statement
        agency = db.session.get(Agency, ids[0])
        return [agency] if agency is not None else []
    return list(db.session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code)))


def _assignee_choices(users) -> dict[int, str]:
    return {0: "（暂不分配）", **{
        u.id: f"{u.display_name}（{'负责人' if u.role == Role.APPROVER else '经办人'}）" for u in users}}


def _applicant_summary(a: Applicant) -> dict[str, Any]:
    n_cases = cases_of_person(a)
    return {"id": a.id, "name": a.name, "kind": a.kind, "kind_label": APPLICANT_KINDS.get(a.kind, a.kind),
            "identity": mask_id(a.id_number) if a.id_number else (a.uscc or ""),
            "phone": mask_phone(a.phone), "cases": n_cases}


def _selected_applicant(raw: Any) -> Applicant | None:
    try:
        applicant_id = int(raw)
    except (TypeError, ValueError):
        return None
    if not 0 < applicant_id <= MAX_ID:
        return None
    a = db.session.get(Applicant, applicant_id)
    if a is None or a.agency_id not in actable_agency_ids():
        return None
    return a


def _applicant_data(form: IntakeForm, existing: Applicant | None) -> dict[str, Any]:
    """The form's applicant fields; a blank field keeps the chosen existing applicant's value (the
    page shows only a masked summary of it, never the stored ID number). An identity number is
    inherited only where it fits the kind: a person has an ID number, an organisation a USCC."""
    person = form.kind.data == "natural_person"
    data: dict[str, Any] = {"kind": form.kind.data}
    for key in ("name", "id_number", "uscc", "id_document", "phone", "email", "address"):
        value = (getattr(form, key).data or "").strip()
        inherit = existing is not None and not value and not (
            (key == "id_number" and not person) or (key == "uscc" and person))
        data[key] = (getattr(existing, key) or "") if inherit else value
    return data


@bp.route("/new", methods=["GET", "POST"])
@requires("case.register")
def new():
    today = today_shanghai()
    user = current_user._get_current_object()
    agencies = _agencies()
    # without the form's own CSRF field: CSRFProtect (webapp/extensions.py) checks every POST's token
    # before the view, and the page writes the input with the request's token (platform/widgets.hidden_html);
    # the field made a token for each form and the form checked it a second time (about 190 Python calls)
    form = IntakeForm(meta=NO_CSRF)
    needs_agency = user.agency_id is None
    form.agency_id.choices = {a.id: f"{a.name}（{a.code}）" for a in agencies}
    agency_ids = [a.id for a in agencies]
    if request.method == "POST":
        # the POST checks the one assignee chosen; a form shown again gets the whole list (_render)
        chosen_id = _int_or_none(request.form.get(form.assigned_to.name))
        users = assignable_user(agency_ids, chosen_id) if chosen_id and 0 < chosen_id <= MAX_ID else []
    else:
        users = assignable_users(agency_ids)
    form.assigned_to.choices = _assignee_choices(users)
    search = ApplicantSearchForm(request.args)
    results = search_applicants([a.id for a in agencies], search.q.data or "") if search.q.data else []
    selected = _selected_applicant(form.applicant_id.data if request.method == "POST"
                                   else request.args.get("applicant_id"))

    if request.method == "GET":
        form.arrived_on.data = today
        form.received_on.data = today
        form.assigned_to.data = user.id if user.role == Role.CLERK else 0
        if selected is not None:
            form.applicant_id.data = str(selected.id)
            form.kind.data = selected.kind
            form.name.data = selected.name
    else:
        # every check runs, valid fields or not: the form reports all its errors at once
        valid = form.validate_on_submit()
        agency = _agency_for(form, agencies, user)
        uploads = []
        try:
            for f in request.files.getlist(form.scans.name):
                up = check_upload(f)
                if up is not None:
                    uploads.append(up)
        except UploadRejected as e:
            form.scans.errors.append(e.message_zh)
        if agency is None:
            form.agency_id.errors.append("请选择受理机关")
        mismatch = receipt_error(form.channel.data, form.post_kind.data or "signed", form.arrived_on.data,
                                 form.received_on.data)
        if mismatch:
            form.received_on.errors.append(mismatch)
        assignee = None
        if form.assigned_to.data:
            chosen = next((u for u in users if u.id == form.assigned_to.data and agency is not None
                           and u.agency_id == agency.id), None)
            assignee = db.session.get(User, chosen.id) if chosen is not None else None
            if assignee is None:
                form.assigned_to.errors.append("承办人须为受理机关的工作人员")
        applicant_data = _applicant_data(form, selected)
        try:
            if form.form_wanted.data and form.route_wanted.data:
                check_reply_route(applicant_data, form.form_wanted.data, form.route_wanted.data)
        except ServiceError as e:
            field_errors = getattr(form, RULE_FIELDS[e.rule]).errors
            if e.message_zh not in field_errors:
                field_errors.append(e.message_zh)
        notify_via = form.notify_via.data or NotifyVia.EMAIL
        try:
            notify_via = check_notify_via(notify_via, applicant_data)   # SMS needs a mobile number (webapp/sms/)
        except ServiceError as e:
            form.notify_via.errors.append(e.message_zh)
        action = request.form.get("identity_action")
        if valid and not form.errors and action == "correct":
            return _correct_identity(form, agency, selected, search, results, needs_agency, today)
        if valid and not form.errors:
            items = [ln.strip() for ln in (form.items.data or "").splitlines() if ln.strip()]
            # an ID number on file under another name: nothing is registered until the clerk chooses
            choice = "same_person" if action == "same_person" else (
                "corrected" if form.identity_choice.data == "corrected" else ASK)
            try:
                case = register_case(
                    agency, applicant_data, items, form.channel.data, form.received_on.data,
                    user, arrived_on=form.arrived_on.data,
                    post_kind=form.post_kind.data or "signed",
                    form_wanted=FormWanted(form.form_wanted.data), route_wanted=RouteWanted(form.route_wanted.data),
                    assigned_to=assignee, today=today, note=(form.note.data or "").strip(),
                    identity_choice=choice,
                    corrected=_corrections(form, selected) if choice == "corrected" else None)
                if case.notify_via != notify_via:   # only a change: the same value would leave the case to flush
                    case.notify_via = notify_via
                for up in uploads:
                    store_attachment(case, up.filename, up.data, up.content_type,
                                     user=user)
            except IdentityConflict as e:
                db.session.rollback()
                flash(e.message_zh, "error")
                return _render(form, search, results, selected, needs_agency, today, conflict=e), 422
            except ServiceError as e:
                db.session.rollback()
                flash(e.message_zh, "error")
                field = RULE_FIELDS.get(e.rule)
                if field is not None:
                    getattr(form, field).errors.append(e.message_zh)
                return _render(form, search, results, selected, needs_agency, today), 422
            flash(f"已登记申请，编号 {case.number}，答复期限至 {case.due_on.isoformat() if case.due_on else '—'}。",
                  "success")
            return redirect(url_for("cases.show", case_id=case.id))
        flash("请更正表单中标出的内容，申请尚未登记。", "error")
        return _render(form, search, results, selected, needs_agency, today), 422
    return _render(form, search, results, selected, needs_agency, today)


def _agency_for(form: IntakeForm, agencies: list[Agency], user: User) -> Agency | None:
    if user.agency_id is not None:
        return user.agency   # loaded with the user (auth/login.load_user)
    return next((a for a in agencies if a.id == form.agency_id.data), None)


IDENTITY_KEYS = ("name", "id_number", "uscc")


def _corrections(form: IntakeForm, selected: Applicant | None) -> dict[str, tuple[str, str]]:
    """What the clerk changed since choosing to correct (as entered -> as corrected), for the note."""
    try:
        entered = json.loads(form.identity_entered.data or "{}")
    except ValueError:
        return {}
    if not isinstance(entered, dict):
        return {}
    now = _applicant_data(form, selected)
    return {k: (entered[k], now.get(k) or "") for k in IDENTITY_KEYS
            if isinstance(entered.get(k), str) and len(entered[k]) <= 200 and entered[k] != (now.get(k) or "")}


def _correct_identity(form, agency, selected, search, results, needs_agency, today):
    """The clerk says the name or ID number was mistyped: nothing is registered, the form comes back
    for correction, and the registration that follows is noted as corrected (and asks again if the
    corrected details still meet another name). The choice is logged with what was entered."""
    data = _applicant_data(form, selected)
    log_event("applicant.identity_choice", target_type="agency", target_id=agency.code if agency else "",
              detail={"choice": "correct", "entered_name": data.get("name", ""),
                      "identity": mask_id(data.get("id_number") or data.get("uscc") or "")})
    form.identity_choice.data = "corrected"
    form.identity_entered.data = json.dumps({k: data.get(k) or "" for k in IDENTITY_KEYS}, ensure_ascii=False)
    form.name.errors.append("请核对姓名或名称")
    (form.id_number if form.kind.data == "natural_person" else form.uscc).errors.append("请核对证件号码")
    flash("请更正申请人的姓名或证件号码后重新提交登记；申请尚未登记。", "info")
    return _render(form, search, results, selected, needs_agency, today)


def _int_or_none(raw: Any) -> int | None:
    """The value as the assignee field reads it (``coerce=int``), or None where that fails."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _render(form, search, results, selected, needs_agency, today, conflict=None):
    if request.method == "POST":   # the POST read only the assignee chosen: the form shown again lists all
        form.assigned_to.choices = _assignee_choices(assignable_users(list(form.agency_id.choices)))
    proposal = propose_receipt_date(form.channel.data or "in_person", form.arrived_on.data,
                                    form.post_kind.data or "signed")
    return render_template(
        "intake/new.html", form=form, search=search, results=[_applicant_summary(a) for a in results],
        selected=_applicant_summary(selected) if selected else None, needs_agency=needs_agency,
        conflict=_conflict_view(conflict) if conflict else None,
        receipt_rules=RECEIPT_RULES, current_rule=receipt_rule(form.channel.data or "in_person",
                                                               form.post_kind.data or "signed"),
        proposal=proposal, today=today)


def _conflict_view(e: IdentityConflict) -> dict[str, Any]:
    """The earlier names on file for the entered identity number (the agency's own desk sees names;
    the number is masked as everywhere on this page)."""
    return {"identity": mask_id(e.identity), "names": [{"name": n, "cases": c} for n, c in e.names]}


@bp.get("/applicants.json")
@requires("case.register")
def applicants_json():
    q = (request.args.get("q") or "").strip()[:200]
    ids = [a.id for a in _agencies()]
    found = search_applicants(ids, q) if q else []
    return jsonify(results=[_applicant_summary(a) for a in found])
