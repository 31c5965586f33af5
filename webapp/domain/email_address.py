"""E-mail addresses (rules.md §3): one address per field, checked by a real parser.

``email-validator`` checks the syntax only (no DNS look-up: the domain reads no network). What is
stored is what the person typed, trimmed: the parser's normalised form is used only when it
differs from the typed text in nothing but the case of the domain (``Zhang@Example.COM`` ->
``Zhang@example.com``); never a silent change of the part before the @.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

EMAIL_INVALID_ZH = "电子邮箱格式不正确：请填写一个电子邮箱地址，如 zhangsan@example.com"


class EmailAddressError(ValueError):
    def __init__(self, message: str, message_zh: str = EMAIL_INVALID_ZH):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


def check_email(value: str) -> str:
    """One e-mail address, trimmed (domain in lower case), or EmailAddressError."""
    typed = (value or "").strip()
    try:
        parsed = validate_email(typed, check_deliverability=False)
    except EmailNotValidError as e:
        raise EmailAddressError(f"invalid e-mail address: {e}") from None
    local, _, domain = typed.rpartition("@")
    if parsed.local_part == local and parsed.domain.lower() == domain.lower():
        return f"{local}@{parsed.domain}"
    return typed
