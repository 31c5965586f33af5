from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from webapp.cases.forms import ZhForm
from webapp.cases.services.applicants import APPLICANT_KINDS
from webapp.domain.kinds import FormWanted, NotifyVia, RouteWanted
from webapp.sms.outbox import CHOICES as NOTIFY_CHOICES

from .receipt import CHANNEL_CHOICES, POST_KIND_CHOICES


class IntakeForm(ZhForm):
    agency_id = SelectField("受理机关", coerce=int, validators=[Optional()])
    applicant_id = HiddenField()
    identity_choice = HiddenField()   # "corrected" once the clerk chose to correct a mistyped identity
    identity_entered = HiddenField()  # what was entered then (JSON: name, id_number, uscc), for the note
    kind = SelectField("申请人类型", choices=dict(APPLICANT_KINDS), validators=[DataRequired()])
    name = StringField("姓名或名称", validators=[Optional(), Length(max=200)])
    id_number = StringField("居民身份证号码", validators=[Optional(), Length(max=18, message="身份证号码为18位")])
    uscc = StringField("统一社会信用代码", validators=[Optional(), Length(max=18, message="统一社会信用代码为18位")])
    id_document = StringField("其他身份证明", validators=[Optional(), Length(max=200)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=60)])
    # one address, checked by clean_applicant (webapp/domain/email_address.py)
    email = StringField("电子邮箱", validators=[Optional(), Length(max=200)])
    address = StringField("通信地址", validators=[Optional(), Length(max=300)])

    channel = SelectField("收件渠道", choices=CHANNEL_CHOICES, validators=[DataRequired()])
    post_kind = SelectField("邮寄方式", choices=POST_KIND_CHOICES, default="signed", validators=[Optional()])
    arrived_on = DateField("申请送达本机关之日", validators=[InputRequired("请填写申请送达之日")])
    received_on = DateField("收到申请之日（答复期限起算）", validators=[InputRequired("请填写收到申请之日")])
    receipt_confirmed = BooleanField("已按收件渠道核对收到申请之日",
                                     validators=[DataRequired("请核对并确认收到申请之日")])

    items = TextAreaField("申请获取的政府信息（每行一项：名称、文号或特征性描述）",
                          validators=[DataRequired("请至少填写一项申请内容"), Length(max=200 * 2000)])
    form_wanted = SelectField("信息提供形式", choices=FormWanted.choices(), validators=[DataRequired()])
    route_wanted = SelectField("获取信息方式", choices=RouteWanted.choices(), validators=[DataRequired()])
    # e-mail / SMS / both (webapp/sms/), kept on the case as filed
    notify_via = SelectField("接收办理通知", choices=NOTIFY_CHOICES,
                             default=NotifyVia.EMAIL.value, validators=[Optional()])
    scans = MultipleFileField("申请材料扫描件（PDF、JPEG、PNG，每个不超过10MB）")
    assigned_to = SelectField("承办人", coerce=int, validators=[Optional()])
    note = TextAreaField("备注", validators=[Optional(), Length(max=2000)])


class ApplicantSearchForm(ZhForm):
    class Meta:
        csrf = False

    q = StringField("查找已有申请人（姓名、名称、身份证号码或统一社会信用代码）",
                    validators=[Optional(), Length(max=200)])
