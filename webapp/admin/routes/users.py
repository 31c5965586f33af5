"""Administration of users: list, new, edit, password reset, unlock."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from webapp.admin.services import agency_admin, users
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.headers import no_store
from webapp.models import Agency, User
from webapp.models._types import utcnow
from webapp.security import requires
from webapp.trust.lockout import is_locked, locked_until

from ..forms import (
    ConfirmForm,
    UserCreateForm,
    UserEditForm,
)
from .common import GOVERNMENT_LEVEL, _me, _or_404, _refused, bp

# --- users ---------------------------------------------------------------------------------------------

def _agency_choices(me: User, allow_government_level: bool) -> dict[str, str]:
    choices = {}
    if allow_government_level and agency_admin.is_government_level(me):
        choices[GOVERNMENT_LEVEL] = "（政府层级，可查看全部机关）"
    for a in agency_admin.manageable_agencies(me):
        choices[str(a.id)] = f"{a.name}（{a.code}）"
    return choices


def _agency_value(raw: str | None):
    return None if raw in (GOVERNMENT_LEVEL, "", None) else raw


@bp.get("/users")
@requires("admin.users")
def user_list():
    q = agency_admin.strip_control_chars(request.args.get("q") or "").strip()[:80]
    rows = users.users_for(_me(), search=q)
    agencies = {a.id: a for a in db.session.scalars(select(Agency))}
    return render_template("admin/users.html", rows=rows, q=q, agencies=agencies, confirm=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@requires("admin.users")
def user_new():
    me = _me()
    form = UserCreateForm()
    form.agency_id.choices = _agency_choices(me, allow_government_level=True)
    if request.method == "GET" and me.agency_id is not None:
        form.agency_id.data = str(me.agency_id)
    status = 200
    if form.validate_on_submit():
        try:
            user, password = users.create_user(me, username=form.username.data, display_name=form.display_name.data,
                                               role=form.role.data, agency_id=_agency_value(form.agency_id.data),
                                               email=form.email.data or "")
        except ServiceError as e:
            status = _refused(e)
        else:
            return no_store(render_template("admin/password_issued.html", user=user, password=password, created=True))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/users/<int(max=2147483647):user_id>", methods=["GET", "POST"])
@requires("admin.users")
def user_edit(user_id: int):
    me = _me()
    user = _or_404(users.get_user, me, user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    form.agency_id.choices = _agency_choices(me, allow_government_level=True)
    if user.agency_id is None and GOVERNMENT_LEVEL not in form.agency_id.choices:
        form.agency_id.choices = {GOVERNMENT_LEVEL: "（政府层级）", **form.agency_id.choices}
    if request.method == "GET":
        form.agency_id.data = str(user.agency_id) if user.agency_id is not None else GOVERNMENT_LEVEL
    status = 200
    if form.validate_on_submit():
        try:
            changes = users.update_user(me, user, display_name=form.display_name.data, email=form.email.data or "",
                                        role=form.role.data, agency_id=_agency_value(form.agency_id.data),
                                        active=form.active.data)
        except ServiceError as e:
            status = _refused(e)
            user = _or_404(users.get_user, me, user_id)
        else:
            flash("已保存。" if changes else "没有修改。", "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_form.html", form=form, user=user, confirm=ConfirmForm(),
                           locked=is_locked(user, utcnow()), locked_until=locked_until(user),
                           agencies={a.id: a for a in db.session.scalars(select(Agency))}), status


@bp.post("/users/<int(max=2147483647):user_id>/reset-password")
@requires("admin.users")
def user_reset_password(user_id: int):
    me = _me()
    user = _or_404(users.get_user, me, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    password = users.reset_password(me, user)
    return no_store(render_template("admin/password_issued.html", user=user, password=password, created=False))


@bp.post("/users/<int(max=2147483647):user_id>/unlock")
@requires("admin.users")
def user_unlock(user_id: int):
    me = _me()
    user = _or_404(users.get_user, me, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    changed = users.unlock_user(me, user)
    flash(f"已解锁账户 {user.username}。" if changed else f"账户 {user.username} 未被锁定。", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))
