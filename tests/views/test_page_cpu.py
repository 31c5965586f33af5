"""Issue 15 (closed-loop load), the CPU of every clerk page: what every signed-in page reads comes with
the session user's statement or costs no statement, and the statements built once per process
(webapp/prebuilt.py) take each user's values as parameters."""

from __future__ import annotations

from datetime import date

from flask import Flask, render_template_string
from flask_login import login_user
from sqlalchemy import select

from tests.factories import make_agency
from webapp.auth.login import load_user
from webapp.extensions import db
from webapp.models import Agency
from webapp.platform.template_helpers import role_zh, status_zh
from webapp.prebuilt import prebuilt
from webapp.security import visible_agency_ids

from .test_government import _government
from .test_province_scale import statements
from .test_request_path import _notify, _of


def _departments(seen: list[str]) -> list[str]:
    # the departments' condition (an agency's own row also holds the column agency.parent_id); not
    # the case page's panel rows (cases.page_reads.panel_rows: whether the case's agency has departments
    # to route it to, 转办)
    return [s for s in seen if "agency.parent_id = " in " ".join(s.replace('"', "").split())
            and "EXISTS (SELECT * \nFROM review_draft" not in s]


def test_a_governments_departments_come_with_the_session_user(app, world, new_case, login, in_app):
    gov_clerk, _ = _government(in_app, world)
    case_id = new_case(world.a, date(2024, 6, 3))
    client = login(gov_clerk)
    for url in ("/", "/cases", f"/cases/{case_id}"):
        with statements(app) as seen:
            r = client.get(url)
        assert r.status_code == 200, url
        # one statement reads the departments: the session user's (before: one of its own on each page)
        departments = _departments(seen)
        assert len(departments) == 1 and departments[0].replace('"', "").startswith("SELECT user.id"), url
    assert "LZ-SWJ-2024-0001" in client.get("/cases").text     # the department's case is listed


def test_the_departments_kept_for_a_get_and_read_afresh_for_a_post(app: Flask, world, in_app):
    gov_clerk, _ = _government(in_app, world)
    gov_id = in_app(lambda: db.session.scalar(select(Agency.id).where(Agency.code == "LZ-ZFB")))
    for method, sees_new in (("GET", False), ("POST", True)):
        with app.test_request_context("/cases", method=method):
            user = load_user(str(gov_clerk))
            new = make_agency(f"LZ-NEW-{method}", "新设部门", parent_id=gov_id)
            with statements(app) as seen:
                ids = visible_agency_ids(user)
            # a GET page changes nothing: the departments read with the user stand for the request
            assert ids == [gov_id, world.a.agency_id, *([new.id] if sees_new else [])], method
            assert len(_departments(seen)) == (1 if sees_new else 0), method
            db.session.rollback()


def test_the_header_counts_are_each_users_own(app, world, login, in_app):
    _notify(in_app, world.a.clerk, "甲")
    _notify(in_app, world.a.clerk, "乙")
    _notify(in_app, world.a.clerk2, "别人的")
    # the same prebuilt statement for both: each user's own count (its values are parameters)
    assert '<span class="bell-count" data-unread="2">2</span>' in login(world.a.clerk).get("/cases").text
    assert '<span class="bell-count" data-unread="1">1</span>' in login(world.a.clerk2).get("/cases").text
    assert '<span class="bell-count" data-unread="0">0</span>' in login(world.b.clerk).get("/cases").text


def test_the_intake_form_takes_the_users_own_agency_without_a_statement(app, world, login):
    client = login(world.a.clerk)
    with statements(app) as seen:
        page = client.get("/intake/new").text
    assert "临淄区商务局" in page
    # before: the agency read again (SELECT agency.id, agency.code, ... WHERE agency.id IN (...))
    assert not [s for s in seen if s.replace('"', "").startswith("SELECT agency.id, agency.code")]
    assert not _of(seen, "FROM agency WHERE")


def test_templates_get_the_user_object_not_the_proxy(app: Flask, world):
    with app.test_request_context("/"):
        user = load_user(str(world.a.clerk))
        login_user(user)
        assert render_template_string("{{ current_user is sameas user }}", user=user) == "True"
        assert render_template_string("{{ current_user.display_name }}") == user.display_name


def test_a_statement_is_built_once_per_key():
    built = []

    def build():
        built.append(1)
        return object()

    first = prebuilt(("test_page_cpu", 1), build)
    assert prebuilt(("test_page_cpu", 1), build) is first
    assert prebuilt(("test_page_cpu", 2), build) is not first
    assert len(built) == 2


def test_the_wordings_of_roles_and_statuses():
    assert [role_zh(c) for c in ("clerk", "approver", "admin", "auditor", "boss", None, "")] == [
        "经办人", "负责人", "管理员", "审计（只读）", "boss", "", ""]
    assert [status_zh(c) for c in ("registered", "closed", "awaiting_fee", "lost", None, "")] == [
        "办理中", "已办结", "待缴费", "lost", "—", "—"]
