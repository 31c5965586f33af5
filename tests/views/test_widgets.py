"""Issue 15: WTForms' field rendering through webapp/platform/widgets.py gives the same HTML as
WTForms' own, with no string.Formatter per attribute and no signature look-up per select."""

from __future__ import annotations

import inspect
from datetime import date

import pytest
from flask import Flask
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import widgets as wtforms_widgets
from wtforms.fields import (
    BooleanField,
    DateField,
    FileField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice as C
from wtforms.validators import DataRequired, Length
from wtforms.widgets import core

from webapp.forms import ZhPlainForm
from webapp.platform import widgets

ATTRIBUTES = [
    {},
    {"name": "kind", "id": "kind"},
    {"class_": "btn btn-small", "for_": "x", "data_url": "/cases/1?a=1&b=2", "aria_describedby": "a-hint a-error"},
    {"required": True, "disabled": False, "readonly": True, "value": ""},
    {"value": 'say "hi" <b>&\'', "placeholder": "请输入“姓名”"},
    {"value": Markup('<i class="x">ok</i>'), "title": Markup("a &amp; b")},
    {"value": 0, "maxlength": 2000, "min": None, "max": date(2026, 12, 5)},
    {"data_a_b_c": "1", "aria_invalid": "true", "Upper_": "y"},
]


@pytest.mark.parametrize("attrs", ATTRIBUTES)
def test_html_params_same_string(attrs):
    ours = widgets.html_params(**attrs)
    assert isinstance(ours, Markup)
    assert ours == widgets.ORIGINAL_HTML_PARAMS(**attrs)


class _Everything(ZhPlainForm):
    name = StringField("姓名", validators=[DataRequired(), Length(max=20)], render_kw={"placeholder": '"名"'})
    secret = PasswordField("密码")
    kind = SelectField("类型", choices=[C("", "请选择"), C("a", 'A "quoted"'), C("b", Markup("<b>B</b>")),
                                        C("c", "丙", render_kw={"data_x": '"1"'})])
    assigned_to = SelectField("承办人", coerce=int, choices=[C(0, "不分配"), C(7, "张三（经办人）"), C(8, "李四")])
    grouped = SelectField("分组", choices=[C("1", "一", optgroup="甲组"), C("2", "二", optgroup="乙组"),
                                         C("3", "三", optgroup="乙组")])
    many = SelectMultipleField("多选", choices=[C("x", "X"), C("y", "Y")])
    route = RadioField("方式", choices=[C("pickup", "自取"), C("post", "邮寄")])
    received_on = DateField("收到日期")
    agree = BooleanField("已确认")
    note = TextAreaField("备注")
    count = IntegerField("数量")
    upload = FileField("附件")
    hidden = HiddenField()
    go = SubmitField("提交")


def _render(form) -> list[str]:
    out = []
    for f in form:
        out += [str(f()), str(f.label()), str(f(class_="wide", data_max="2026-12-05", aria_invalid="true"))]
        if f.type == "RadioField":
            out += [str(sub()) for sub in f]
    return out


def test_whole_form_same_html(app: Flask):
    data = MultiDict([("name", '<x"y>'), ("kind", "b"), ("assigned_to", "8"), ("grouped", "3"), ("many", "x"),
                      ("many", "y"), ("route", "post"), ("received_on", "2026-12-05"), ("agree", "y"),
                      ("note", 'a\n"b"'), ("count", "3"), ("hidden", "h")])
    with app.test_request_context():
        for formdata in (None, data):
            form = _Everything(formdata)
            form.validate()
            ours = _render(form)
            saved = (core.html_params, wtforms_widgets.html_params, core.Input.__dict__["html_params"],
                     core.Button.__dict__["html_params"], core.Select.__dict__["_dispatch_render_option"])
            try:
                core.html_params = wtforms_widgets.html_params = widgets.ORIGINAL_HTML_PARAMS
                core.Input.html_params = core.Button.html_params = staticmethod(widgets.ORIGINAL_HTML_PARAMS)
                core.Select._dispatch_render_option = classmethod(widgets._ORIGINAL_DISPATCH)
                theirs = _render(form)
            finally:
                (core.html_params, wtforms_widgets.html_params, core.Input.html_params, core.Button.html_params,
                 core.Select._dispatch_render_option) = saved
            assert ours == theirs


def test_installed_by_create_app_and_no_signature_per_render(app: Flask, monkeypatch):
    assert core.html_params is widgets.html_params
    assert wtforms_widgets.html_params is widgets.html_params
    assert core.TextInput.html_params is widgets.html_params
    assert core.SubmitInput.html_params is widgets.html_params
    with app.test_request_context():
        form = _Everything()
        str(form.kind())                    # the option renderer of Select, worked out at most once
        looked_up = []
        real = inspect.signature
        monkeypatch.setattr(inspect, "signature", lambda *a, **k: looked_up.append(a) or real(*a, **k))
        for _ in range(3):
            assert '<option value="">请选择</option><option value="a">A &#34;quoted&#34;</option>' in str(form.kind())
        assert looked_up == []


class _Plain(ZhPlainForm):
    # the assignee lists' shape: a {value: label} dict of text labels (written straight from the dict)
    assigned_to = SelectField("承办人", coerce=int, validators=[DataRequired()],
                              choices={0: "不分配", 7: '张三（经办人）"<b>', 8: "李四（负责人）", 9: ""})
    kind = SelectField("类型", choices={"": "请选择", "a&b": "甲", Markup('"m"'): "乙", True: "是"})
    lazy = SelectField("其他", choices={"x": "X", "y": Markup("<i>Y</i>")})     # not all str: WTForms renders


def _plain_html(form) -> list[str]:
    return [str(f(**kw)) for f in form for kw in ({}, {"class_": "wide", "aria_invalid": "true", "required": False})]


@pytest.mark.parametrize("data", [None, MultiDict([("assigned_to", "8"), ("kind", "a&b"), ("lazy", "y")]),
                                  MultiDict([("assigned_to", "9"), ("kind", "True")])])
def test_a_plain_select_same_html_as_wtforms(app: Flask, data, monkeypatch):
    assert core.Select.__call__ is widgets._select_call
    original = widgets._ORIGINAL_SELECT_CALL
    with app.test_request_context():
        form = _Plain(data)
        ours = _plain_html(form)
        sent = []
        monkeypatch.setattr(widgets, "_ORIGINAL_SELECT_CALL",
                            lambda self, field, **kw: sent.append(field.name) or original(self, field, **kw))
        _plain_html(form)
        assert sent == ["lazy", "lazy"]       # only the select with a Markup label went to WTForms
        monkeypatch.setattr(core.Select, "__call__", original)
        theirs = _plain_html(form)
    assert ours == theirs
    selected = {None: None, "8": '<option selected value="8">李四（负责人）</option>',
                "9": '<option selected value="9">9</option>'}[data and data.get("assigned_to")]
    assert ours[0].count("selected") == (selected is not None) and (selected is None or selected in ours[0])
    assert '<option value="7">张三（经办人）&#34;&lt;b&gt;</option>' in ours[0]
