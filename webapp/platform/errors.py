"""The Chinese error pages of every blueprint without its own (400 CSRF, 403, 404, 413, 429, 500).

Each undoes the request's changes but keeps its audit rows (a refusal is logged by
security.requires before the 403 is raised); a throttled login is logged."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from webapp.auth.login import LOGIN_RATE
from webapp.extensions import db
from webapp.models import AuditLog
from webapp.trust.audit import log_event


def _rollback_keeping_audit() -> None:
    """Undo the request's changes but keep its audit rows."""
    if not db.session.registry.has():
        return      # the request has not used the database (yet): nothing to undo
    pending = [obj for obj in db.session.new if isinstance(obj, AuditLog)]
    db.session.rollback()
    if pending:
        for row in pending:
            db.session.add(row)
        db.session.commit()


def _error_page(code: int, title: str, message: str):
    return render_template("partials/error.html", code=code, title=title, message=message), code


def csrf_error(e):
    _rollback_keeping_audit()
    return _error_page(400, "请求已失效", "页面已过期或缺少安全校验码（CSRF），操作未执行。请刷新页面后重试。")


def forbidden(e):
    _rollback_keeping_audit()
    return _error_page(403, "无权操作", "您的角色没有执行该操作的权限。")


def not_found(e):
    _rollback_keeping_audit()
    return _error_page(404, "页面不存在", "您访问的页面或案件不存在，或不属于您所在的机关。")


def too_large(e):
    _rollback_keeping_audit()
    return _error_page(413, "上传内容过大", "上传的文件合计过大，未予处理。每个文件不超过10MB，请分批上传。")


def server_error(e):
    try:
        db.session.rollback()
        return _error_page(500, "系统错误", "处理请求时发生错误，操作未完成。请稍后重试，或联系系统管理员。")
    except Exception:  # the error page itself must not fail
        return "系统错误：处理请求时发生错误，操作未完成。", 500


def too_many_requests(e):
    _rollback_keeping_audit()
    if request.endpoint == "auth.login":
        log_event("auth.login_refused", target_type="route", target_id="auth.login",
                  username=(request.form.get("username") or "")[:80],
                  detail={"reason": "throttled", "limit": str(getattr(e, "limit", None) or LOGIN_RATE)})
        db.session.commit()
    return _error_page(429, "请求过于频繁", "登录尝试过于频繁，请稍后再试。")


def install(app: Flask) -> None:
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(403, forbidden)
    app.register_error_handler(404, not_found)
    app.register_error_handler(413, too_large)
    app.register_error_handler(500, server_error)
    app.register_error_handler(429, too_many_requests)
