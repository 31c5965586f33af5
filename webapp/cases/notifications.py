"""The notification list behind the header's bell (blueprint ``notifications``).

Notification rows are written by the reminder workers; here a user reads their own: newest first,
opening one marks it read and follows its link, or all are marked read at once.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import Notification
from webapp.models._types import utcnow
from webapp.params import page_arg
from webapp.security import requires

from .forms import ZhForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 30


def _safe_link(link: str | None) -> str | None:
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return None


@bp.get("/")
@requires("notifications.view")
def index():
    q = (select(Notification).where(Notification.recipient_id == current_user.id)
         .order_by(Notification.created_at.desc(), Notification.id.desc()))
    if request.args.get("unread"):
        q = q.where(Notification.read_at.is_(None))
    page = page_arg()
    pagination = db.paginate(q, page=page, per_page=PER_PAGE, error_out=False)
    return render_template("cases/notifications.html", pagination=pagination, form=ZhForm(),
                           unread_only=bool(request.args.get("unread")))


@bp.post("/<int:notification_id>/open")
@requires("notifications.view")
def open_(notification_id: int):
    n = db.session.get(Notification, notification_id)
    if n is None or n.recipient_id != current_user.id:
        abort(404)
    if not ZhForm().validate_on_submit():
        abort(400)
    if n.read_at is None:
        n.read_at = utcnow()
    return redirect(_safe_link(n.link) or url_for("notifications.index"))


@bp.post("/read-all")
@requires("notifications.view")
def read_all():
    if not ZhForm().validate_on_submit():
        abort(400)
    result = db.session.execute(update(Notification).where(
        Notification.recipient_id == current_user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    flash(f"已将{result.rowcount}条提醒标记为已读。", "success")
    return redirect(url_for("notifications.index"))
