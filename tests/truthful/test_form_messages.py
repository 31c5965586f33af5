"""Every validation message is Chinese: WTForms' and Flask-WTF's built-in ones come from one table
(webapp/forms.py), and every form of the service derives from its base."""

from __future__ import annotations

import importlib
import pkgutil
import re

from wtforms import DateField, DecimalField, EmailField, IntegerField, SelectField, StringField
from wtforms.form import BaseForm
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange

import webapp
from tests.conftest import sign_in
from tests.public.conftest import make_world
from webapp.extensions import db
from webapp.forms import ZhForm, ZhPlainForm


class Sample(ZhForm):
    required = StringField("必填", validators=[DataRequired()])
    given = StringField("输入", validators=[InputRequired()])
    short = StringField("短", validators=[Length(max=3)])
    long = StringField("长", validators=[Length(min=5)])
    between = StringField("区间", validators=[Length(2, 4)])
    mail = EmailField("邮箱", validators=[Email()])
    number = IntegerField("数量", validators=[NumberRange(1, 60)])
    at_least = IntegerField("至少", validators=[NumberRange(min=1)])
    count = IntegerField("整数")
    money = DecimalField("金额")
    day = DateField("日期")
    choice = SelectField("选择", choices={"a": "甲"})


def test_the_built_in_messages_are_chinese(app):
    data = {"required": "", "given": "", "short": "abcd", "long": "ab", "between": "a", "mail": "not-mail",
            "number": "99", "at_least": "0", "count": "x", "money": "y", "day": "2024-13-45", "choice": "z"}
    with app.test_request_context("/", method="POST", data=data):
        form = Sample()
        assert not form.validate()
        errors = dict(form.errors)
    assert errors == {
        "required": ["请填写此项。"], "given": ["请填写此项。"], "short": ["不能超过3个字符。"],
        "long": ["至少填写5个字符。"], "between": ["长度须在2至4个字符之间。"], "mail": ["电子邮箱格式不正确。"],
        "number": ["须在1至60之间。"], "at_least": ["不能小于1。"], "count": ["请填写整数。"],
        "money": ["请填写数字。"], "day": ["日期格式不正确，请按“年-月-日”填写，如 2024-06-10。"],
        "choice": ["请从列表中选择。"],
    }


def test_a_missing_csrf_token_is_told_in_chinese(app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with app.test_request_context("/", method="POST", data={"required": "x", "given": "x"}):
            form = Sample()
            assert not form.validate()
            assert form.errors["csrf_token"] == ["页面缺少安全令牌，请刷新页面后重新提交。"]
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_form_of_the_service_derives_from_the_chinese_base():
    for mod in pkgutil.walk_packages(webapp.__path__, "webapp."):
        importlib.import_module(mod.name)
    forms = [c for c in _all_subclasses(BaseForm) if c.__module__.startswith("webapp.")
             and c not in (ZhForm, ZhPlainForm)]
    assert len(forms) > 20
    assert [f"{c.__module__}.{c.__qualname__}" for c in forms if not issubclass(c, (ZhForm, ZhPlainForm))] == []


def test_an_admin_form_posted_invalid_answers_in_chinese(app, client, today):
    with app.app_context():
        w = make_world()
        db.session.commit()
        db.session.remove()
    sign_in(client, w.users["admin"])
    r = client.post("/admin/users/new", data={"username": "ab", "display_name": "", "role": "nope"})
    html = r.get_data(as_text=True)
    errors = re.findall(r'<div class="error">(.*?)</div>', html)
    assert "长度须在3至80个字符之间。" in errors and "请填写姓名" in errors and "请从列表中选择。" in errors
    r = client.get("/admin/audit?date_from=2024-13-45")
    assert "日期格式不正确，请按“年-月-日”填写，如 2024-06-10。" in r.get_data(as_text=True)
    for english in ("Not a valid", "Field must", "This field"):
        assert english not in html and english not in r.get_data(as_text=True)
