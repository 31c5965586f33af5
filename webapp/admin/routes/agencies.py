"""Administration of agencies: list, new, edit (profile), policies."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from webapp.admin.services import agency_admin, calendar_admin
from webapp.domain.kinds import AgencyKind
from webapp.domain.policies import Policies
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency
from webapp.security import requires

from ..forms import (
    AgencyCreateForm,
    AgencyProfileForm,
    PoliciesForm,
)
from .common import _me, _or_404, _refused, bp

# --- agencies and policies -----------------------------------------------------------------------------

def _parent_choices(agency: Agency | None) -> dict[str, str]:
    govs = db.session.scalars(select(Agency).where(Agency.kind == AgencyKind.GOVERNMENT).order_by(Agency.code))
    return {"": "（无）", **{str(a.id): f"{a.name}（{a.code}）" for a in govs if agency is None or a.id != agency.id}}


@bp.get("/agencies")
@requires("admin.agency")
def agency_list():
    me = _me()
    rows = agency_admin.manageable_agencies(me)
    if len(rows) == 1 and not agency_admin.is_government_level(me):
        return redirect(url_for("admin.agency_edit", agency_id=rows[0].id))
    return render_template("admin/agencies.html", rows=rows,
                           can_create=agency_admin.is_government_level(me))


@bp.route("/agencies/new", methods=["GET", "POST"])
@requires("admin.agency")
def agency_new():
    me = _me()
    if not agency_admin.is_government_level(me):
        abort(403)
    form = AgencyCreateForm()
    form.parent_id.choices = _parent_choices(None)
    status = 200
    if form.validate_on_submit():
        try:
            agency = agency_admin.create_agency(me, {k: getattr(form, k).data for k in (
                "code", "name", "address", "postcode", "phone", "email", "kind", "parent_id")})
        except ServiceError as e:
            status = _refused(e)
        else:
            flash(f"已新建机关 {agency.name}。", "success")
            return redirect(url_for("admin.agency_edit", agency_id=agency.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/agency_new.html", form=form), status


@bp.route("/agencies/<int(max=2147483647):agency_id>", methods=["GET", "POST"])
@requires("admin.agency")
def agency_edit(agency_id: int):
    me = _me()
    agency = _or_404(agency_admin.get_agency, me, agency_id)
    gov = agency_admin.is_government_level(me)
    form = _profile_form(agency, gov, obj=agency if request.method == "GET" else None)
    policies = _policies_form(agency)
    status = 200
    if form.validate_on_submit():
        data = {k: getattr(form, k).data or "" for k in ("name", "address", "postcode", "phone", "email")}
        if gov:
            data["kind"], data["parent_id"] = form.kind.data, form.parent_id.data or None
        try:
            changes = agency_admin.update_profile(me, agency, data)
        except ServiceError as e:
            status = _refused(e)
            agency = _or_404(agency_admin.get_agency, me, agency_id)
        else:
            flash("机关信息已保存。" if changes else "没有修改。", "success")
            return redirect(url_for("admin.agency_edit", agency_id=agency.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/agency.html", agency=agency, form=form, policies=policies, gov=gov,
                           labels=_policy_labels(), moved=None,
                           deadline_labels=calendar_admin.DEADLINE_LABELS_ZH), status


def _profile_form(agency: Agency, gov: bool, **kwargs) -> AgencyProfileForm:
    """The profile form; kind and parent only for a government-level administrator."""
    form = AgencyProfileForm(**kwargs)
    if gov:
        form.parent_id.choices = _parent_choices(agency)
        if request.method == "GET" or kwargs.get("formdata", ...) is None:
            form.parent_id.data = str(agency.parent_id) if agency.parent_id else ""
    else:
        del form.kind
        del form.parent_id
    return form


def _policy_labels():
    from webapp.domain.policies import Policies

    return Policies.LABELS_ZH


def _policies_form(agency: Agency, formdata=None) -> PoliciesForm:
    if formdata is not None:
        return PoliciesForm(formdata=formdata)
    return PoliciesForm(formdata=None, data=agency.policy().to_dict())


@bp.post("/agencies/<int(max=2147483647):agency_id>/policies")
@requires("admin.agency")
def agency_policies(agency_id: int):
    me = _me()
    agency = _or_404(agency_admin.get_agency, me, agency_id)
    policies = PoliciesForm()
    form = _profile_form(agency, agency_admin.is_government_level(me), obj=agency, formdata=None)
    status, moved = 200, None
    if policies.validate_on_submit():
        data = {f.name: getattr(policies, f.name).data for f in dataclass_fields(Policies)}
        try:
            changes, moved = agency_admin.update_policies(me, agency, data)
        except ServiceError as e:
            status = _refused(e)
            agency = _or_404(agency_admin.get_agency, me, agency_id)
        else:
            if not changes:
                flash("政策设置没有修改。", "info")
                return redirect(url_for("admin.agency_edit", agency_id=agency.id))
            flash("政策设置已保存；" + (f"{len(moved)}件办理中案件的期限随之调整，见下表。" if moved
                                 else "没有办理中案件的期限因此改变。"), "success")
    else:
        status = 422
    return render_template("admin/agency.html", agency=agency, form=form, policies=policies,
                           gov=agency_admin.is_government_level(me), labels=_policy_labels(),
                           moved=moved, deadline_labels=calendar_admin.DEADLINE_LABELS_ZH), status
