"""Users and roles: create with a one-time password, edit, reset (must change), unlock; the scope rule."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import sign_in
from tests.factories import PASSWORD
from webapp.extensions import db
from webapp.models import AuditLog, User
from webapp.models._types import utcnow


def _user(app, user_id):
    with app.app_context():
        u = db.session.get(User, user_id)
        db.session.expunge(u)
        return u


def _audit(app, action):
    with app.app_context():
        return [(r.username, r.target_id, r.detail) for r in
                db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))]


def test_create_user_shows_one_time_password_that_must_be_changed(app, client, world):
    sign_in(client, world.a.users["admin"])
    r = client.post("/admin/users/new", data={"username": "new_clerk", "display_name": "新经办人",
                                              "email": "n@example.gov.cn", "role": "clerk",
                                              "agency_id": str(world.a.agency_id)})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    password = re.search(r'id="one-time-password">([^<]+)<', html).group(1)
    with app.app_context():
        u = db.session.scalar(select(User).where(User.username == "new_clerk"))
        assert (u.role, u.agency_id, u.must_change_password, u.active) == ("clerk", world.a.agency_id, True, True)
        assert password not in u.password_hash and u.check_password(password)
    [(name, target, detail)] = _audit(app, "admin.user_created")
    assert (name, target, detail["role"]) == ("swj_admin", str(u.id), "clerk")

    # the new user logs in and is sent to the password change before anything else
    client.post("/logout")
    r = client.post("/login", data={"username": "new_clerk", "password": password})
    assert r.status_code == 302
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/password")
    r = client.post("/account/password", data={"current": password, "new": "Brand#new2024x",
                                               "confirm": "Brand#new2024x"})
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    assert _user(app, u.id).must_change_password is False


def test_agency_admin_manages_only_own_agency(app, client, world):
    sign_in(client, world.a.users["admin"])
    assert client.get(f"/admin/users/{world.b.users['clerk']}").status_code == 404
    assert client.post(f"/admin/users/{world.b.users['clerk']}/reset-password").status_code == 404
    assert client.post(f"/admin/users/{world.b.users['clerk']}/unlock").status_code == 404
    page = client.get("/admin/users").get_data(as_text=True)
    assert "swj_clerk" in page and "jyj_clerk" not in page and "gov_admin" not in page
    # B is not among the choices: the form refuses it, nothing is created
    r = client.post("/admin/users/new", data={"username": "intruder", "display_name": "x", "role": "admin",
                                              "agency_id": str(world.b.agency_id)})
    assert r.status_code == 422
    r = client.post("/admin/users/new", data={"username": "intruder", "display_name": "x", "role": "admin",
                                              "agency_id": "__government__"})
    assert r.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "intruder")) is None


def test_government_level_admin_manages_every_agency(app, client, world):
    sign_in(client, world.gov_admin_id)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "swj_clerk" in page and "jyj_clerk" in page
    r = client.post(f"/admin/users/{world.b.users['clerk']}", data={
        "display_name": "改名", "email": "", "role": "approver", "agency_id": str(world.a.agency_id), "active": "y"})
    assert r.status_code == 302
    u = _user(app, world.b.users["clerk"])
    assert (u.display_name, u.role, u.agency_id) == ("改名", "approver", world.a.agency_id)
    [(_name, target, detail)] = _audit(app, "admin.user_updated")
    assert target == str(u.id)
    assert detail["changes"]["role"] == ["clerk", "approver"]
    assert detail["changes"]["agency_id"] == [world.b.agency_id, world.a.agency_id]


def test_edit_deactivates_and_refuses_self_demotion(app, client, world):
    sign_in(client, world.a.users["admin"])
    r = client.post(f"/admin/users/{world.a.users['clerk']}", data={
        "display_name": "经办人", "email": "", "role": "clerk", "agency_id": str(world.a.agency_id)})
    assert r.status_code == 302
    assert _user(app, world.a.users["clerk"]).active is False
    r = client.post(f"/admin/users/{world.a.users['admin']}", data={
        "display_name": "管理员", "email": "", "role": "clerk", "agency_id": str(world.a.agency_id), "active": "y"})
    assert r.status_code == 422
    assert "不能修改自己的角色" in r.get_data(as_text=True)
    assert _user(app, world.a.users["admin"]).role == "admin"


def test_reset_password_issues_one_time_password_and_lifts_lock(app, client, world):
    with app.app_context():
        u = db.session.get(User, world.a.users["clerk"])
        u.locked_at, u.failed_logins = utcnow(), 5
        db.session.commit()
    sign_in(client, world.a.users["admin"])
    r = client.post(f"/admin/users/{world.a.users['clerk']}/reset-password")
    assert r.status_code == 200
    password = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    u = _user(app, world.a.users["clerk"])
    assert (u.locked_at, u.failed_logins, u.must_change_password) == (None, 0, True)
    with app.app_context():
        assert not db.session.get(User, u.id).check_password(PASSWORD)
        assert db.session.get(User, u.id).check_password(password)
    [(_n, target, detail)] = _audit(app, "admin.password_reset")
    assert (target, detail["unlocked"]) == (str(u.id), True)


def test_unlock_after_lockout(app, client, world):
    # five wrong passwords lock the account
    for _ in range(5):
        client.post("/login", data={"username": "swj_clerk", "password": "wrong-password"})
    assert _user(app, world.a.users["clerk"]).locked_at is not None
    r = client.post("/login", data={"username": "swj_clerk", "password": PASSWORD})
    assert r.status_code == 200 and "用户名或密码错误。" in r.get_data(as_text=True)  # the lock is not revealed
    sign_in(client, world.a.users["admin"])
    page = client.get(f"/admin/users/{world.a.users['clerk']}").get_data(as_text=True)
    assert "已暂时锁定" in page and "解除锁定" in page
    r = client.post(f"/admin/users/{world.a.users['clerk']}/unlock")
    assert r.status_code == 302
    u = _user(app, world.a.users["clerk"])
    assert (u.locked_at, u.failed_logins) == (None, 0)
    assert [t for _n, t, _d in _audit(app, "admin.user_unlocked")] == [str(u.id)]
    client.post("/logout")
    r = client.post("/login", data={"username": "swj_clerk", "password": PASSWORD})
    assert r.status_code == 302


def test_duplicate_username_and_bad_role_refused(app, client, world):
    sign_in(client, world.gov_admin_id)
    r = client.post("/admin/users/new", data={"username": "SWJ_CLERK", "display_name": "x", "role": "clerk",
                                              "agency_id": str(world.a.agency_id)})
    assert r.status_code == 422 and "已被使用" in r.get_data(as_text=True)
    r = client.post("/admin/users/new", data={"username": "ok_name", "display_name": "x", "role": "root",
                                              "agency_id": str(world.a.agency_id)})
    assert r.status_code == 422


def test_cli_users_reset_and_unlock(app, cli, world):
    with app.app_context():
        u = db.session.get(User, world.b.users["approver"])
        u.locked_at = utcnow()
        db.session.commit()
    r = cli.invoke(args=["users", "unlock", "jyj_approver"])
    assert r.exit_code == 0 and "unlocked" in r.output
    r = cli.invoke(args=["users", "reset-password", "jyj_approver"])
    assert r.exit_code == 0
    password = r.output.split("one-time password: ")[1].split()[0]
    with app.app_context():
        u = db.session.get(User, world.b.users["approver"])
        assert u.check_password(password) and u.must_change_password and u.locked_at is None
    r = cli.invoke(args=["users", "reset-password", "nobody"])
    assert r.exit_code == 1 and "no user" in r.output
    r = cli.invoke(args=["users", "create", "ops_admin", "--name", "运维", "--role", "admin"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        u = db.session.scalar(select(User).where(User.username == "ops_admin"))
        assert (u.agency_id, u.role, u.must_change_password) == (None, "admin", True)


def test_a_user_email_is_one_address(app, client, world):
    from webapp.admin.services.users import create_user
    from webapp.errors import ServiceError

    sign_in(client, world.a.users["admin"])
    clerk = world.a.users["clerk"]
    before = _user(app, clerk).email
    r = client.post(f"/admin/users/{clerk}", data={
        "display_name": "经办人", "email": "a@b.com,root", "role": "clerk", "agency_id": str(world.a.agency_id),
        "active": "y"})
    assert r.status_code == 422
    assert "电子邮箱格式不正确：请填写一个电子邮箱地址，如 zhangsan@example.com" in r.get_data(as_text=True)
    assert _user(app, clerk).email == before
    r = client.post(f"/admin/users/{clerk}", data={
        "display_name": "经办人", "email": " Jing.Ban@Example.GOV.cn ", "role": "clerk",
        "agency_id": str(world.a.agency_id), "active": "y"})
    assert r.status_code == 302
    assert _user(app, clerk).email == "Jing.Ban@example.gov.cn"
    with app.app_context(), pytest.raises(ServiceError) as e:     # the service, as the CLI reaches it
        create_user(None, username="mailer", display_name="x", role="clerk", agency_id=world.a.agency_id,
                    email="a@b.com;c@d.com")
    assert e.value.rule == "user.email"
