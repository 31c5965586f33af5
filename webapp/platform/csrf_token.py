"""The CSRF token a page writes: Flask-WTF's (``generate_csrf``, checked by CSRFProtect on every POST),
signed at most once a minute per session and key rather than on every page.

Flask-WTF signs the session's raw token with a timestamp on each request that writes a form (about 90
Python calls: a serializer made, JSON, an HMAC, base64). A token is valid for WTF_CSRF_TIME_LIMIT (an
hour) from its signing, for the session whose raw token it carries; so the token signed for a session
in the last ``REUSE_SECONDS`` is written again (valid at least 59 minutes from the page), kept per
process under the signing key and the session's raw token (another session has another raw token: it
never gets this one). The request's token is also set where Flask-WTF looks for it first (``g``), so
forms' own ``csrf_token`` fields write the same one (docs/decisions.md, "CSRF token reuse")."""

from __future__ import annotations

import time

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf

#: how long a signed token is written again to the same session (seconds)
REUSE_SECONDS = 60
#: how many sessions' tokens a process keeps (emptied when full)
KEPT = 4096

_signed: dict[tuple, tuple[float, str]] = {}


def page_token() -> str:
    """The request's CSRF token (what ``generate_csrf()`` gives, or the one it gave this session in the
    last minute)."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = g.get(field)
    if token is not None:
        return token
    key = (config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, session.get(field))
    now = time.time()
    # at most a sixtieth of the token's time limit (an hour: a minute), so it is never near its end
    limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
    reuse = REUSE_SECONDS if limit is None else min(REUSE_SECONDS, limit / 60)
    if key[1] is not None:
        kept = _signed.get(key)
        if kept is not None and 0 <= now - kept[0] < reuse:
            setattr(g, field, kept[1])
            return kept[1]
    token = generate_csrf()
    raw = session.get(field)
    if raw is not None:
        if len(_signed) >= KEPT:
            _signed.clear()
        _signed[(key[0], raw)] = (now, token)
    return token


def install(app) -> None:
    """Templates' ``csrf_token()`` is page_token: Flask-WTF's global replaced, and its context processor,
    which gives every render the same two names as its globals (``csrf_token``, ``csrf_meta_tag``),
    taken out (after CSRFProtect.init_app)."""
    app.jinja_env.globals["csrf_token"] = page_token
    processors = app.template_context_processors[None]
    processors[:] = [f for f in processors if getattr(f, "__module__", None) != "flask_wtf.csrf"]
