"""The audit log page (审计日志), scoped to what the administrator may see."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import func, or_, select
from werkzeug.datastructures import MultiDict

from webapp.admin.services import agency_admin
from webapp.extensions import db
from webapp.models import AuditLog, User
from webapp.params import page_arg
from webapp.security import requires
from webapp.timeutil import SHANGHAI

from ..forms import (
    AuditFilterForm,
)
from .common import AUDIT_PAGE_SIZE, _me, bp

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
