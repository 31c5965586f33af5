"""Login, lockout, throttling, session expiry, logout, password change, and the audit trail of each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from config import TestConfig
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD
from webapp import create_app
from webapp.extensions import db, limiter
from webapp.models import AuditLog, User

from .helpers import csrf_token, flashes


def _audit(in_app) -> list[tuple[str, str, dict]]:
    return in_app(lambda: [(a.action, a.username, dict(a.detail or {}))
                           for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))])


def _user(in_app, user_id: int) -> dict:
    def go():
        u = db.session.get(User, user_id)
        return {"failed": u.failed_logins, "locked": u.locked_at is not None, "last_login": u.last_login_at}

    return in_app(go)


def _login(client, username: str, password: str, **kw):
    return client.post("/login", data={"username": username, "password": password}, **kw)


def test_anonymous_is_sent_to_login(client, world):
    # the root page leads the public to the online form and the status look-up, and staff to login
    r = client.get("/")
    assert r.status_code == 200
    for link in ('href="/apply"', 'href="/status"', 'href="/login"'):
        assert link in r.text
    assert "临淄区商务局" not in r.text
    r = client.get("/cases")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=%2Fcases"
    page = client.get("/login").text
    assert "工作人员登录" in page


def test_login_and_logout(client, world, in_app):
    r = _login(client, "swj_clerk", PASSWORD)
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
    page = client.get("/").text
    assert "临淄区商务局经办人" in page and "经办人</span>" in page and "临淄区商务局" in page
    assert _user(in_app, world.a.clerk)["last_login"] is not None
    r = client.post("/logout")
    assert r.status_code == 302
    assert client.get("/cases").status_code == 302
    assert [a[0] for a in _audit(in_app)] == ["auth.login", "auth.logout"]


def test_a_copied_session_cookie_stops_working_after_logout_and_password_changes(app, client, world, in_app):
    """Sessions are signed cookies: logging out, changing the password or an administrator's reset
    ends every session signed before - a copy kept elsewhere included."""
    _login(client, "swj_clerk", PASSWORD)
    copy = client.get_cookie("session").value
    other = app.test_client()
    other.set_cookie("session", copy)
    assert other.get("/cases").status_code == 200                 # the copy works while the session lives
    client.post("/logout")
    assert other.get("/cases").status_code == 302                 # ... and not after the logout
    # a password change keeps the changing session and ends the others
    _login(client, "swj_clerk", PASSWORD)
    elsewhere = app.test_client()
    _login(elsewhere, "swj_clerk", PASSWORD)
    r = client.post("/account/password", data={"current": PASSWORD, "new": "Neues#Passwort2",
                                               "confirm": "Neues#Passwort2"})
    assert r.status_code == 302
    assert client.get("/cases").status_code == 200
    assert elsewhere.get("/cases").status_code == 302
    # an administrator's reset ends the user's sessions too
    from webapp.admin.services.users import reset_password

    def reset():
        reset_password(None, db.session.get(User, world.a.clerk))
        db.session.commit()

    in_app(reset)
    assert client.get("/cases").status_code == 302


def test_login_follows_only_local_next(client, world):
    r = _login(client, "swj_clerk", PASSWORD, query_string={"next": "/cases?status=closed"})
    assert r.headers["Location"] == "/cases?status=closed"
    client.post("/logout")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = _login(client, "swj_clerk", PASSWORD, query_string={"next": evil})
        assert r.headers["Location"] == "/", evil
        client.post("/logout")


def test_wrong_password_and_unknown_user_give_the_same_message(client, world, in_app):
    r = _login(client, "swj_clerk", "wrong-password")
    assert r.status_code == 200
    assert flashes(r.text) == ["用户名或密码错误。"]
    r = _login(client, "nobody", "wrong-password")
    assert flashes(r.text) == ["用户名或密码错误。"]
    assert _user(in_app, world.a.clerk)["failed"] == 1
    assert _audit(in_app) == [
        ("auth.login_failed", "swj_clerk", {"reason": "bad_password", "failed_logins": 1}),
        ("auth.login_failed", "nobody", {"reason": "unknown_user"}),
    ]


def _page_without_token(text: str) -> str:
    import re

    return re.sub(r'name="csrf_token"[^>]*>', "", text)


def test_five_failures_lock_the_account_for_a_minute_and_a_right_password_answers_the_same(
        client, world, in_app, time_machine):
    time_machine.move_to(DEFAULT_NOW, tick=False)
    for _ in range(4):
        _login(client, "swj_clerk", "wrong-password")
    r = _login(client, "swj_clerk", "wrong-password")
    assert flashes(r.text) == ["用户名或密码错误。"]          # as for a name that does not exist
    assert _user(in_app, world.a.clerk) == {"failed": 5, "locked": True, "last_login": None}
    # while the lock runs, the right password, a wrong one and an unknown name get the very same page
    wrong = _login(client, "swj_clerk", "wrong-password")
    right = _login(client, "swj_clerk", PASSWORD)
    unknown = _login(client, "nobody", "wrong-password")
    assert [r.status_code for r in (wrong, right, unknown)] == [200, 200, 200]
    assert [flashes(r.text) for r in (wrong, right, unknown)] == [["用户名或密码错误。"]] * 3
    assert _page_without_token(right.text) == _page_without_token(wrong.text)   # byte for byte
    assert client.get("/cases").status_code == 302                 # the right password did not log in
    client.get("/login")                                        # (shows the "please log in" notice)
    time_machine.move_to(DEFAULT_NOW + timedelta(seconds=59), tick=False)
    assert flashes(_login(client, "swj_clerk", PASSWORD).text) == ["用户名或密码错误。"]
    assert client.get("/cases").status_code == 302
    # attempts during the lock are not counted (the lock does not grow while it runs)
    assert _user(in_app, world.a.clerk)["failed"] == 5
    actions = [(a[0], a[2].get("reason"), a[2].get("until")) for a in _audit(in_app) if a[1] == "swj_clerk"]
    until = "2024-06-10T02:01:00"                               # 10:00 in Shanghai + 1 minute, as UTC
    assert actions == [("auth.login_failed", "bad_password", None)] * 4 + [
        ("auth.locked", None, until)] + [("auth.login_refused", "locked", until)] * 3
    # the lock runs out by itself: the right password logs in and clears the count
    time_machine.move_to(DEFAULT_NOW + timedelta(seconds=61), tick=False)
    assert _login(client, "swj_clerk", PASSWORD).status_code == 302
    assert client.get("/cases").status_code == 200
    assert _user(in_app, world.a.clerk)["failed"] == 0 and not _user(in_app, world.a.clerk)["locked"]


def test_each_failure_after_a_lock_doubles_it_up_to_an_hour(client, world, in_app, time_machine):
    from webapp.trust.lockout import lock_duration

    assert [lock_duration(n) for n in range(4, 14)] == [None] + [timedelta(minutes=m) for m in (
        1, 2, 4, 8, 16, 32, 60, 60, 60)]
    assert lock_duration(10_000) == timedelta(hours=1)
    time_machine.move_to(DEFAULT_NOW, tick=False)
    for _ in range(5):
        _login(client, "swj_clerk", "wrong-password")
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=1, seconds=1), tick=False)
    _login(client, "swj_clerk", "wrong-password")              # the sixth: locked for 2 minutes
    assert _user(in_app, world.a.clerk)["failed"] == 6
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=3), tick=False)
    assert _login(client, "swj_clerk", PASSWORD).status_code == 200     # 1:59 into the 2 minutes
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=3, seconds=2), tick=False)
    assert _login(client, "swj_clerk", PASSWORD).status_code == 302


def test_the_owner_is_told_once_per_lock(client, world, in_app, time_machine):
    from webapp.models import OutboxMail

    def set_email():
        db.session.get(User, world.a.clerk).email = "clerk@example.gov.cn"

    in_app(set_email)
    time_machine.move_to(DEFAULT_NOW, tick=False)
    for _ in range(4):
        _login(client, "swj_clerk", "wrong-password")
    mails = lambda: in_app(lambda: [(m.to_addr, m.subject, m.body)  # noqa: E731
                                    for m in db.session.scalars(select(OutboxMail).order_by(OutboxMail.id))])
    assert mails() == []
    for _ in range(4):                                          # the fifth locks; three more during the lock
        _login(client, "swj_clerk", "wrong-password")
    [(to, subject, body)] = mails()
    assert (to, subject) == ("clerk@example.gov.cn", "账户已被暂时锁定")
    assert "您的账户 swj_clerk 因连续 5 次登录密码错误，已被暂时锁定至 2024-06-10 10:01（北京时间）。" in body
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=2), tick=False)
    _login(client, "swj_clerk", "wrong-password")              # a new lock: a new mail
    assert [m[0] for m in mails()] == ["clerk@example.gov.cn"] * 2
    assert "已被暂时锁定至 2024-06-10 10:04（北京时间）" in mails()[1][2]


def test_a_lock_does_not_end_open_sessions_but_disabling_does(client, world, in_app, time_machine):
    time_machine.move_to(DEFAULT_NOW, tick=False)
    _login(client, "swj_clerk", PASSWORD)
    assert client.get("/cases").status_code == 200
    stranger = client.application.test_client()
    for _ in range(5):
        _login(stranger, "swj_clerk", "wrong-password")
    assert _user(in_app, world.a.clerk)["locked"]
    assert client.get("/cases").status_code == 200                 # a stranger's guesses log nobody out

    def disable():
        db.session.get(User, world.a.clerk).active = False

    in_app(disable)
    assert client.get("/cases").status_code == 302


def test_a_success_resets_the_failure_count(client, world, in_app):
    for _ in range(3):
        _login(client, "swj_clerk", "wrong-password")
    _login(client, "swj_clerk", PASSWORD)
    assert _user(in_app, world.a.clerk)["failed"] == 0


def test_a_disabled_account_cannot_log_in(client, world, in_app):
    def disable():
        db.session.get(User, world.a.clerk).active = False

    in_app(disable)
    r = _login(client, "swj_clerk", PASSWORD)
    assert flashes(r.text) == ["该账户已停用，请联系系统管理员。"]
    assert _audit(in_app)[-1] == ("auth.login_refused", "swj_clerk", {"reason": "inactive"})


def test_session_expires_after_30_minutes_without_a_request(client, world, time_machine):
    _login(client, "swj_clerk", PASSWORD)
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=20), tick=False)
    assert client.get("/cases").status_code == 200          # activity refreshes the session
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=45), tick=False)
    assert client.get("/cases").status_code == 200          # 25 minutes after the last request
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=76), tick=False)
    r = client.get("/cases")                                # 31 minutes idle
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login")


def test_session_cookie_is_permanent_with_a_30_minute_lifetime(client, world):
    r = _login(client, "swj_clerk", PASSWORD)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_login_needs_a_csrf_token_when_csrf_is_on(client, world, csrf_on, in_app):
    r = _login(client, "swj_clerk", PASSWORD)
    assert r.status_code == 400
    assert "缺少安全校验码（CSRF）" in r.text
    token = csrf_token(client.get("/login").text)
    r = client.post("/login", data={"username": "swj_clerk", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def test_logins_are_throttled_per_address(world, database_url, tmp_path, monkeypatch, in_app):
    # TestConfig turns the limiter off; a second app turns it on. The limiter is one object shared by
    # every app, so its switches are put back after the test.
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    monkeypatch.setattr(limiter, "initialized", limiter.initialized)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                     RATELIMIT_STORAGE_URI="memory://", UPLOAD_FOLDER=str(tmp_path))
    try:
        client = app.test_client()
        for i in range(10):
            assert _login(client, f"nobody{i}", "x").status_code == 200
        r = _login(client, "swj_clerk", PASSWORD)
        assert r.status_code == 429
        assert "登录尝试过于频繁，请稍后再试。" in r.text
        assert client.get("/login").status_code == 200   # only POST is limited
        assert _audit(in_app)[-1][:2] == ("auth.login_refused", "swj_clerk")
        assert _audit(in_app)[-1][2]["reason"] == "throttled" and "10 per 1 minute" in _audit(in_app)[-1][2]["limit"]
        # per account too, from any address: the sixth try on one name within the minute
        for i in range(5):
            r = _login(client, "Swj_Admin ", "x", environ_base={"REMOTE_ADDR": f"192.0.2.{i + 1}"})
            assert r.status_code == 200
        r = _login(client, "swj_admin", PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.99"})
        assert r.status_code == 429
        assert "5 per 1 minute" in _audit(in_app)[-1][2]["limit"]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


TOO_COMMON = "密码太常见或太容易猜到，请换一个更长、更不规则的密码（例如几个不相关的词加数字和符号）。"


class TestPasswordChange:
    NEW = "Neues#Passwort2"

    def _post(self, client, current, new, confirm=None):
        return client.post("/account/password", data={"current": current, "new": new,
                                                       "confirm": new if confirm is None else confirm})

    def test_change(self, client, world, in_app):
        _login(client, "swj_clerk", PASSWORD)
        r = self._post(client, PASSWORD, self.NEW)
        assert r.status_code == 302
        client.post("/logout")
        assert _login(client, "swj_clerk", PASSWORD).status_code == 200
        assert _login(client, "swj_clerk", self.NEW).status_code == 302
        assert "auth.password_changed" in [a[0] for a in _audit(in_app)]

    @pytest.mark.parametrize(("current", "new", "confirm", "message"), [
        ("wrong-password", "Neues#Passwort2", None, "当前密码不正确"),
        (PASSWORD, "Short#pw123", None, "密码至少12个字符。"),
        (PASSWORD, "password1234", None, TOO_COMMON),
        (PASSWORD, "qwertyuiop123", None, TOO_COMMON),
        (PASSWORD, "My-SWJ_clerk-77", None, "密码不能包含用户名。"),
        (PASSWORD, "Neues#Passwort2", "Neues#Passwort3", "两次输入的新密码不一致"),
        (PASSWORD, PASSWORD, None, "新密码不能与原密码相同。"),
    ])
    def test_refusals(self, client, world, in_app, current, new, confirm, message):
        _login(client, "swj_clerk", PASSWORD)
        before = in_app(lambda: db.session.get(User, world.a.clerk).password_hash)
        r = self._post(client, current, new, confirm)
        assert r.status_code == 200
        assert message in r.text
        assert in_app(lambda: db.session.get(User, world.a.clerk).password_hash) == before

    def test_guessing_the_current_password_locks_the_account_as_a_login_would(self, client, world, in_app):
        # a stolen session cannot guess the password on this page without end
        _login(client, "swj_clerk", PASSWORD)
        for _ in range(5):
            assert "当前密码不正确" in self._post(client, "wrong-password", self.NEW).text
        assert in_app(lambda: db.session.get(User, world.a.clerk).failed_logins) == 5
        assert in_app(lambda: db.session.get(User, world.a.clerk).locked_at) is not None
        # locked: the right current password is refused in the same words, and nothing changes
        before = in_app(lambda: db.session.get(User, world.a.clerk).password_hash)
        r = self._post(client, PASSWORD, self.NEW)
        assert r.status_code == 200 and "当前密码不正确" in r.text
        assert in_app(lambda: db.session.get(User, world.a.clerk).password_hash) == before
        assert [a[0] for a in _audit(in_app)].count("auth.locked") == 1
