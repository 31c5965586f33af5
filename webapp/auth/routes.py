"""Login, logout, password change; session expiry; the Chinese error pages (400 CSRF, 403, 404, 429)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError

from webapp.extensions import db, limiter, login_manager
from webapp.models._types import utcnow
from webapp.security import public, requires
from webapp.services.audit import log_event
from webapp.services.passwords import password_problem

from . import register_template_helpers
from .forms import LoginForm, PasswordChangeForm
from .login import attempt_login, check_own_password, load_user

bp = Blueprint("auth", __name__)

LOGIN_RATE = "10/minute"            # per address
ACCOUNT_LOGIN_RATE = "5/minute"     # per account name, from any address (whether the name exists or not)


def _account_key() -> str:
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:80]


@bp.record_once
def _setup(state) -> None:
    app = state.app
    login_manager.user_loader(load_user)
    register_template_helpers(app)

    @app.before_request
    def keep_session_alive() -> None:
        # A logged-in session is permanent, so PERMANENT_SESSION_LIFETIME (30 min) counts from the
        # last request: Flask re-signs the cookie on every request (SESSION_REFRESH_EACH_REQUEST) and
        # refuses one signed earlier. Anonymous visitors (public pages) get no lasting cookie.
        # The JSON API (token auth) sets no cookie at all.
        if request.blueprint == "api":
            return
        if "_user_id" in session and not session.permanent:
            session.permanent = True


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, not //host)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(LOGIN_RATE, methods=["POST"])
@limiter.limit(ACCOUNT_LOGIN_RATE, methods=["POST"], key_func=_account_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("cases.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        result = attempt_login(form.username.data, form.password.data)
        db.session.commit()
        if result.ok:
            login_user(result.user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")) or url_for("cases.dashboard"))
        flash(result.message_zh, "error")
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@requires("account.self")
def logout():
    user = current_user._get_current_object()
    log_event("auth.logout", user=user, target_type="user", target_id=user.id)
    user.end_sessions()          # a copy of this session's cookie stops working too
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires("account.self")
@limiter.limit(LOGIN_RATE, methods=["POST"])
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        # under the lock-out like a login: a wrong current password counts toward the lock
        if not check_own_password(user, form.current.data, utcnow(), failed_action="auth.password_change_refused"):
            db.session.commit()
            form.current.errors.append("当前密码不正确")
        elif (problem := password_problem(form.new.data, user)) is not None:
            form.new.errors.append(problem)
        else:
            user.set_password(form.new.data)       # ends every session of the user ...
            log_event("auth.password_changed", user=user, target_type="user", target_id=user.id)
            db.session.commit()
            login_user(user)                         # ... but this one, signed again
            session.permanent = True
            flash("密码已修改，其他设备上的登录已失效。", "success")
            return redirect(url_for("cases.dashboard"))
    return render_template("auth/password.html", form=form)


# --- error pages in Chinese ------------------------------------------------------------------------

def _rollback_keeping_audit() -> None:
    """Undo the request's changes but keep its audit rows (a refusal is logged by
    security.requires before the 403 is raised)."""
    from webapp.models import AuditLog

    pending = [obj for obj in db.session.new if isinstance(obj, AuditLog)]
    db.session.rollback()
    if pending:
        for row in pending:
            db.session.add(row)
        db.session.commit()


def _error_page(code: int, title: str, message: str):
    return render_template("partials/error.html", code=code, title=title, message=message), code


@bp.app_errorhandler(CSRFError)
def csrf_error(e):
    _rollback_keeping_audit()
    return _error_page(400, "请求已失效", "页面已过期或缺少安全校验码（CSRF），操作未执行。请刷新页面后重试。")


@bp.app_errorhandler(403)
def forbidden(e):
    _rollback_keeping_audit()
    return _error_page(403, "无权操作", "您的角色没有执行该操作的权限。")


@bp.app_errorhandler(404)
def not_found(e):
    _rollback_keeping_audit()
    return _error_page(404, "页面不存在", "您访问的页面或案件不存在，或不属于您所在的机关。")


@bp.app_errorhandler(413)
def too_large(e):
    _rollback_keeping_audit()
    return _error_page(413, "上传内容过大", "上传的文件合计过大，未予处理。每个文件不超过10MB，请分批上传。")


@bp.app_errorhandler(500)
def server_error(e):
    try:
        db.session.rollback()
        return _error_page(500, "系统错误", "处理请求时发生错误，操作未完成。请稍后重试，或联系系统管理员。")
    except Exception:  # the error page itself must not fail
        return "系统错误：处理请求时发生错误，操作未完成。", 500


@bp.app_errorhandler(429)
def too_many_requests(e):
    _rollback_keeping_audit()
    if request.endpoint == "auth.login":
        log_event("auth.login_refused", target_type="route", target_id="auth.login",
                  username=(request.form.get("username") or "")[:80],
                  detail={"reason": "throttled", "limit": str(getattr(e, "limit", None) or LOGIN_RATE)})
        db.session.commit()
    return _error_page(429, "请求过于频繁", "登录尝试过于频繁，请稍后再试。")
