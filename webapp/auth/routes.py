"""Login, logout, password change (the session rules and error pages are in webapp/platform/)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from webapp.extensions import limiter
from webapp.models._types import utcnow
from webapp.security import public, requires
from webapp.trust.audit import log_event
from webapp.trust.passwords import password_problem

from .forms import LoginForm, PasswordChangeForm
from .login import ACCOUNT_LOGIN_RATE, LOGIN_RATE, attempt_login, check_own_password
from .session_user import as_entity

bp = Blueprint("auth", __name__)



def _account_key() -> str:
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:80]


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
    user = as_entity(current_user._get_current_object())      # the User row: it changes
    log_event("auth.logout", user=user, target_type="user", target_id=user.id)
    user.end_sessions()          # a copy of this session's cookie stops working too
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
        user = as_entity(current_user._get_current_object())  # the User row: it changes
        # under the lock-out like a login: a wrong current password counts toward the lock
        if not check_own_password(user, form.current.data, utcnow(), failed_action="auth.password_change_refused"):
            form.current.errors.append("当前密码不正确")
        elif (problem := password_problem(form.new.data, user)) is not None:
            form.new.errors.append(problem)
        else:
            user.set_password(form.new.data)       # ends every session of the user ...
            log_event("auth.password_changed", user=user, target_type="user", target_id=user.id)
            login_user(user)                         # ... but this one, signed again
            session.permanent = True
            flash("密码已修改，其他设备上的登录已失效。", "success")
            return redirect(url_for("cases.dashboard"))
    return render_template("auth/password.html", form=form)
