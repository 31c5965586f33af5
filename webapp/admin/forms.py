"""Forms of the admin pages (Flask-WTF: every form carries its CSRF token)."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from webapp.domain.email_address import EmailAddressError, check_email
from webapp.domain.policies import Policies
from webapp.forms import ZhForm as FlaskForm
from webapp.models import Role


def EMAIL(_form, field) -> None:
    """One e-mail address (webapp/domain/email_address.py); the services check it again."""
    if field.data and field.data.strip():
        try:
            check_email(field.data)
        except EmailAddressError as e:
            raise ValidationError(e.message_zh) from None

ROLE_CHOICES = {r.value: r.label_zh for r in Role}


class UserCreateForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(3, 80)])
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=100)])
    email = StringField("电子邮箱", validators=[Optional(), EMAIL, Length(max=200)])
    role = SelectField("角色", choices=ROLE_CHOICES)
    agency_id = SelectField("所属机关", choices={})
    submit = SubmitField("创建用户")


class UserEditForm(FlaskForm):
    display_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=100)])
    email = StringField("电子邮箱", validators=[Optional(), EMAIL, Length(max=200)])
    role = SelectField("角色", choices=ROLE_CHOICES)
    agency_id = SelectField("所属机关", choices={})
    active = BooleanField("账户启用")
    submit = SubmitField("保存")


class ConfirmForm(FlaskForm):
    """A bare POST button (reset password, unlock, revoke, retry): only the CSRF token."""

    submit = SubmitField("确定")


class AgencyProfileForm(FlaskForm):
    name = StringField("机关名称", validators=[DataRequired("请填写机关名称"), Length(max=200)])
    address = StringField("通讯地址", validators=[Optional(), Length(max=300)])
    postcode = StringField("邮政编码", validators=[Optional(), Length(max=20)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=60)])
    email = StringField("电子邮箱", validators=[Optional(), EMAIL, Length(max=200)])
    kind = SelectField("机关类型", choices={"department": "部门", "government": "人民政府"})
    parent_id = SelectField("所属人民政府", choices={})
    submit = SubmitField("保存机关信息")


class AgencyCreateForm(AgencyProfileForm):
    code = StringField("机关代码", validators=[DataRequired("请填写机关代码"), Length(2, 40)])
    submit = SubmitField("新建机关")


_P = Policies.LABELS_ZH


class PoliciesForm(FlaskForm):
    """One field per Policies field, labelled with Policies.LABELS_ZH (tests check that none is missing)."""

    correction_period_days = IntegerField(_P["correction_period_days"],
                                          validators=[DataRequired("请填写"), NumberRange(1, 60, "须为1至60")])
    fee_payment_days = IntegerField(_P["fee_payment_days"],
                                    validators=[DataRequired("请填写"), NumberRange(1, 60, "须为1至60")])
    fee_pauses_clock = BooleanField(_P["fee_pauses_clock"])
    multi_item_outcome = SelectField(_P["multi_item_outcome"],
                                     choices={"application": "按申请件统计", "item": "按申请事项统计"})
    appeal_year = SelectField(_P["appeal_year"], choices={"filed": "按提起年度统计", "decided": "按决定年度统计"})
    auto_lapse = BooleanField(_P["auto_lapse"])
    submit = SubmitField("保存政策设置")


class CalendarNoticeForm(FlaskForm):
    title = StringField("通知标题", validators=[DataRequired("请填写通知标题"), Length(max=300)])
    issued_on = DateField("发布日期", validators=[Optional()], format="%Y-%m-%d")
    days_off = TextAreaField("放假安排（每行一段：起始日期 至 结束日期 节日名称）",
                             validators=[DataRequired("请填写放假日期"), Length(max=5000)])
    makeup_days = TextAreaField("调休上班日期（周六或周日，每行一个）", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("保存并重新计算期限")


class LetterTemplateForm(FlaskForm):
    body = TextAreaField("模板正文", validators=[DataRequired("模板不能为空"), Length(max=50000)])
    submit = SubmitField("保存模板")


class EmailTemplateForm(FlaskForm):
    subject = StringField("邮件主题", validators=[DataRequired("请填写邮件主题"), Length(max=300)])
    body = TextAreaField("邮件正文", validators=[DataRequired("正文不能为空"), Length(max=50000)])
    submit = SubmitField("保存模板")


class TokenCreateForm(FlaskForm):
    name = StringField("令牌名称（如门户网站名称）", validators=[DataRequired("请填写令牌名称"), Length(max=100)])
    note = TextAreaField("备注", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("生成令牌")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False   # a GET filter

    action = StringField("操作", validators=[Optional(), Length(max=60)])
    username = StringField("用户名", validators=[Optional(), Length(max=80)])
    target = StringField("对象（类型或类型:编号）", validators=[Optional(), Length(max=100)])
    date_from = DateField("起始日期", validators=[Optional()], format="%Y-%m-%d")
    date_to = DateField("截止日期", validators=[Optional()], format="%Y-%m-%d")
    page = HiddenField()
