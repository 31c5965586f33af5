"""The security headers (webapp/headers.py) are added to a response once each, and a header the
response has already (whatever the case of its name) is kept as it is, as ``Headers.setdefault`` did."""

from __future__ import annotations

from flask import Response

from webapp.headers import SECURITY_HEADERS


def _set_security_headers(app):
    (hook,) = [f for f in app.after_request_funcs[None] if f.__name__ == "set_security_headers"]
    return hook


def test_a_header_the_response_has_is_kept_and_the_others_added_once(app):
    hook = _set_security_headers(app)
    response = Response("x", headers=[("content-security-policy", "default-src 'none'"), ("X-Other", "1")])
    with app.test_request_context("/"):
        assert hook(response) is response
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert [(k, v) for k, v in response.headers if k in SECURITY_HEADERS] == [
        (k, v) for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"]
    assert response.headers["X-Other"] == "1"


def test_a_plain_response_gets_every_header(app):
    hook = _set_security_headers(app)
    response = hook(Response("x"))
    assert {k: response.headers.getlist(k) for k in SECURITY_HEADERS} == {k: [v] for k, v in SECURITY_HEADERS.items()}
