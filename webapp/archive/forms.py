"""Forms of the archive pages."""

from __future__ import annotations

from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from webapp.forms import ZhForm
from webapp.models.archive import RETENTIONS


class ArchiveForm(ZhForm):
    """Archive one case: only the CSRF token (the number and retention come from the settings)."""


class SettingsForm(ZhForm):
    pattern = StringField("归档号格式", validators=[DataRequired("请填写归档号格式"), Length(max=100)])
    retention = SelectField("保管期限", choices=RETENTIONS, validators=[DataRequired()])


class YearForm(ZhForm):
    agency = SelectField("机关", coerce=int, validators=[InputRequired("请选择机关")])
    year = IntegerField("办结年度", validators=[InputRequired("请填写年度"),
                                            NumberRange(2000, 2100, "年度须在2000至2100之间")])
