"""Issue 15 (closed loop), the fixed cost of every signed-in page: the header's counts come with the
session user's statement on a GET page, the menu's and header's fixed URLs are built once per process
and prefix (SCRIPT_NAME), the menu asks the user's actions without a call per link, and the session
cookie and Flask's hooks cost less Python for the same cookie and the same calls."""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from flask_login import AnonymousUserMixin, login_user
from markupsafe import Markup

from webapp.auth.login import load_user
from webapp.extensions import db
from webapp.models import Notification, User
from webapp.platform.guards import SessionCookies, _SessionTags
from webapp.platform.header import header_counts
from webapp.security import ALL_ROLES, PERMISSIONS, actions_of, can, can_within

from .test_province_scale import statements
from .test_request_path import _notify, _of

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_a_signed_in_404_sends_one_statement(app, world, login, in_app):
    _notify(in_app, world.a.clerk, "甲")
    client = login(world.a.clerk)
    with statements(app) as seen:
        r = client.get("/no-such-page")
    assert r.status_code == 404
    # the user with the bell's, 待签收 and the drafts' counts (before: the counts a statement of their own)
    assert len(seen) == 1 and "FROM notification" in seen[0] and "FROM handover" in seen[0]
    assert '<span class="bell-count" data-unread="1">1</span>' in r.text
    assert "<strong>临淄区商务局经办人</strong>" in r.text


def test_after_a_post_the_header_counts_are_read_afresh(app: Flask, world, in_app):
    _notify(in_app, world.a.clerk, "甲")
    for method, sent, unread in (("GET", 0, 1), ("POST", 1, 2)):
        with app.test_request_context("/cases", method=method):
            login_user(load_user(str(world.a.clerk)))
            # a change after the user's statement (undone with the request)
            db.session.add(Notification(dedupe_key="乙", recipient_id=world.a.clerk, kind="due_soon", title="乙",
                                        link=""))
            db.session.flush()
            with statements(app) as seen:
                counts = header_counts()
            # a GET page shows what it read with the user (it changes nothing); a POST reads anew
            assert len(_of(seen, "FROM notification")) == sent, method
            assert counts.unread == unread, method


def test_the_fixed_urls_follow_the_prefix_the_app_is_served_under(app: Flask, world, login):
    client = login(world.a.clerk)
    prefixed = client.get("/", base_url="http://localhost/gov").text
    plain = client.get("/").text
    for page, prefix in ((prefixed, "/gov"), (plain, "")):
        assert f'<link rel="stylesheet" href="{prefix}/static/css/app.css">' in page
        assert f'<a class="brand" href="{prefix}/">' in page
        assert f'<li><a href="{prefix}/intake/new" class="">登记申请</a></li>' in page
        assert f'action="{prefix}/logout"' in page
    assert 'href="/gov' not in plain
    # one table of each per prefix, kept by the app
    assert {"", "/gov"} <= set(app.extensions["fixed_urls"])
    assert app.extensions["fixed_urls"]["/gov"][0]["auth.logout"] == "/gov/logout"


def test_prefixes_beyond_the_bound_get_right_urls_and_are_not_kept(app: Flask, client):
    # a client that can set SCRIPT_NAME (a proxy passing its header) must not grow the app's tables
    from webapp.platform.template_helpers import MAX_PREFIXES

    for i in range(MAX_PREFIXES + 20):
        page = client.get("/login", base_url=f"http://localhost/x{i}").text
        assert f'href="/x{i}/static/css/app.css"' in page
    assert len(app.extensions["fixed_urls"]) == MAX_PREFIXES


def test_the_menu_marks_the_area_of_the_page(world, login):
    client = login(world.a.clerk)
    page = client.get("/intake/new").text
    assert '<li><a href="/intake/new" class="active">登记申请</a></li>' in page
    assert '<li><a href="/" class="">工作台</a></li>' in page
    assert '<li><a href="/" class="active">工作台</a></li>' in client.get("/").text


def test_a_users_actions_answer_as_can(app: Flask):
    with app.test_request_context("/"):
        for role in (*ALL_ROLES, "boss"):
            user = User(role=role, username=f"u-{role}", display_name="某", active=True)
            check = can_within(actions_of(user))
            assert {a for a in PERMISSIONS if check(a)} == {a for a in PERMISSIONS if can(a, user)}, role
            with pytest.raises(KeyError):
                check("case.no_such_action")
        assert actions_of(AnonymousUserMixin()) == frozenset()
        assert actions_of(User(role="clerk", active=False)) == frozenset()     # not authenticated


def test_every_action_a_template_tests_in_may_exists():
    named = [m for path in TEMPLATES.rglob("*.html")
             for m in re.findall(r"'([a-z_.]+)' in may\b", path.read_text(encoding="utf-8"))]
    assert "queue.view" in named and "admin.users" in named
    assert [a for a in named if a not in PERMISSIONS] == []


@pytest.mark.parametrize("value", [
    {"_user_id": "7.2", "_fresh": True, "_permanent": True, "csrf_token": "ab" * 20, "n": 3, "x": 1.5, "none": None},
    {"_flashes": [("warning", "请先设置新密码。")], "t": (1, "a"), "b": b"\x00\xff", "m": Markup("<b>x</b>")},
    {"d": {"k": [1, {" t": "not a tag"}]}, "u": uuid.UUID(int=5), "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
])
def test_the_session_cookie_is_flasks_own(app: Flask, value):
    with app.test_request_context("/"):
        assert _SessionTags().dumps(value) == TaggedJSONSerializer().dumps(value)
        ours, flasks = SessionCookies(), SecureCookieSessionInterface()
        signer = ours.get_signing_serializer(app)
        assert ours.get_signing_serializer(app) is signer               # made once
        # each reads the other's cookie (the same keys, salt, digest and JSON)
        assert signer.loads(flasks.get_signing_serializer(app).dumps(value)) == \
            flasks.get_signing_serializer(app).loads(signer.dumps(value))


def test_flask_is_asked_once_per_plain_function(app: Flask):
    def plain():
        return 1

    async def coroutine():
        return 1

    assert app.ensure_sync(plain) is plain and app.ensure_sync(plain) is plain
    for _ in range(2):   # an ``async def`` is never taken for a plain one (wrapped, or refused without asgiref)
        with contextlib.suppress(RuntimeError):
            assert app.ensure_sync(coroutine) is not coroutine


def test_a_nul_in_a_query_or_a_form_is_refused(world, login):
    client = login(world.a.clerk)
    assert client.get("/cases?applicant=%00").status_code == 400
    assert client.get("/cases?a%00=1").status_code == 400
    assert client.get("/cases?applicant=%2500").status_code == 200     # "%00" typed, not a NUL
    # a GET with a form body is read as well
    r = client.get("/cases", data="applicant=%00", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400
