"""The blueprint ``admin`` and its index (the guards every request passes are in webapp/platform/guards.py)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, render_template
from flask_login import current_user

from webapp.admin.services import agency_admin, calendar_admin, users
from webapp.errors import Forbidden, NotFound, ServiceError
from webapp.extensions import db
from webapp.models import Role, User
from webapp.models._types import utcnow
from webapp.security import requires
from webapp.timeutil import today_shanghai
from webapp.trust.lockout import is_locked

bp = Blueprint("admin", __name__, url_prefix="/admin")


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
