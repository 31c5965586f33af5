"""Applicants (rules.md §3): kinds, identity numbers checked with their check digits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from webapp.domain import identity
from webapp.domain.email_address import EmailAddressError, check_email
from webapp.domain.kinds import APPLICANT_KIND_LABELS_ZH
from webapp.errors import ServiceError

APPLICANT_KINDS = {k.value: label for k, label in APPLICANT_KIND_LABELS_ZH.items()}
TEXT_LIMITS = {"name": 200, "phone": 60, "email": 200, "address": 300, "id_document": 200}


def check_id_number(value: str, today: date | None = None) -> str:
    """A 居民身份证号码 by the one rule (webapp/domain/identity.py), normalised (upper-case X).
    ``today`` bounds the birth date; the clock of the service when not given."""
    if today is None:
        from webapp.timeutil import today_shanghai

        today = today_shanghai()
    try:
        return identity.check_resident_id(value, today)
    except identity.IdentityError as e:
        raise ServiceError(f"invalid ID number {mask_id(value)!r}: {e.message}", e.message_zh,
                           rule=e.rule) from None


def check_uscc(value: str) -> str:
    """A 统一社会信用代码: format and check character (webapp/domain/identity.py)."""
    try:
        return identity.check_uscc(value)
    except identity.IdentityError as e:
        raise ServiceError(f"invalid USCC {value!r}: {e.message}", e.message_zh, rule=e.rule) from None


def check_email_address(value: str, rule: str = "applicant.email") -> str:
    """One e-mail address as typed (trimmed), or ServiceError (webapp/domain/email_address.py)."""
    try:
        return check_email(value)
    except EmailAddressError as e:
        raise ServiceError(e.message, e.message_zh, rule=rule) from None


def applicant_hints(applicant: Any) -> list[str]:
    """Hints for the clerk about an applicant's data that is accepted but worth a second look
    (a district code not in the current table). Takes an Applicant or a clean_applicant() dict."""
    number = applicant.get("id_number") if isinstance(applicant, Mapping) else applicant.id_number
    return [f"身份证号码：{h}" for h in identity.ric_hints(number or "")]


def has_control_chars(text: str) -> bool:
    """NUL and other C0 control characters (tab and newlines aside) have no place in any text
    of an application; PostgreSQL cannot even store NUL."""
    return any(ord(c) < 32 and c not in "\t\n\r" for c in text)


def clean_applicant(data: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """Validate applicant data from a form, an import or the API; raise ServiceError. ``today``
    bounds an ID number's birth date (the service's clock when not given)."""
    if not isinstance(data, Mapping):
        raise ServiceError("applicant must be an object", "申请人信息格式错误", rule="applicant.invalid")
    kind = data.get("kind")
    if kind not in APPLICANT_KINDS:
        raise ServiceError(f"applicant kind must be one of {', '.join(APPLICANT_KINDS)}",
                           "申请人类型无效", rule="applicant.kind")
    out: dict[str, Any] = {"kind": kind}
    for key, limit in TEXT_LIMITS.items():
        v = data.get(key)
        if v is None:
            v = ""
        if not isinstance(v, str):
            raise ServiceError(f"applicant {key} must be text", f"申请人{key}须为文本", rule="applicant.invalid")
        v = v.strip()
        if has_control_chars(v):
            raise ServiceError(f"applicant {key} contains control characters", "申请人信息含有无法识别的控制字符",
                               rule="applicant.invalid")
        if len(v) > limit:
            raise ServiceError(f"applicant {key} is longer than {limit} characters",
                               f"申请人信息过长（{key}，上限{limit}字）", rule="applicant.invalid")
        out[key] = v
    if out["email"]:
        out["email"] = check_email_address(out["email"])
    if not out["name"]:
        raise ServiceError("applicant name is required", "请填写申请人姓名或名称", rule="applicant.name")
    id_number = data.get("id_number")
    code = data.get("uscc")
    if kind == "natural_person":
        if code:
            raise ServiceError("a natural person has no USCC", "自然人不应填写统一社会信用代码", rule="applicant.uscc")
        out["id_number"] = check_id_number(id_number, today) if id_number else None
        out["uscc"] = None
    else:
        if id_number:
            raise ServiceError("an organisation has no ID number", "法人或其他组织不应填写身份证号码",
                               rule="applicant.id_number")
        out["uscc"] = check_uscc(code) if code else None
        out["id_number"] = None
    for key in ("id_number", "uscc"):
        if out[key] is not None and not isinstance(out[key], str):
            raise ServiceError(f"applicant {key} must be text", "证件号码须为文本", rule="applicant.invalid")
    return out


# --- masking personal data (rules.md §3) ---------------------------------------------------------

def mask_id(value: str | None) -> str:
    if not value:
        return ""
    v = str(value)
    if len(v) <= 8:
        return "*" * len(v)
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    v = str(value)
    if len(v) <= 4:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7 if len(v) > 7 else len(v) - 4) + v[-4:]


def mask_address(value: str | None) -> str:
    if not value:
        return ""
    v = str(value)
    return v[:6] + ("*" * 6 if len(v) > 6 else "")


def mask_email(value: str | None) -> str:
    """张***@example.com"""
    if not value:
        return ""
    name, _, domain = str(value).partition("@")
    return (name[:1] + "***@" + domain) if domain else mask_phone(value)
