"""The base layout (header, nav guarded by role, CSP-clean markup), the
notification bell and list, and the route table's permissions."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Notification
from webapp.models._types import utcnow

from .helpers import flashes

MY_BLUEPRINTS = ("auth.", "cases.", "intake.", "notifications.")


def test_every_route_of_mine_declares_its_permission(app: Flask):
    from webapp.security import PERMISSIONS

    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(MY_BLUEPRINTS):
            continue
        action = getattr(app.view_functions[rule.endpoint], "required_action", None)
        assert action == "public" or action in PERMISSIONS, rule.endpoint
    assert app.view_functions["auth.login"].required_action == "public"
    assert app.view_functions["cases.act_extension"].required_action == "case.extend"


def test_header_shows_agency_user_role_and_menu(world, new_case, login):
    page = login(world.a.clerk).get("/").text
    assert '<span class="brand-agency">临淄区商务局</span>' in page
    assert "<strong>临淄区商务局经办人</strong>" in page
    assert '<span class="role-tag">经办人</span>' in page
    assert 'href="/intake/new"' in page
    assert 'action="/logout"' in page


def test_menu_follows_the_role(world, login):
    auditor = login(world.a.auditor).get("/").text
    assert 'href="/intake/new"' not in auditor
    assert 'href="/cases"' in auditor


def test_menu_links_only_to_areas_that_exist(world, login, app: Flask):
    page = login(world.a.admin).get("/").text
    for endpoint, label in (("admin.index", "系统管理"), ("reports.index", "年度报告"),
                            ("public.apply", "网上申请入口")):
        assert (label in page) is (endpoint in app.view_functions), endpoint
    clerk = login(world.a.clerk).get("/").text
    assert "系统管理" not in clerk


def test_pages_have_no_inline_script_or_style(world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    for path in ("/", "/cases", f"/cases/{cid}", "/intake/new", "/notifications/", "/account/password",
                 "/no-such-page"):
        page = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert " style=" not in page and "<style" not in page, path
        assert re.search(r'<script src="/static/js/app.js"', page), path
    client.post("/logout")
    assert " style=" not in client.get("/login").text


def _notify(in_app, user_id: int, title: str, link: str = "", read: bool = False, key: str | None = None):
    def go():
        n = Notification(dedupe_key=key or title, recipient_id=user_id, kind="due_soon", title=title, link=link,
                         read_at=utcnow() if read else None)
        db.session.add(n)
        db.session.flush()
        return n.id

    return in_app(go)


class TestNotifications:
    def test_bell_counts_my_unread(self, world, login, in_app):
        _notify(in_app, world.a.clerk, "甲")
        _notify(in_app, world.a.clerk, "乙")
        _notify(in_app, world.a.clerk, "丙", read=True)
        _notify(in_app, world.a.clerk2, "别人的")
        page = login(world.a.clerk).get("/").text
        assert '<span class="bell-count" data-unread="2">2</span>' in page
        assert 'class="bell has-unread"' in page

    def test_list_newest_first_and_only_mine(self, world, login, in_app, time_machine):
        from datetime import timedelta

        from tests.conftest import DEFAULT_NOW

        _notify(in_app, world.a.clerk, "较早的提醒")
        time_machine.move_to(DEFAULT_NOW + timedelta(minutes=5), tick=False)
        _notify(in_app, world.a.clerk, "较新的提醒")
        _notify(in_app, world.a.clerk2, "别人的提醒")
        page = login(world.a.clerk).get("/notifications/").text
        titles = re.findall(r"(较早的提醒|较新的提醒|别人的提醒)", page)
        assert titles == ["较新的提醒", "较早的提醒"]

    def test_opening_marks_read_and_follows_the_link(self, world, login, in_app):
        nid = _notify(in_app, world.a.clerk, "案件即将到期", link="/cases/1")
        r = login(world.a.clerk).post(f"/notifications/{nid}/open")
        assert r.status_code == 302
        assert r.headers["Location"] == "/cases/1"
        assert in_app(lambda: db.session.get(Notification, nid).read_at) is not None

    def test_an_outside_link_is_not_followed(self, world, login, in_app):
        nid = _notify(in_app, world.a.clerk, "可疑链接", link="https://evil.example/")
        r = login(world.a.clerk).post(f"/notifications/{nid}/open")
        assert r.headers["Location"] == "/notifications/"

    def test_someone_elses_notification_is_not_found(self, world, login, in_app):
        nid = _notify(in_app, world.a.clerk2, "别人的")
        assert login(world.a.clerk).post(f"/notifications/{nid}/open").status_code == 404
        assert in_app(lambda: db.session.get(Notification, nid).read_at) is None

    def test_mark_all_read(self, world, login, in_app):
        for t in ("甲", "乙"):
            _notify(in_app, world.a.clerk, t)
        other = _notify(in_app, world.a.clerk2, "别人的")
        client = login(world.a.clerk)
        r = client.post("/notifications/read-all")
        assert r.status_code == 302
        assert "已将2条提醒标记为已读。" in flashes(client.get("/notifications/").text)
        unread = in_app(lambda: [n.id for n in db.session.scalars(
            select(Notification).where(Notification.read_at.is_(None)))])
        assert unread == [other]

    def test_mark_all_read_needs_csrf(self, world, login, in_app, csrf_on):
        _notify(in_app, world.a.clerk, "甲")
        assert login(world.a.clerk).post("/notifications/read-all").status_code == 400
        assert in_app(lambda: db.session.scalar(select(Notification.read_at))) is None


def test_error_pages_are_in_chinese(world, login, new_case):
    client = login(world.a.clerk)
    r = client.get("/cases/999999")
    assert r.status_code == 404 and "页面不存在" in r.text
    cid = new_case(world.b, date(2024, 6, 3))
    r = client.get(f"/cases/{cid}")
    assert r.status_code == 404 and "不属于您所在的机关" in r.text
