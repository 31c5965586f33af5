"""The audit log: logins and refusals, openings of personal data, administrative changes."""

from __future__ import annotations

from typing import Any

from webapp.extensions import db
from webapp.models import AuditLog


def log_event(action: str, *, user=None, target_type: str = "", target_id: Any = "",
              detail: dict[str, Any] | None = None, username: str = "") -> AuditLog:
    """Add an audit row to the current transaction (the caller commits)."""
    ip = ""
    try:
        from flask import has_request_context, request
        from flask_login import current_user

        if has_request_context():
            ip = request.remote_addr or ""
            if user is None and getattr(current_user, "is_authenticated", False):
                user = current_user
    except Exception:
        pass
    row = AuditLog(user_id=getattr(user, "id", None), username=username or getattr(user, "username", "") or "",
                   action=action, target_type=target_type, target_id=str(target_id), ip=ip,
                   detail=detail or {})
    db.session.add(row)
    return row
