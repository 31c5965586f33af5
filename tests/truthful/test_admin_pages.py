"""The audit log page speaks Chinese (actions, objects, fields); the outbox page explains a delivery
error in Chinese and keeps the technical text behind a <details> toggle."""

from __future__ import annotations

import re

from tests.conftest import sign_in
from tests.public.conftest import make_world
from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import OutboxMail
from webapp.notify.mail_status import explain_error
from webapp.trust.audit import log_event


def _world(app):
    with app.app_context():
        w = make_world()
        db.session.commit()
        db.session.remove()
    return w


def test_the_audit_log_is_readable(app, client, today):
    w = _world(app)
    with app.app_context():
        from webapp.models import User

        admin = db.session.get(User, w.users["admin"])
        log_event("auth.login_failed", user=admin, target_type="user", target_id=admin.id,
                  detail={"reason": "bad_password", "failed_logins": 2})
        db.session.commit()
        db.session.remove()
    sign_in(client, w.users["admin"])
    html = client.get("/admin/audit").get_data(as_text=True)
    row = re.search(r"<tbody>.*?</tbody>", html, re.S).group(0)
    assert '<td title="auth.login_failed">登录失败</td>' in row
    assert f"<td>用户 {w.users['admin']}</td>" in row
    assert "原因：密码错误；连续失败次数：2" in row
    assert "reason=" not in row and "bad_password" not in row and ">auth.login_failed<" not in row


def test_the_outbox_explains_errors_in_chinese(app, client, today):
    w = _world(app)
    with app.app_context():
        db.session.add(OutboxMail(to_addr="a@example.com", subject="主题", body="正文", status=MailStatus.FAILED,
                                  attempts=2,
                                  last_error="ConnectionRefusedError: [Errno 111] Connection refused",
                                  agency_id=w.dept))
        db.session.commit()
        db.session.remove()
    sign_in(client, w.users["admin"])
    html = client.get("/admin/outbox").get_data(as_text=True)
    cell = re.sub(r"\s+", " ", re.search(r"<td>无法连接邮件服务器.*?</td>", html, re.S).group(0))
    assert cell == ("<td>无法连接邮件服务器：服务器未开启或地址、端口有误（MAIL_SERVER、MAIL_PORT）。 "
                    '<details class="tech"><summary>技术信息</summary><pre class="mono">'
                    "ConnectionRefusedError: [Errno 111] Connection refused</pre></details> </td>")
    assert "<td>发送失败，将重试</td>" in html


def test_delivery_errors_as_deliver_pending_records_them():
    assert explain_error("SMTPAuthenticationError: (535, b'5.7.8 Authentication credentials invalid')") \
        == "邮件服务器拒绝登录：请核对邮件账号和密码（MAIL_USERNAME、MAIL_PASSWORD）。"
    assert explain_error("SMTPRecipientsRefused: {'x@example.com': (550, b'5.1.1 User unknown')}") \
        == "邮件服务器拒收：收件人地址不存在或不接受邮件，请核对收件人地址。"
    assert explain_error("gaierror: [Errno -2] Name or service not known") == \
        "找不到邮件服务器：请核对服务器地址（MAIL_SERVER）。"
    assert explain_error("TimeoutError: timed out") == "连接邮件服务器超时：网络不通或服务器无响应。"
    assert explain_error("SMTPServerDisconnected: Connection unexpectedly closed") == \
        "邮件服务器中途断开了连接，将自动重试。"
    assert explain_error("LookupError: attachment 7 does not exist") == "附件文件缺失，邮件无法生成：请检查附件存储。"
    assert explain_error("") == ""
