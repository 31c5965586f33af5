"""Issue 15: templates/partials/forms.html's ``field`` macro is written in Python
(webapp/platform/widgets.field_html): the same HTML as the Jinja macro it replaced, kept here, for
every kind of field, with and without a hint, a class, errors and the macro's keyword arguments; the
macro itself (what the other pages call) gives the same string."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask, render_template_string
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms.fields import (
    BooleanField,
    DateField,
    FileField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.forms import ZhPlainForm
from webapp.platform.widgets import field_html

#: the macro before (templates/partials/forms.html up to issue 15)
OLD_MACRO = """{% macro field(f, hint=None, class_='') -%}
{% set described = ([f.id ~ '-hint'] if hint else []) + ([f.id ~ '-error'] if f.errors else []) %}
{% set attrs = dict(kwargs, **({'aria-invalid': 'true'} if f.errors else {})) %}
{% set attrs = dict(attrs, **({'aria-describedby': described | join(' ')} if described else {})) %}
<div class="field {{ class_ }}{% if f.errors %} has-error{% endif %}{% if f.flags.required %} required{% endif %}">
  {% if f.type in ('BooleanField',) %}
    <label class="check">{{ f(**attrs) }} {{ f.label.text }}</label>
  {% else %}
    {{ f.label() }}
    {{ f(**attrs) }}
  {% endif %}
  {% if hint %}<div class="hint" id="{{ f.id }}-hint">{{ hint }}</div>{% endif %}
  ERRORS
</div>
{%- endmacro %}""".replace("ERRORS", '{% if f.errors %}<div class="errors" id="{{ f.id }}-error">'
                             '{% for e in f.errors %}<div class="error">{{ e }}</div>{% endfor %}</div>{% endif %}')


class _Form(ZhPlainForm):
    name = StringField('姓名 <"甲">', validators=[DataRequired("请填写<姓名>"), Length(max=20)],
                       render_kw={"placeholder": '"名"'})
    secret = PasswordField("密码", validators=[Optional()])
    kind = SelectField("类型", choices={"": "请选择", "a": "甲", "b": "乙"}, validators=[DataRequired()])
    assigned_to = SelectField("承办人", coerce=int, choices={0: "不分配", 7: "张三（经办人）"},
                              validators=[InputRequired()])
    route = RadioField("方式", choices={"pickup": "自取", "post": "邮寄"})
    on = DateField("日期", validators=[InputRequired("请填写日期")])
    agree = BooleanField("已确认 & 无误", validators=[DataRequired()])
    note = TextAreaField("备注", validators=[Optional(), Length(max=5)])
    count = IntegerField("数量", validators=[NumberRange(1, 9)])
    upload = FileField("附件")
    hidden = HiddenField()


CALLS = [
    ("", {}),
    ("hint='写明“全称” <含&>'", {"hint": "写明“全称” <含&>"}),
    ("class_='mono wide'", {"class_": "mono wide"}),
    ("hint='h', class_='x', max='2026-12-05', rows=3, autofocus=true",
     {"hint": "h", "class_": "x", "attrs": {"max": "2026-12-05", "rows": 3, "autofocus": True}}),
    ("autocomplete='new-password', disabled=false, data_url='/a?b=1&c=\"2\"'",
     {"attrs": {"autocomplete": "new-password", "disabled": False, "data_url": '/a?b=1&c="2"'}}),
]
DATA = [None, MultiDict([("name", ""), ("kind", "x"), ("assigned_to", "7"), ("route", "post"), ("on", "2026-13-01"),
                         ("note", 'a\n"long" <b>'), ("count", "12"), ("hidden", "h")]),
        MultiDict([("name", '<x"y>'), ("kind", "a"), ("assigned_to", "0"), ("route", "pickup"),
                   ("on", "2026-12-05"), ("agree", "y"), ("note", "ok"), ("count", "3")])]


@pytest.mark.parametrize("data", DATA)
def test_field_html_is_the_old_macro(app: Flask, data):
    with app.test_request_context():
        form = _Form(data)
        if data is not None:
            form.validate()
        assert any(f.errors for f in form) == (data is DATA[1])
        compared = 0
        for f in form:
            for call, args in CALLS:
                old = render_template_string(OLD_MACRO + "{{ field(f" + (", " + call if call else "") + ") }}", f=f)
                ours = field_html(f, args.get("hint"), args.get("class_", ""), args.get("attrs"))
                new = render_template_string("{% from 'partials/forms.html' import field %}{{ field(f"
                                             + (", " + call if call else "") + ") }}", f=f)
                assert isinstance(ours, Markup)
                assert str(ours) == old == new
                compared += 1
        assert compared == 11 * 5


def test_a_field_in_error_is_described(app: Flask):
    with app.test_request_context():
        form = _Form(DATA[1])
        form.validate()
        html = str(field_html(form.name, "提示"))
    assert html == ('\n\n\n<div class="field  has-error required">\n  \n'
                    '    <label for="name">姓名 &lt;&#34;甲&#34;&gt;</label>\n'
                    '    <input aria-describedby="name-hint name-error" aria-invalid="true" id="name" maxlength="20" '
                    'name="name" placeholder="&#34;名&#34;" required type="text" value="">\n  \n'
                    '  <div class="hint" id="name-hint">提示</div>\n'
                    '  <div class="errors" id="name-error"><div class="error">请填写&lt;姓名&gt;</div></div>\n</div>')


def test_html_params_plain_values(app: Flask):
    from webapp.platform import widgets

    for attrs in ({"value": "a\"b'<&>", "max": date(2026, 1, 2), "rows": 3, "x_y_": True, "z": False},
                  {"value": Markup('"q"'), "n": 0, "flag": 1}):
        assert widgets.html_params(**attrs) == widgets.ORIGINAL_HTML_PARAMS(**attrs)
