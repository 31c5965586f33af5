"""Pages of Reach: a staff member's choice of reminders (/account/notify) and an agency's quiet
hours (a panel of the agency page, posted here)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.validators import Optional

from webapp.domain.kinds import NotifyVia
from webapp.errors import NotFound, ServiceError
from webapp.extensions import db
from webapp.forms import ZhForm as FlaskForm
from webapp.models import User
from webapp.security import requires

from .outbox import CHOICES
from .settings import set_quiet_hours, set_staff_choice

bp = Blueprint("reach", __name__)


class StaffNotifyForm(FlaskForm):
    notify_via = RadioField("接收提醒的方式", choices=dict(CHOICES), default=NotifyVia.EMAIL.value)
    mobile = StringField("手机号码", validators=[Optional()])
    submit = SubmitField("保存")


class QuietHoursForm(FlaskForm):
    start = StringField("开始", default="20:00")
    end = StringField("结束", default="08:00")
    days_off = BooleanField("节假日、休息日全天免打扰")
    applicant_mail = BooleanField("发给申请人的邮件也在免打扰时段后发送")
    submit = SubmitField("保存免打扰设置")


@bp.route("/account/notify", methods=["GET", "POST"])
@requires("account.self")
def account_notify():
    user = db.session.get(User, current_user.id)     # the User row (the session user is read-only)
    form = StaffNotifyForm(data={"notify_via": user.notify_via or NotifyVia.EMAIL, "mobile": user.mobile}
                           if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            changed = set_staff_choice(user, form.notify_via.data, form.mobile.data)
        except ServiceError as e:
            db.session.rollback()
            form.notify_via.errors = [*form.notify_via.errors, e.message_zh]
            status = 422
        else:
            flash("提醒方式已保存。" if changed else "没有修改。", "success")
            return redirect(url_for("reach.account_notify"))
    elif request.method == "POST":
        status = 422
    return render_template("account/notify.html", form=form, has_email=bool((user.email or "").strip())), status


@bp.post("/admin/agencies/<int(max=2147483647):agency_id>/quiet-hours")
@requires("admin.agency")
def agency_quiet_hours(agency_id: int):
    from webapp.admin.services.agency_admin import get_agency

    me = current_user._get_current_object()
    try:
        agency = get_agency(me, agency_id)
    except NotFound:
        from flask import abort

        abort(404)
    form = QuietHoursForm()
    if not form.validate_on_submit():
        flash("页面已过期，请重试。", "error")
        return redirect(url_for("admin.agency_edit", agency_id=agency.id) + "#quiet-hours")
    data = {"start": form.start.data or "", "end": form.end.data or "", "days_off": bool(form.days_off.data),
            "applicant_mail": bool(form.applicant_mail.data)}
    try:
        changed = set_quiet_hours(me, agency, data)
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
    else:
        flash("免打扰设置已保存。" if changed else "免打扰设置没有修改。", "success")
    return redirect(url_for("admin.agency_edit", agency_id=agency.id) + "#quiet-hours")


def quiet_hours_form(agency) -> QuietHoursForm:
    """The panel's form filled from the agency (for templates/admin/agency.html)."""
    from .quiet import QuietHours

    q = QuietHours.from_mapping(agency.quiet_hours or {})
    data = q.to_dict() if q.enabled else {"start": "20:00", "end": "08:00", "days_off": False, "applicant_mail": False}
    return QuietHoursForm(formdata=None, data=data)
