"""Forms of the report pages: narrative texts, the proactive-disclosure ledger, its documents."""

from __future__ import annotations

from wtforms import DateField, FileField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from webapp.cases.services.money import check_fees_10k_yuan
from webapp.errors import ServiceError
from webapp.forms import ZhForm as FlaskForm
from webapp.reporting.services.narratives import SECTION_LIMIT, narrative_keys, section_labels

COUNT = Regexp(r"^\s*\d{0,8}\s*$", message="请填写非负整数")


def MONEY(_form, field) -> None:
    """万元 to the fen, as entered (webapp/domain/money.py); save_year checks it again."""
    try:
        check_fees_10k_yuan(field.data)
    except ServiceError as e:
        raise ValidationError(e.message_zh) from None


def narrative_form_class() -> type[FlaskForm]:
    """A form with one text area per narrative key (keys and headings come from the renderer)."""
    labels = section_labels()
    attrs = {k: TextAreaField(labels[k], validators=[Optional(), Length(max=SECTION_LIMIT)])
             for k in narrative_keys()}
    attrs["note"] = StringField("修改说明", validators=[Optional(), Length(max=500)])
    attrs["submit"] = SubmitField("保存为新版本")
    return type("NarrativeForm", (FlaskForm,), attrs)


class ProactiveYearForm(FlaskForm):
    rules_issued = StringField("规章 本年制发件数", validators=[COUNT])
    rules_repealed = StringField("规章 本年废止件数", validators=[COUNT])
    rules_in_force = StringField("规章 现行有效件数", validators=[COUNT])
    normative_issued = StringField("行政规范性文件 本年制发件数", validators=[COUNT])
    normative_repealed = StringField("行政规范性文件 本年废止件数", validators=[COUNT])
    normative_in_force = StringField("行政规范性文件 现行有效件数", validators=[COUNT])
    licensing_decisions = StringField("行政许可 本年处理决定数量", validators=[COUNT])
    penalty_decisions = StringField("行政处罚 本年处理决定数量", validators=[COUNT])
    coercion_decisions = StringField("行政强制 本年处理决定数量", validators=[COUNT])
    fees_10k_yuan = StringField("行政事业性收费 本年收费金额（万元）", validators=[MONEY])
    categories = TextAreaField("主动公开信息分类条数（一行一类：类别=条数）",
                               validators=[Optional(), Length(max=5000)])
    submit = SubmitField("保存台账")


class DocumentForm(FlaskForm):
    kind = SelectField("类别", choices=[SelectChoice("rule", "规章"), SelectChoice("normative", "行政规范性文件")])
    title = StringField("文件名称", validators=[DataRequired("请填写文件名称"), Length(max=300)])
    doc_number = StringField("文号", validators=[Optional(), Length(max=100)])
    issued_on = DateField("制发日期", validators=[Optional()])
    repealed_on = DateField("废止日期", validators=[Optional()])
    submit = SubmitField("保存文件")


class OpeningForm(FlaskForm):
    """期初数（上年已公开报告）: typed figures, or a file (the service's report JSON or the filled-in
    template) that replaces them. reporting/services/opening.py checks everything again."""
    carried_natural_person = StringField("自然人", validators=[COUNT])
    carried_commercial = StringField("商业企业", validators=[COUNT])
    carried_research = StringField("科研机构", validators=[COUNT])
    carried_public_interest = StringField("社会公益组织", validators=[COUNT])
    carried_legal_service = StringField("法律服务机构", validators=[COUNT])
    carried_other_org = StringField("其他", validators=[COUNT])
    carried_total = StringField("总计", validators=[COUNT])
    in_force_rules = StringField("规章 现行有效件数", validators=[COUNT])
    in_force_normative_documents = StringField("行政规范性文件 现行有效件数", validators=[COUNT])
    upload = FileField("或上传文件（本系统导出的上年度报告JSON，或填好的.xlsx模板）")
    submit = SubmitField("保存期初数")
