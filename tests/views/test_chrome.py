"""Issue 15: the page header's signed-in parts kept per process (webapp/platform/chrome.py). The memo
must never show a stale header or another user's: its templates use only the key's values, every
keyed value changes the header, and the pages show each change at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask
from jinja2 import meta

from webapp.domain.kinds import AgencyKind, Role
from webapp.extensions import db
from webapp.models import Agency, User
from webapp.platform import chrome
from webapp.platform.header import HeaderCounts
from webapp.platform.template_helpers import _Urls
from webapp.security import ROLE_ACTIONS

from .test_layout import _notify


def _source(app: Flask, name: str) -> str:
    return app.jinja_loader.get_source(app.jinja_env, name)[0]


def test_the_header_templates_use_only_the_memos_key(app: Flask):
    allowed = {*chrome.KEY_FIELDS, "signed_in", "url_of", "register_url"}
    for name in ("partials/header.html", "partials/nav.html"):
        ast = app.jinja_env.parse(_source(app, name))
        assert meta.find_undeclared_variables(ast) <= allowed, name
    ast = app.jinja_env.parse(_source(app, "partials/header.html"))
    assert set(meta.find_referenced_templates(ast)) == {"partials/nav.html"}


class _Stub(SimpleNamespace):
    is_authenticated = True


def _base() -> dict:
    # one of each keyed value, as page_header reads it
    return {"user_id": 7, "display_name": "王经办", "role": Role.CLERK, "agency_id": 3, "agency_name": "临淄区商务局",
            "agency_code": "LZ-SWJ", "kind": AgencyKind.DEPARTMENT,
            "may": ROLE_ACTIONS[Role.CLERK], "unread": 2, "to_sign": 0, "drafts": 1, "review_n": 1,
            "here": "cases.dashboard", "area": "cases"}


def _header(app: Flask, monkeypatch, urls: _Urls, v: dict) -> str:
    agency = None if v["agency_id"] is None else SimpleNamespace(name=v["agency_name"], code=v["agency_code"],
                                                                  kind=v["kind"])
    user = _Stub(id=v["user_id"], display_name=v["display_name"], role=v["role"], agency_id=v["agency_id"],
                 agency=agency)
    monkeypatch.setattr(chrome, "header_counts", lambda u: HeaderCounts(v["unread"], v["to_sign"], v["drafts"]))
    monkeypatch.setattr(chrome, "review_pending_count", lambda u: v["review_n"])
    h = chrome.page_header(user, v["may"], v["here"], v["area"], urls)
    return "".join((h.agency_name, h.userbox, "TOKEN", h.userbox_tail, h.nav, "ITEMS", h.nav_tail))


#: agency_code shows in an administrator's menu only (导入台账)
_ADMIN = {"role": Role.ADMIN, "may": ROLE_ACTIONS[Role.ADMIN], "review_n": None}


@pytest.mark.parametrize("field, value", [
    ("user_id", 8), ("display_name", "李经办"), ("role", Role.APPROVER), ("agency_id", None),
    ("agency_name", "临淄区教育局"), ("kind", AgencyKind.GOVERNMENT),
    ("may", ROLE_ACTIONS[Role.ADMIN]), ("unread", 3), ("to_sign", 1), ("review_n", 4),
    ("here", "cases.search"), ("area", "review"),
])
def test_each_keyed_value_changes_the_header(app: Flask, monkeypatch, field, value):
    _changes(app, monkeypatch, _base(), field, value)


def test_the_agency_code_changes_an_administrators_header(app: Flask, monkeypatch):
    _changes(app, monkeypatch, {**_base(), **_ADMIN}, "agency_code", "LZ-JYJ")


def _changes(app: Flask, monkeypatch, base: dict, field: str, value) -> None:
    with app.test_request_context("/"):
        urls = _Urls(False)
        before = _header(app, monkeypatch, urls, base)
        changed = _header(app, monkeypatch, urls, {**base, field: value})
        fresh = _header(app, monkeypatch, _Urls(False), {**base, field: value})   # as rendered anew
        again = _header(app, monkeypatch, urls, base)
    assert changed == fresh
    assert again == before
    if field == "user_id":     # the same display: a user's own entry all the same
        assert changed == before and len(urls.headers) == 2
    else:
        assert changed != before, field


def test_the_memo_is_bounded(app: Flask, monkeypatch):
    with app.test_request_context("/"):
        urls = _Urls(False)
        for n in range(chrome.MAX_HEADERS + 5):
            _header(app, monkeypatch, urls, {**_base(), "unread": n})
        assert len(urls.headers) <= chrome.MAX_HEADERS
        assert '<span class="bell-count" data-unread="7">7</span>' in _header(app, monkeypatch, urls,
                                                                              {**_base(), "unread": 7})


def _rename(in_app, user_id: int, **values):
    def go():
        user = db.session.get(User, user_id)
        for k, v in values.items():
            setattr(user, k, v)

    in_app(go)


def test_pages_show_each_change_at_once(world, login, in_app):
    client = login(world.a.clerk)
    page = client.get("/").text
    assert "<strong>临淄区商务局经办人</strong>" in page and '<span class="role-tag">经办人</span>' in page
    assert 'data-unread="0"' in page and '<span class="brand-agency">临淄区商务局</span>' in page
    # a count
    _notify(in_app, world.a.clerk, "甲")
    assert '<span class="bell-count" data-unread="1">1</span>' in client.get("/").text
    # the display name
    _rename(in_app, world.a.clerk, display_name="改名后")
    assert "<strong>改名后</strong>" in client.get("/").text
    # the agency's name
    in_app(lambda: setattr(db.session.get(Agency, world.a.agency_id), "name", "临淄区商务和投资促进局"))
    assert '<span class="brand-agency">临淄区商务和投资促进局</span>' in client.get("/").text
    # the role: its label and its menu
    page = client.get("/").text
    assert "系统管理" not in page and 'href="/intake/new"' in page
    _rename(in_app, world.a.clerk, role="admin")
    page = client.get("/").text
    assert '<span class="role-tag">管理员</span>' in page and "系统管理" in page
    # another user of the same role and agency: their own name, not the first user's
    page = login(world.a.clerk2).get("/").text
    assert "<strong>临淄区商务局经办人二</strong>" in page and "改名后" not in page
    assert 'data-unread="0"' in page
    # the page: the menu's active item
    assert '<a href="/cases" class="active">' in login(world.a.clerk2).get("/cases").text


def test_the_signed_out_header(client):
    page = client.get("/login").text
    assert '<span class="brand-agency">政府信息公开</span>' in page
    assert 'class="userbox"' not in page and 'class="mainnav"' not in page
