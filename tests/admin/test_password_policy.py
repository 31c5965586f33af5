"""The password policy (trust/passwords.password_problem) wherever a password is set: the self
change (tests/views/test_auth.py TestPasswordChange), an administrator's create and reset, the
`flask users create` command and seed-demo."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import sign_in
from webapp.extensions import db
from webapp.models import Agency, User
from webapp.trust.passwords import hash_password, password_problem

TOO_COMMON = "密码太常见或太容易猜到，请换一个更长、更不规则的密码（例如几个不相关的词加数字和符号）。"
PERSONAL = "密码不能由姓名、电子邮箱或所属机关名称等个人信息组成，请换一个。"


def _someone() -> User:
    return User(username="wang_clerk", display_name="Wang Fang", email="wangfang@example.gov.cn",
                agency=Agency(code="LZ-SWJ", name="Linzi Commerce"), password_hash=hash_password("Old-secret#2024"))


@pytest.mark.parametrize(("password", "problem"), [
    ("Short#pw123", "密码至少12个字符。"),                 # 11 characters
    ("password1234", TOO_COMMON),
    ("qwertyuiop123", TOO_COMMON),
    ("1qaz2wsx3edc", TOO_COMMON),                          # a keyboard walk
    ("Old-secret#2024", "新密码不能与原密码相同。"),        # the current password
    ("My-Wang_Clerk-77", "密码不能包含用户名。"),           # any case
    ("wangfang1985!", PERSONAL),                           # the e-mail's local part
    ("LinziCommerce2024", PERSONAL),                       # the agency's name
    ("Lotus-river-2026", None),
    ("correct horse battery staple", None),                # a passphrase needs no symbol
])
def test_password_problem(app, password, problem):
    with app.app_context():
        assert password_problem(password, _someone()) == problem


def test_without_a_user_only_length_and_commonness_count(app):
    with app.app_context():
        assert password_problem("Old-secret#2024") is None
        assert password_problem("iloveyou2024") == TOO_COMMON


def test_one_time_passwords_of_create_and_reset_pass_the_policy(app, client, world):
    sign_in(client, world.a.users["admin"])
    r = client.post("/admin/users/new", data={"username": "new_clerk", "display_name": "新经办人",
                                              "email": "n@example.gov.cn", "role": "clerk",
                                              "agency_id": str(world.a.agency_id)})
    created = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "new_clerk"))
    r = client.post(f"/admin/users/{user_id}/reset-password")
    reset = re.search(r'id="one-time-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    with app.app_context():
        user = db.session.get(User, user_id)
        assert len(created) == len(reset) == 14
        assert user.check_password(reset) and not user.check_password(created)
        user.password_hash = hash_password("placeholder-x")   # judge `created` as a new password
        assert password_problem(created, user) is None and password_problem(reset, user) is None


def test_cli_created_password_passes_the_policy(app, cli, world):
    r = cli.invoke(args=["users", "create", "cli_clerk", "--name", "命令行经办人", "--role", "clerk",
                         "--agency", "LZ-SWJ", "--email", "cli@example.gov.cn"])
    assert r.exit_code == 0, r.output
    password = r.output.split("one-time password: ")[1].split()[0]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "cli_clerk"))
        assert user.check_password(password)
        user.password_hash = ""
        assert password_problem(password, user) is None


def test_seed_demo_logins_pass_the_policy_and_work(app, cli, client, today):
    r = cli.invoke(args=["seed-demo", "--cases", "1"])
    assert r.exit_code == 0, r.output
    logins = re.findall(r"^  (\S+) / (\S+) / (\S+)$", r.output, re.M)
    assert logins == [("clerk", "Lotus-river-2026", "clerk"), ("clerk2", "Maple-stream-2026", "clerk"),
                      ("approver", "Cedar-bridge-2026", "approver"), ("admin", "Harbor-lamp-2026", "admin"),
                      ("auditor", "Quiet-ledger-2026", "auditor")]
    with app.app_context():
        for username, password, _role in logins:
            user = db.session.scalar(select(User).where(User.username == username))
            stored, user.password_hash = user.password_hash, ""
            assert password_problem(password, user) is None, username
            user.password_hash = stored
        db.session.rollback()
    for username, password, _role in logins:
        r = client.post("/login", data={"username": username, "password": password})
        assert r.status_code == 302, username
        client.post("/logout")
