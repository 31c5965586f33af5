"""Admin pages. Thin: each view checks its action (webapp/security.py PERMISSIONS), calls one service
(services/users.py, agency_admin.py, calendar_admin.py), commits, and shows the result. The scope
rule (a government-level administrator manages every agency, an agency's administrator only its own)
lives in those services; something out of scope is a 404, as for another agency's case."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.datastructures import MultiDict

from webapp.domain.policies import Policies
from webapp.extensions import db
from webapp.headers import no_store
from webapp.models import Agency, AuditLog, Role, User
from webapp.models._types import utcnow
from webapp.params import page_arg
from webapp.security import requires
from webapp.services import agency_admin, calendar_admin, users
from webapp.services import tokens as tokens_service
from webapp.services.errors import Forbidden, NotFound, ServiceError
from webapp.services.lockout import is_locked, locked_until
from webapp.timeutil import SHANGHAI, today_shanghai

from .forms import (
    AgencyCreateForm,
    AgencyProfileForm,
    AuditFilterForm,
    CalendarNoticeForm,
    ConfirmForm,
    EmailTemplateForm,
    LetterTemplateForm,
    PoliciesForm,
    TokenCreateForm,
    UserCreateForm,
    UserEditForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_context_processor
def _words_zh() -> dict:
    """The audit log and the outbox in Chinese (services/audit_labels.py, services/mail_status.py)."""
    from webapp.services import audit_labels, mail_status

    return {"audit_zh": audit_labels, "mail_error_zh": mail_status.explain_error,
            "mail_state_zh": mail_status.STATE_ZH}

GOVERNMENT_LEVEL = "__government__"
AUDIT_PAGE_SIZE = 50


def _me() -> User:
    return current_user._get_current_object()


def _or_404(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NotFound:
        abort(404)


def _refused(e: ServiceError, status: int = 422):
    db.session.rollback()
    if isinstance(e, NotFound):
        abort(404)
    if isinstance(e, Forbidden):
        abort(403)
    flash(e.message_zh, "error")
    return status


# --- input no page may store: NUL --------------------------------------------------------------------------

@bp.before_app_request
def _refuse_nul_in_input():
    """A NUL character in a query or form value is refused (400) everywhere: PostgreSQL cannot store it
    in text, and no name, address or request text contains one. (Hardening for every blueprint;
    services should refuse control characters themselves as well.)"""
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                if request.path.startswith("/api/"):
                    from webapp.api.routes import error_response  # the API answers in JSON

                    return error_response(400)
                return render_template("partials/error.html", code=400, title="请求无效",
                                       message="提交的内容含有无法识别的控制字符，操作未执行。请删除后重试。"), 400
    return None


# --- forced password change after an administrator's reset ---------------------------------------------

_ALLOWED_WHILE_MUST_CHANGE = {"auth.change_password", "auth.logout", "auth.login", "static", "healthz"}


@bp.before_app_request
def _must_change_password():
    """After an administrator's reset (or a new account) the user changes the one-time password first."""
    if request.endpoint in _ALLOWED_WHILE_MUST_CHANGE or request.endpoint is None:
        return None   # before current_user: a static file needs no user loaded
    if not getattr(current_user, "is_authenticated", False) or not getattr(current_user, "must_change_password",
                                                                            False):
        return None
    if "auth.change_password" not in _app_endpoints():
        return None
    flash("您的密码由管理员重置或为初始密码，请先设置新密码。", "warning")
    return redirect(url_for("auth.change_password"))


def _app_endpoints():
    from flask import current_app

    return current_app.view_functions


# --- index ---------------------------------------------------------------------------------------------

@bp.get("/")
@requires("admin.users")
def index():
    me = _me()
    counts = {
        "users": len(users.users_for(me)),
        "locked": sum(1 for u in users.users_for(me) if is_locked(u, utcnow())),
        "agencies": len(agency_admin.manageable_agencies(me)),
        "undelivered": len(agency_admin.undelivered(me)),
    }
    return render_template("admin/index.html", counts=counts,
                           missing_year=calendar_admin.missing_next_year() and today_shanghai().year + 1)


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
            db.session.commit()
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
            db.session.commit()
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
    db.session.commit()
    return no_store(render_template("admin/password_issued.html", user=user, password=password, created=False))


