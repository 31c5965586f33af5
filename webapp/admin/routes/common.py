"""The blueprint ``admin``, the guards every request passes (no NUL in input, a forced password change) and the
index."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.extensions import db
from webapp.models import Role, User
from webapp.models._types import utcnow
from webapp.security import requires
from webapp.services import agency_admin, calendar_admin, users
from webapp.services.errors import Forbidden, NotFound, ServiceError
from webapp.services.lockout import is_locked
from webapp.timeutil import today_shanghai

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


ROLE_LABELS = {r.value: r.label_zh for r in Role}
