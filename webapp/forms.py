"""The one base of every form: WTForms' and Flask-WTF's built-in messages in Chinese.

Every form of the service derives from ``ZhForm`` (a Flask-WTF form, CSRF on) or, for a GET filter
without CSRF, ``ZhPlainForm``. A validator given its own message keeps it; one without (DataRequired(),
Length(max=...), NumberRange(...), Email(), an unparsable date ...) says it in Chinese from
``MESSAGES_ZH`` below -- the only place these texts live. A message WTForms has and this table
lacks falls back to WTForms' own Chinese catalogue, never to English.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms.form import Form
from wtforms.i18n import get_translations

#: WTForms' message ids -> the service's Chinese (a plural message: its singular id)
MESSAGES_ZH: dict[str, str] = {
    "This field is required.": "请填写此项。",
    "Not a valid date value.": "日期格式不正确，请按“年-月-日”填写，如 2024-06-10。",
    "Not a valid datetime value.": "日期时间格式不正确，请按“年-月-日 时:分”填写。",
    "Not a valid time value.": "时间格式不正确，请按“时:分”填写。",
    "Not a valid integer value.": "请填写整数。",
    "Not a valid decimal value.": "请填写数字。",
    "Not a valid float value.": "请填写数字。",
    "Not a valid choice.": "请从列表中选择。",
    "Invalid Choice: could not coerce.": "选择无效，请从列表中选择。",
    "Invalid choice(s): one or more data inputs could not be coerced.": "选择无效，请从列表中选择。",
    "Invalid email address.": "电子邮箱格式不正确。",
    "Invalid input.": "填写的内容格式不正确。",
    "Invalid URL.": "网址格式不正确。",
    "Invalid IP address.": "IP 地址格式不正确。",
    "Number must be at least %(min)s.": "不能小于%(min)s。",
    "Number must be at most %(max)s.": "不能大于%(max)s。",
    "Number must be between %(min)s and %(max)s.": "须在%(min)s至%(max)s之间。",
    "Field must be at least %(min)d character long.": "至少填写%(min)d个字符。",
    "Field cannot be longer than %(max)d character.": "不能超过%(max)d个字符。",
    "Field must be exactly %(max)d character long.": "须为%(max)d个字符。",
    "Field must be between %(min)d and %(max)d characters long.": "长度须在%(min)d至%(max)d个字符之间。",
    "Field must be equal to %(other_name)s.": "两次填写的内容不一致。",
    "Invalid value, must be one of: %(values)s.": "须为下列之一：%(values)s。",
    "Invalid value, can't be any of: %(values)s.": "不能为下列任何一项：%(values)s。",
}

#: Flask-WTF's CSRF messages (not translatable there) -> Chinese
CSRF_ZH: dict[str, str] = {
    "The CSRF token is missing.": "页面缺少安全令牌，请刷新页面后重新提交。",
    "The CSRF session token is missing.": "会话已过期，请刷新页面后重新提交。",
    "The CSRF token has expired.": "页面已过期，请刷新页面后重新提交。",
    "The CSRF token is invalid.": "页面安全令牌无效，请刷新页面后重新提交。",
    "The CSRF tokens do not match.": "页面安全令牌不匹配，请刷新页面后重新提交。",
}


class ZhTranslations:
    """A gettext-like object for WTForms' ``Meta.get_translations``."""

    def __init__(self) -> None:
        self._fallback = get_translations(["zh"])

    def gettext(self, string: str) -> str:
        return MESSAGES_ZH.get(string) or self._fallback.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return MESSAGES_ZH.get(singular) or self._fallback.ngettext(singular, plural, n)


TRANSLATIONS = ZhTranslations()


class ZhMeta:
    def get_translations(self, form: Any) -> ZhTranslations:
        return TRANSLATIONS


class ZhForm(FlaskForm):
    """The base of every form posted to the service (Flask-WTF: CSRF on)."""

    class Meta(ZhMeta):
        pass

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators=extra_validators)
        csrf = getattr(self, "csrf_token", None)
        if csrf is not None and csrf.errors:
            csrf.errors = [CSRF_ZH.get(e, e) for e in csrf.errors]
        return ok


class ZhPlainForm(Form):
    """The base of a GET filter form (no CSRF: it changes nothing)."""

    class Meta(ZhMeta):
        pass
