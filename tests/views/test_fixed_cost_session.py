"""Issue 15, the fixed cost of every signed-in page: the session cookie's signature is verified once
(webapp/platform/guards.py: a cookie comes back unchanged for a minute of requests), its age on every
request; a cookie signed with another key, or altered, is refused as before."""

from __future__ import annotations

from datetime import timedelta

from itsdangerous import TimestampSigner

from tests.conftest import DEFAULT_NOW


def _count_unsign(monkeypatch) -> list[int]:
    calls = [0]
    unsign = TimestampSigner.unsign

    def counted(self, *args, **kwargs):
        calls[0] += 1
        return unsign(self, *args, **kwargs)

    monkeypatch.setattr(TimestampSigner, "unsign", counted)
    return calls


def test_a_cookie_is_verified_once_and_its_age_checked_on_every_request(app, client, login, world, time_machine,
                                                                       monkeypatch):
    time_machine.move_to(DEFAULT_NOW, tick=False)
    # the app is the suite's: an earlier test's request may have verified the same cookie (same user id,
    # same frozen time)
    app.session_interface._verified.clear()
    login(world.a.clerk)
    calls = _count_unsign(monkeypatch)
    assert [client.get("/cases").status_code for _ in range(3)] == [200, 200, 200]
    assert calls[0] == 2        # the test's cookie, then the one the first request signed (made permanent)
    time_machine.move_to(DEFAULT_NOW + timedelta(seconds=30), tick=False)
    assert [client.get("/cases").status_code for _ in range(3)] == [200, 200, 200]
    assert calls[0] == 2        # the same cookie: not verified again
    time_machine.move_to(DEFAULT_NOW + timedelta(minutes=31, seconds=1), tick=False)
    assert client.get("/cases").status_code == 302     # 31 minutes after its signing: out, as before


def test_a_cookie_of_another_key_or_altered_is_refused(app, client, login, world):
    login(world.a.clerk)
    assert client.get("/cases").status_code == 200
    cookie = client.get_cookie("session").value
    key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = key + "-rotated"
    try:
        assert client.get("/cases").status_code == 302     # verified under the old key only
    finally:
        app.config["SECRET_KEY"] = key
    client.set_cookie("session", cookie)
    assert client.get("/cases").status_code == 200
    body, _, signature = cookie.rpartition(".")
    client.set_cookie("session", body + "." + ("A" if signature[0] != "A" else "B") + signature[1:])
    assert client.get("/cases").status_code == 302
