"""Forms of the review pages."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from webapp.cases.forms import ZhForm

from .services import MAX_STEPS, OPINION_LIMIT


class OpinionForm(ZhForm):
    version = HiddenField(validators=[InputRequired("缺少版本号，请刷新页面")])
    opinion = TextAreaField("意见", validators=[Optional(), Length(max=OPINION_LIMIT)])


class WithdrawForm(ZhForm):
    version = HiddenField(validators=[InputRequired("缺少版本号，请刷新页面")])


class ChainForm(ZhForm):
    """One kind's chain: on/off and up to MAX_STEPS review steps (title, reviewer) before the sign-off."""

    enabled = BooleanField("启用审批（关闭时由经办人直接办理）")


def chain_form(kind: str, reviewers: dict[int, str], data=None, formdata=None):
    class _F(ChainForm):
        pass

    for i in range(MAX_STEPS):
        setattr(_F, f"title_{i}", StringField(f"第{i + 1}个审核环节名称", validators=[Optional(), Length(max=40)]))
        setattr(_F, f"reviewer_{i}", SelectField(f"第{i + 1}个环节审核人", coerce=int,
                                                 choices={0: "本机关任一负责人", **reviewers}, validators=[Optional()]))
    kwargs = {"prefix": kind}
    if formdata is False:
        kwargs["formdata"] = None
    if data:
        kwargs.update(data)
    return _F(**kwargs)
