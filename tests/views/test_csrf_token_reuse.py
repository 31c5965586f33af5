"""Issue 15 (closed loop), the fixed cost of every signed-in page: the CSRF token a page writes is
signed at most once a minute per session (webapp/platform/csrf_token.py), not on every page; it is
still checked by CSRFProtect on every POST, another session never gets it, and a token signed a
minute earlier is still accepted (Flask-WTF's time limit, an hour from its signing)."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD

from .helpers import csrf_token


def _at(time_machine, seconds: int) -> None:
    time_machine.move_to(DEFAULT_NOW + timedelta(seconds=seconds), tick=False)


def _login(client, time_machine) -> None:
    _at(time_machine, 0)
    token = csrf_token(client.get("/login").text)
    r = client.post("/login", data={"username": "swj_clerk", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def test_a_sessions_pages_write_the_token_signed_in_the_last_minute(app, client, world, csrf_on, time_machine):
    from webapp.platform import csrf_token as module

    module._signed.clear()
    _login(client, time_machine)
    _at(time_machine, 5)
    first = csrf_token(client.get("/cases").text)
    _at(time_machine, 30)
    # 25 seconds later: Flask-WTF would sign it anew (another timestamp, another token); the same one
    assert csrf_token(client.get("/intake/new").text) == first
    _at(time_machine, 66)      # a minute after its signing: signed anew
    second = csrf_token(client.get("/cases").text)
    assert second != first
    # both are accepted: the logout form posted with the earlier token ends the session
    r = client.post("/logout", data={"csrf_token": first})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/cases").status_code == 302


def test_another_session_never_gets_the_token(app, world, csrf_on, time_machine):
    from webapp.platform import csrf_token as module

    module._signed.clear()
    one, two = app.test_client(), app.test_client()
    _login(one, time_machine)
    _login(two, time_machine)
    _at(time_machine, 5)
    a, b = csrf_token(one.get("/cases").text), csrf_token(two.get("/cases").text)
    assert a != b
    # one session's token posted by the other is refused (400), and the session stays signed in
    assert two.post("/logout", data={"csrf_token": a}).status_code == 400
    assert two.get("/cases").status_code == 200


def test_a_token_is_refused_without_its_session(app, client, world, csrf_on, time_machine):
    from webapp.platform import csrf_token as module

    module._signed.clear()
    _login(client, time_machine)
    token = csrf_token(client.get("/cases").text)
    client.delete_cookie("session")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400


def test_a_short_time_limit_shortens_the_reuse(app, client, world, csrf_on, time_machine):
    """A token is written again for at most a sixtieth of WTF_CSRF_TIME_LIMIT (an hour: a minute), so a
    page never gets a token near its end."""
    from webapp.platform import csrf_token as module

    module._signed.clear()
    app.config["WTF_CSRF_TIME_LIMIT"] = 600        # ten minutes: reused for ten seconds
    try:
        _login(client, time_machine)
        _at(time_machine, 5)
        first = csrf_token(client.get("/cases").text)
        _at(time_machine, 14)
        assert csrf_token(client.get("/cases").text) == first
        _at(time_machine, 16)
        assert csrf_token(client.get("/cases").text) != first
    finally:
        app.config["WTF_CSRF_TIME_LIMIT"] = 3600