@bp.post("/users/<int(max=2147483647):user_id>/unlock")
@requires("admin.users")
def user_unlock(user_id: int):
    me = _me()
    user = _or_404(users.get_user, me, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    changed = users.unlock_user(me, user)
    db.session.commit()
    flash(f"已解锁账户 {user.username}。" if changed else f"账户 {user.username} 未被锁定。", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


# --- agencies and policies -----------------------------------------------------------------------------

def _parent_choices(agency: Agency | None) -> dict[str, str]:
    govs = db.session.scalars(select(Agency).where(Agency.kind == "government").order_by(Agency.code))
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
            db.session.commit()
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
            db.session.commit()
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
            db.session.commit()
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


# --- API tokens ----------------------------------------------------------------------------------------

@bp.route("/agencies/<int(max=2147483647):agency_id>/tokens", methods=["GET", "POST"])
@requires("admin.tokens")
def tokens(agency_id: int):
    me = _me()
    agency = _or_404(agency_admin.get_agency, me, agency_id)
    form = TokenCreateForm()
    raw = None
    status = 200
    if form.validate_on_submit():
        try:
            _token, raw = tokens_service.issue_token(me, agency, form.name.data, form.note.data or "")
            db.session.commit()
        except ServiceError as e:
            status = _refused(e)
        else:
            form = TokenCreateForm(formdata=None)
    elif request.method == "POST":
        status = 422
    # the new token is on this page once: no cache may keep it
    return no_store(render_template("admin/tokens.html", agency=agency, form=form, raw=raw,
                                    rows=tokens_service.list_tokens(me, agency), confirm=ConfirmForm()), status)


@bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
@requires("admin.tokens")
def token_revoke(token_id: int):
    me = _me()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = _or_404(tokens_service.revoke_token, me, token_id)
    db.session.commit()
    flash(f"已吊销令牌“{token.name}”。", "success")
    return redirect(url_for("admin.tokens", agency_id=token.agency_id))


# --- the holiday calendar ------------------------------------------------------------------------------

@bp.get("/calendar")
@requires("admin.calendar")
def calendar():
    today = today_shanghai()
    return render_template("admin/calendar.html", years=calendar_admin.list_years(today), today=today,
                           missing=calendar_admin.missing_next_year(today), next_year=today.year + 1,
                           confirm=ConfirmForm())


@bp.route("/calendar/<int(max=2147483647):year>", methods=["GET", "POST"])
@requires("admin.calendar")
def calendar_year(year: int):
    from webapp.domain.calendar import FIRST_YEAR, LAST_YEAR

    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    form = CalendarNoticeForm()
    if request.method == "GET":
        current = calendar_admin.notice_as_form(year)
        form.title.data = current["title"]
        form.issued_on.data = current["issued_on"]
        form.days_off.data = current["days_off"]
        form.makeup_days.data = current["makeup_days"]
    status = 200
    if form.validate_on_submit():
        try:
            notice = calendar_admin.build_notice(year, form.title.data, form.issued_on.data,
                                                 calendar_admin.parse_day_off_ranges(form.days_off.data),
                                                 calendar_admin.parse_dates(form.makeup_days.data or ""))
            moved = calendar_admin.enter_notice(_me(), notice)
            db.session.commit()
        except ServiceError as e:
            status = _refused(e)
        else:
            return render_template("admin/calendar_saved.html", year=year, notice=notice, moved=moved,
                                   deadline_labels=calendar_admin.DEADLINE_LABELS_ZH)
    elif request.method == "POST":
        status = 422
    row = calendar_admin.admin_year(year)
    return render_template("admin/calendar_year.html", form=form, year=year, row=row,
                           source=next((y for y in calendar_admin.list_years() if y.year == year), None)), status


@bp.post("/calendar/<int(max=2147483647):year>/remove")
@requires("admin.calendar")
def calendar_remove(year: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        moved = calendar_admin.remove_notice(_me(), year)
        db.session.commit()
    except ServiceError as e:
        _refused(e)
    return render_template("admin/calendar_saved.html", year=year, notice=None, moved=moved,
                           deadline_labels=calendar_admin.DEADLINE_LABELS_ZH)


# --- letter and mail templates ---------------------------------------------------------------------------

@bp.get("/templates")
@requires("admin.templates")
def templates():
    from webapp.letters import LETTER_TITLES
    from webapp.models.emails import EmailTemplate
    from webapp.models.letters import LetterTemplate
    from webapp.services.outbox import EMAIL_KINDS

    letters = {t.kind: t for t in db.session.scalars(select(LetterTemplate))}
    emails = {t.kind: t for t in db.session.scalars(select(EmailTemplate))}
    return render_template("admin/templates.html", letter_titles=LETTER_TITLES, letters=letters,
                           email_kinds=EMAIL_KINDS, emails=emails)


@bp.route("/templates/letters/<kind>", methods=["GET", "POST"])
@requires("admin.templates")
def letter_template(kind: str):
    from webapp.letters import LETTER_TITLES, letter_template_source
    from webapp.services import template_admin

    if kind not in LETTER_TITLES:
        abort(404)
    form = LetterTemplateForm()
    if request.method == "GET":
        form.body.data = letter_template_source(kind)
    status = 200
    if form.validate_on_submit():
        try:
            template_admin.save_letter_template(_me(), kind, form.body.data)
            db.session.commit()
        except ServiceError as e:
            status = _refused(e)
        else:
            flash(f"已保存“{LETTER_TITLES[kind]}”模板。", "success")
            return redirect(url_for("admin.letter_template", kind=kind))
    elif request.method == "POST":
        status = 422
    return render_template("admin/letter_template.html", form=form, kind=kind, title=LETTER_TITLES[kind],
                           overridden=template_admin.letter_overridden(kind), confirm=ConfirmForm()), status


@bp.post("/templates/letters/<kind>/reset")
@requires("admin.templates")
def letter_template_reset(kind: str):
    from webapp.letters import LETTER_TITLES
    from webapp.services import template_admin

    if kind not in LETTER_TITLES:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        template_admin.reset_letter_template(_me(), kind)
    except ServiceError as e:
        _refused(e)
    db.session.commit()
    flash(f"“{LETTER_TITLES[kind]}”已恢复为系统默认模板。", "success")
    return redirect(url_for("admin.letter_template", kind=kind))


@bp.route("/templates/emails/<kind>", methods=["GET", "POST"])
@requires("admin.templates")
def email_template(kind: str):
    from webapp.models.emails import email_template as template_in_force
    from webapp.services import template_admin
    from webapp.services.outbox import EMAIL_KINDS

    if kind not in EMAIL_KINDS:
        abort(404)
    form = EmailTemplateForm()
    if request.method == "GET":
        t = template_in_force(kind)
        form.subject.data, form.body.data = t.subject, t.body
    status = 200
    if form.validate_on_submit():
        try:
            template_admin.save_email_template(_me(), kind, form.subject.data, form.body.data)
            db.session.commit()
        except ServiceError as e:
            status = _refused(e)
        else:
            flash(f"已保存“{EMAIL_KINDS[kind]['label_zh']}”邮件模板。", "success")
            return redirect(url_for("admin.email_template", kind=kind))
    elif request.method == "POST":
        status = 422
    return render_template("admin/email_template.html", form=form, kind=kind, info=EMAIL_KINDS[kind],
                           overridden=template_admin.email_overridden(kind), confirm=ConfirmForm()), status


@bp.post("/templates/emails/<kind>/reset")
@requires("admin.templates")
def email_template_reset(kind: str):
    from webapp.services import template_admin
    from webapp.services.outbox import EMAIL_KINDS

    if kind not in EMAIL_KINDS:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        template_admin.reset_email_template(_me(), kind)
    except ServiceError as e:
        _refused(e)
    db.session.commit()
    flash(f"“{EMAIL_KINDS[kind]['label_zh']}”已恢复为系统默认模板。", "success")
    return redirect(url_for("admin.email_template", kind=kind))


# --- the outbox ----------------------------------------------------------------------------------------

@bp.get("/outbox")
@requires("admin.outbox")
def outbox():
    return render_template("admin/outbox.html", rows=agency_admin.undelivered(_me()), confirm=ConfirmForm())


@bp.post("/outbox/<int(max=2147483647):mail_id>/retry")
@requires("admin.outbox")
def outbox_retry(mail_id: int):
    from webapp.services.outbox import request_delivery

    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        mail = agency_admin.retry_mail(_me(), mail_id)
    except ServiceError as e:
        status = _refused(e)
        return render_template("admin/outbox.html", rows=agency_admin.undelivered(_me()),
                               confirm=ConfirmForm()), status
    request_delivery()
    db.session.commit()
    flash(f"已安排立即重发邮件（收件人 {mail.to_addr}）。", "success")
    return redirect(url_for("admin.outbox"))


# --- the audit log -------------------------------------------------------------------------------------

def _audit_scope(me: User):
    q = select(AuditLog)
    if me.agency_id is not None:
        agency_users = select(User.id).where(User.agency_id == me.agency_id)
        agency_names = select(User.username).where(User.agency_id == me.agency_id)
        q = q.where(or_(AuditLog.user_id.in_(agency_users),
                        (AuditLog.user_id.is_(None) & AuditLog.username.in_(agency_names))))
    return q


def _utc_naive(day, end: bool = False) -> datetime:
    start = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=SHANGHAI)
    from datetime import UTC

    return start.astimezone(UTC).replace(tzinfo=None)


@bp.get("/audit")
@requires("audit.view")
def audit():
    args = MultiDict([(k, agency_admin.strip_control_chars(v)) for k, v in request.args.items(multi=True)])
    form = AuditFilterForm(args)
    q = _audit_scope(_me())
    if form.validate():
        if form.action.data:
            q = q.where(AuditLog.action.startswith(form.action.data.strip(), autoescape=True))
        if form.username.data:
            q = q.where(AuditLog.username == form.username.data.strip())
        if form.target.data:
            kind, _, ident = form.target.data.strip().partition(":")
            q = q.where(AuditLog.target_type == kind)
            if ident:
                q = q.where(AuditLog.target_id == ident)
        if form.date_from.data:
            q = q.where(AuditLog.at >= _utc_naive(form.date_from.data))
        if form.date_to.data:
            q = q.where(AuditLog.at < _utc_naive(form.date_to.data, end=True))
    page = page_arg()
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(db.session.scalars(q.order_by(AuditLog.at.desc(), AuditLog.id.desc())
                                   .offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE)))
    args = {k: v for k, v in request.args.items() if k != "page"}
    actions = list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))
    return render_template("admin/audit.html", form=form, rows=rows, page=page, total=total, args=args,
                           pages=max((total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE, 1), actions=actions)


ROLE_LABELS = {r.value: r.label_zh for r in Role}
