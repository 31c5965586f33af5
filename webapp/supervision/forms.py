"""Forms of the supervision pages (CSRF through Flask-WTF, messages in Chinese)."""

from __future__ import annotations

from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from webapp.cases.forms import ZhForm


class NoticeForm(ZhForm):
    agency_id = SelectField("被督办部门", coerce=int, validators=[InputRequired("请选择被督办部门")])
    case_id = HiddenField(validators=[Optional()])
    message = TextAreaField("督办内容", validators=[DataRequired("请填写督办内容"), Length(max=2000)])
    reply_by = DateField("回复期限（至）", validators=[InputRequired("请填写回复期限")])


class ReplyForm(ZhForm):
    reply = TextAreaField("回复内容", validators=[DataRequired("请填写回复内容"), Length(max=2000)])
