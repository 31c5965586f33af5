"""Forms of the delivery page (Chinese messages; the service checks the rules again)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from webapp.forms import ZhForm

from .services import METHODS

RETURN_CHOICES = {"returned": "退件（邮件被退回）", "undelivered": "未送达（其他原因）"}


class DeliveryForm(ZhForm):
    letter = SelectField("送达的文书", coerce=int, validators=[InputRequired("请选择送达的文书")])
    method = SelectField("送达方式", choices=METHODS, validators=[DataRequired("请选择送达方式")])
    on = DateField("送达日期", validators=[InputRequired("请填写送达日期")])
    tracking_no = StringField("邮件号（邮寄送达必填）", validators=[Optional(), Length(max=30)])
    proof = FileField("送达凭证扫描件（当面领取须上传签收单；PDF、JPEG、PNG）")
    note = TextAreaField("备注", validators=[Optional(), Length(max=1000)])


class ReturnForm(ZhForm):
    status = SelectField("情况", choices=RETURN_CHOICES, validators=[DataRequired()])
    on = DateField("日期", validators=[InputRequired("请填写退件或未送达的日期")])
    reason = TextAreaField("原因", validators=[DataRequired("请填写原因"), Length(max=1000)])
