"""Authenticated SMTP: MAIL_USERNAME / MAIL_PASSWORD (and MAIL_USE_TLS, MAIL_USE_SSL) come from the
environment through config.py, and the outbox logs in before sending (a real aiosmtpd server that
requires AUTH). A mail delivered twice (its worker killed after the server took it) carries the same
Message-ID both times, so the receiving side can drop the copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from webapp.domain.states import MailStatus
from webapp.models import OutboxMail
from webapp.notify.outbox import deliver_pending, queue_mail

from .conftest import MailSink

# AUTH over plain SMTP is what this test server offers (no certificate here); production uses TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 7, 2, 1, 0, tzinfo=UTC)
USER, PASSWORD = "gongkai", "s3cret-Pass"


class AuthSink(MailSink):
    """A MailSink that refuses mail until the client has logged in with USER/PASSWORD."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[tuple[str, bool]] = []
        self._auth_lock = threading.Lock()

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())
        with self._auth_lock:
            self.logins.append((auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "", ok))
        return AuthResult(success=ok)

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=self.authenticate,
                                      auth_required=True, auth_require_tls=False)
        self._controller.start()


@pytest.fixture
def auth_smtp():
    sink = AuthSink()
    sink.start()
    yield sink
    sink.stop()


def test_mail_settings_are_read_from_the_environment():
    env = {**os.environ, "MAIL_USERNAME": USER, "MAIL_PASSWORD": PASSWORD, "MAIL_USE_TLS": "true",
           "MAIL_USE_SSL": "0", "MAIL_SERVER": "smtp.example.gov.cn", "MAIL_PORT": "587",
           "MAIL_RETRY_BASE_SECONDS": "5", "CELERY_DEFAULT_QUEUE": "q1", "CELERY_VISIBILITY_TIMEOUT": "7"}
    code = ("import json, config; c = config.Config; print(json.dumps([c.MAIL_USERNAME, c.MAIL_PASSWORD, "
            "c.MAIL_USE_TLS, c.MAIL_USE_SSL, c.MAIL_SERVER, c.MAIL_PORT, c.MAIL_RETRY_BASE_SECONDS, "
            "c.CELERY['task_default_queue'], c.CELERY['broker_transport_options']]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == [USER, PASSWORD, True, False, "smtp.example.gov.cn", 587, 5.0, "q1",
                               {"visibility_timeout": 7}]


def test_delivers_with_smtp_auth(app, db_session, auth_smtp, monkeypatch):
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": auth_smtp.port, "MAIL_FROM": "gongkai@example.gov.cn",
                       "MAIL_USERNAME": USER, "MAIL_PASSWORD": PASSWORD}.items():
        monkeypatch.setitem(app.config, key, value)
    mail = queue_mail("a@example.com", "受理通知", "您的申请已受理。")
    db_session.commit()
    assert deliver_pending(now=T0).sent == [mail.id]
    got = auth_smtp.wait_for(1)
    assert [(m.to, m.subject) for m in got] == [(("a@example.com",), "受理通知")]
    assert auth_smtp.logins == [(USER, True)]


def test_with_a_wrong_password_the_mail_waits(app, db_session, auth_smtp, monkeypatch):
    for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": auth_smtp.port, "MAIL_USERNAME": USER,
                       "MAIL_PASSWORD": "wrong", "MAIL_TIMEOUT": 3}.items():
        monkeypatch.setitem(app.config, key, value)
    mail = queue_mail("a@example.com", "受理通知", "正文")
    db_session.commit()
    r = deliver_pending(now=T0)
    assert r.failed == [mail.id] and r.sent == []
    assert auth_smtp.snapshot() == [] and (USER, False) in auth_smtp.logins
    assert db_session.get(OutboxMail, mail.id).status == MailStatus.FAILED


def test_a_mail_sent_twice_has_one_message_id(app, db_session, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    mail = queue_mail("a@example.com", "受理通知", "正文")
    db_session.commit()
    assert deliver_pending(now=T0).sent == [mail.id]
    # the worker was killed after the server took the mail but before it was marked sent: the claim
    # runs out and another worker sends the row again
    row = db_session.get(OutboxMail, mail.id)
    row.status, row.sent_at = "sending", None
    row.next_attempt_at = T0.replace(tzinfo=None)   # the claim ran out
    db_session.commit()
    assert deliver_pending(now=T0).sent == [mail.id]
    first, second = smtp.wait_for(2)
    assert first.message_id == second.message_id and first.message_id.startswith(f"<outbox-{mail.id}.")


