"""Forms of the case page (one small form per action) and of the search."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from webapp.domain.clock import Status
from webapp.domain.fees import FeeMethod
from webapp.domain.outcomes import ANSWER_OUTCOMES
from webapp.domain.policies import EXTENSION_MAX_DAYS
from webapp.domain.workflow import Party
from webapp.forms import ZhForm, ZhPlainForm

__all__ = ["ZhForm"]   # webapp.forms's, re-exported for the intake forms


class ActionForm(ZhForm):
    # optimistic locking: the version of the case the clerk was looking at
    version = HiddenField(validators=[InputRequired("缺少案件版本号，请刷新页面")])
    on = DateField("日期", validators=[InputRequired("请填写日期")])


class CorrectionForm(ActionForm):
    what = TextAreaField("需要补正的内容", validators=[DataRequired("请写明需要补正的内容"), Length(max=2000)])
    reply_by = DateField("补正期限（至）", validators=[Optional()])


class NoteForm(ActionForm):
    note = TextAreaField("备注", validators=[Optional(), Length(max=2000)])


PARTY_CHOICES = {p.value: p.label_zh for p in Party}


class ConsultationForm(ActionForm):
    party = SelectField("征求对象", choices=PARTY_CHOICES, validators=[DataRequired()])
    addressee = StringField("受函单位或个人", validators=[DataRequired("请填写受函单位或个人"), Length(max=200)])
    text = TextAreaField("征求意见的事项", validators=[DataRequired("请写明征求意见的事项"), Length(max=2000)])


class ConsultationEndForm(ActionForm):
    note = TextAreaField("答复意见摘要", validators=[Optional(), Length(max=2000)])


class ExtensionForm(ActionForm):
    days = IntegerField("延长工作日数", default=EXTENSION_MAX_DAYS,
                        validators=[InputRequired("请填写延长的工作日数"),
                                    NumberRange(1, EXTENSION_MAX_DAYS, f"延长期限为1至{EXTENSION_MAX_DAYS}个工作日")])
    reason = TextAreaField("延期理由", validators=[DataRequired("请写明延期理由"), Length(max=1000)])


FEE_METHOD_CHOICES = {FeeMethod.PER_ITEM.value: "按件计收", FeeMethod.PER_PAGE.value: "按量计收"}


class FeeNoticeForm(ActionForm):
    method = SelectField("计收方式", choices=FEE_METHOD_CHOICES, validators=[DataRequired()])
    quantity = IntegerField("件数或页数", validators=[InputRequired("请填写件数或页数"),
                                                  NumberRange(1, 100000, "件数或页数须为正整数")])


def outcome_choices() -> dict[str, str]:
    return {o.value: o.report_row for o in ANSWER_OUTCOMES}


class AnswerForm(ActionForm):
    outcomes = FieldList(SelectField("办理结果", choices=outcome_choices(),
                                     validators=[DataRequired("请选择办理结果")]), min_entries=1)
    main_ground = SelectField("主要理由（各项结果不同且均未提供信息时）",
                              choices={"": "—", **outcome_choices()}, validators=[Optional()])
    text = TextAreaField("答复内容", validators=[Optional(), Length(max=5000)])


APPEAL_KIND_CHOICES = {"review": "行政复议", "litigation_direct": "未经复议直接起诉",
                       "litigation_after_review": "复议后起诉"}
APPEAL_RESULT_CHOICES = {"pending": "尚未审结", "upheld": "维持", "corrected": "纠正",
                         "other": "其他（撤回、终止、驳回、和解等）"}


class AppealForm(ZhForm):
    version = HiddenField(validators=[InputRequired("缺少案件版本号，请刷新页面")])
    kind = SelectField("类型", choices=APPEAL_KIND_CHOICES, validators=[DataRequired()])
    filed_on = DateField("立案（申请）日期", validators=[InputRequired("请填写立案日期")])
    result = SelectField("结果", choices=APPEAL_RESULT_CHOICES, validators=[DataRequired()])
    decided_on = DateField("审结日期", validators=[Optional()])
    note = TextAreaField("备注", validators=[Optional(), Length(max=1000)])


class AssignForm(ZhForm):
    version = HiddenField(validators=[InputRequired("缺少案件版本号，请刷新页面")])
    assigned_to = SelectField("承办人", coerce=int, validators=[InputRequired("请选择承办人")])


class AttachForm(ZhForm):
    files = MultipleFileField("上传扫描件（PDF、JPEG、PNG，每个不超过10MB）")


class PersonalDataForm(ZhForm):
    """Only the CSRF token: opening the full record is a POST that is logged."""


STATUS_CHOICES = {"": "全部", **{s.value: s.label_zh for s in Status}}


class SearchForm(ZhPlainForm):
    """GET form (no CSRF: it changes nothing)."""

    number = StringField("编号", validators=[Optional(), Length(max=80)])
    applicant = StringField("申请人（姓名、名称或证件号）", validators=[Optional(), Length(max=200)])
    text = StringField("申请内容", validators=[Optional(), Length(max=200)])
    date_from = DateField("收到日期自", validators=[Optional()])
    date_to = DateField("至", validators=[Optional()])
    status = SelectField("状态", choices=STATUS_CHOICES, validators=[Optional()])
    mine = BooleanField("只看我承办的")

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(f"收到日期的起止颠倒了：截止日期（{field.data.isoformat()}）早于起始日期"
                                  f"（{self.date_from.data.isoformat()}），请对调后再查询。")


