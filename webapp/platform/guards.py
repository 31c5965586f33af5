"""What every request passes before its handler, in this order: the session kept alive, no NUL in
the input, a forced password change. (The API's own routing errors are answered by its blueprint.)"""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user


def keep_session_alive() -> None:
    # A logged-in session is permanent, so PERMANENT_SESSION_LIFETIME (30 min) counts from the
    # last request: Flask re-signs the cookie on every request (SESSION_REFRESH_EACH_REQUEST) and
    # refuses one signed earlier. Anonymous visitors (public pages) get no lasting cookie.
    # The JSON API (token auth) sets no cookie at all.
    if request.blueprint == "api":
        return
    if "_user_id" in session and not session.permanent:
        session.permanent = True


def refuse_nul_in_input():
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


_ALLOWED_WHILE_MUST_CHANGE = {"auth.change_password", "auth.logout", "auth.login", "static", "healthz"}


def must_change_password():
    """After an administrator's reset (or a new account) the user changes the one-time password first."""
    if request.endpoint in _ALLOWED_WHILE_MUST_CHANGE or request.endpoint is None:
        return None   # before current_user: a static file needs no user loaded
    if not getattr(current_user, "is_authenticated", False) or not getattr(current_user, "must_change_password",
                                                                            False):
        return None
    if "auth.change_password" not in current_app.view_functions:
        return None
    flash("您的密码由管理员重置或为初始密码，请先设置新密码。", "warning")
    return redirect(url_for("auth.change_password"))


def install(app: Flask) -> None:
    app.before_request(keep_session_alive)
    app.before_request(refuse_nul_in_input)
    app.before_request(must_change_password)
