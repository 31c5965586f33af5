"""Forms of the register pages (CSRF through Flask-WTF; messages in Chinese). The column mapping's
selects are one per header of the uploaded sheet, read by the route (their names ``col-<i>``)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import HiddenField
from wtforms.validators import DataRequired

from webapp.forms import ZhForm as FlaskForm


class UploadForm(FlaskForm):
    file = FileField("台账文件（.xlsx 或 .csv，不超过10MB）")


class MappingForm(FlaskForm):
    token = HiddenField(validators=[DataRequired("请重新上传台账")])


class CommitForm(FlaskForm):
    token = HiddenField(validators=[DataRequired("请重新上传台账")])
