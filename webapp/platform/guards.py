"""What every request passes before its handler, in this order: the session kept alive, no NUL in
the input, a forced password change. (The API's own routing errors are answered by its blueprint.)
And the plumbing every request goes through: the session cookie (Flask's signed cookie, its signing
serializer made once per key, signed again only once a minute: ``REISSUE_AFTER``) and Flask's
question, for each hook, whether it is async (answered once)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired

# A permanent (signed-in) session's cookie is signed again, and sent, by a request coming at least this
# many seconds after it was last signed (or one that changes the session). It is accepted for
# PERMANENT_SESSION_LIFETIME plus REISSUE_AFTER - 1 seconds after its signing, and the browser keeps it
# as long: a session ends once it has seen no request for the lifetime (30 minutes), at most
# REISSUE_AFTER - 1 seconds later (README, "Fixed"). A session that is not permanent (an anonymous
# visitor's: the login form's CSRF token) is accepted for the lifetime after its signing, as before.
REISSUE_AFTER = 60


class _SessionTags(TaggedJSONSerializer):
    """Flask's session serializer, the same JSON: a plain value (str, int, float, bool, None) matches
    none of its tags and stands as it is, so it is not offered to each of the eight."""

    def tag(self, value: Any) -> Any:
        if type(value) in _PLAIN:
            return value
        return super().tag(value)


_PLAIN = frozenset({str, int, float, bool, type(None)})


class _Session(SecureCookieSession):
    """Flask's session, knowing when the cookie it was read from was signed (None: no valid cookie)."""

    signed_at: int | None = None


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie (the same cookie and contents), except that a permanent session's
    is signed again only every ``REISSUE_AFTER`` seconds of activity (Flask: on every response) and
    accepted that much longer, less a second; that the serializer which signs and checks it is made
    once per secret key (and fallback keys), not twice a request: it holds nothing but the keys and
    settings (any thread may use it); and that a cookie's signature is verified once (the cookie comes
    back unchanged for a minute of requests), its age on every request."""

    serializer = _SessionTags()
    session_class = _Session

    def __init__(self) -> None:
        self._serializers: dict[tuple, Any] = {}
        self._verified: dict[tuple, dict[str, tuple[bytes, int]]] = {}

    def _keys(self, app: Flask) -> tuple:
        return (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))

    def get_signing_serializer(self, app: Flask):
        key = self._keys(app)
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is not None:
                self._serializers[key] = serializer
        return serializer

    def open_session(self, app: Flask, request) -> _Session | None:
        keys = self._keys(app)
        signer = self._serializers.get(keys) or self.get_signing_serializer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return _Session()
        lifetime = int(app.permanent_session_lifetime.total_seconds())
        max_age = lifetime + REISSUE_AFTER - 1
        verified = self._verified.setdefault(keys, {})
        known = verified.get(value)
        if known is None:
            known = _verify(signer, value, max_age)
            if known is None:
                return _Session()
            if len(verified) >= _VERIFIED_KEPT:
                verified.clear()
            verified[value] = known
        payload, signed_at = known
        age = int(time.time()) - signed_at
        if age > max_age or age < 0:
            return _Session()       # expired (itsdangerous's max_age, the same bounds)
        data = signer.load_payload(payload)
        if not data.get("_permanent") and age > lifetime:
            return _Session()       # not permanent: the lifetime exactly, as Flask's
        opened = _Session(data)
        opened.signed_at = signed_at
        return opened

    def should_set_cookie(self, app: Flask, session: _Session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or int(time.time()) - signed_at >= REISSUE_AFTER

    def save_session(self, app: Flask, session: _Session, response) -> None:
        if not session.modified and (not session or not self.should_set_cookie(app, session)):
            # nothing to send or delete (Flask's answer, without reading the cookie's settings first)
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def get_expiration_time(self, app: Flask, session: _Session) -> datetime | None:
        expires = super().get_expiration_time(app, session)
        return expires + timedelta(seconds=REISSUE_AFTER) if expires is not None else None


# The cookies whose signature was verified, per secret key: the payload and when it was signed (a cookie
# comes back unchanged for a minute of requests, REISSUE_AFTER). Its age is checked on every request.
_VERIFIED_KEPT = 4096


def _verify(signer, value: str, max_age: int) -> tuple[bytes, int] | None:
    """The signed payload and its signing time (s), or None: ``signer.loads`` (the current key, then
    the fallbacks) without reading the payload."""
    for unsigner in signer.iter_unsigners():
        try:
            payload, signed = unsigner.unsign(value, max_age=max_age, return_timestamp=True)
        except SignatureExpired:
            return None
        except BadSignature:
            continue
        return payload, int(signed.timestamp())
    return None


def keep_session_alive() -> None:
    # A logged-in session is permanent, so PERMANENT_SESSION_LIFETIME (30 min) counts from the
    # last request: the cookie is signed again by a request once a minute (SESSION_REFRESH_EACH_REQUEST,
    # SessionCookies above) and refused once older than the lifetime and that minute, less a second.
    # Anonymous visitors (public pages) get no lasting cookie.
    # The JSON API (token auth) sets no cookie at all.
    if request.blueprint == "api":
        return
    if "_user_id" in session and not session.permanent:
        session.permanent = True


def refuse_nul_in_input():
    """A NUL character in a query or form value is refused (400) everywhere: PostgreSQL cannot store it
    in text, and no name, address or request text contains one. (Hardening for every blueprint;
    services should refuse control characters themselves as well.)"""
    req = request._get_current_object()
    query = req.query_string
    sources = []
    if b"%00" in query or b"\x00" in query:   # a query value or name can hold a NUL only so
        sources.append(req.args)
    if req.want_form_data_parsed:             # a form is read only from a body with a content type
        sources.append(req.form)
    for values in sources:
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                if req.path.startswith("/api/"):
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
    user = current_user._get_current_object()
    if not getattr(user, "is_authenticated", False) or not getattr(user, "must_change_password", False):
        return None
    if "auth.change_password" not in current_app.view_functions:
        return None
    flash("您的密码由管理员重置或为初始密码，请先设置新密码。", "warning")
    return redirect(url_for("auth.change_password"))


def _sync_once(app: Flask) -> None:
    """Flask asks ``ensure_sync`` for every hook and view it calls (~30 a page: is it an ``async def``?);
    the answer for a function is the same each time: a plain function found once is returned as it is
    (a bounded table: the app's hooks and views)."""
    plain: dict[Any, None] = {}
    ensure_sync = app.ensure_sync

    def ensure_sync_once(func):
        try:
            if func in plain:
                return func
        except TypeError:       # an unhashable callable: asked each time
            return ensure_sync(func)
        result = ensure_sync(func)
        if result is func and len(plain) < 4096:
            plain[func] = None
        return result

    app.ensure_sync = ensure_sync_once


def install(app: Flask) -> None:
    app.session_interface = SessionCookies()
    _sync_once(app)
    app.before_request(keep_session_alive)
    app.before_request(refuse_nul_in_input)
    app.before_request(must_change_password)
