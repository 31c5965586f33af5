"""The two settings of Reach, each changed by one service function (the caller commits):
a staff member's own choice of reminders (``set_staff_choice``) and an agency's quiet hours
(``set_quiet_hours``). Bad input raises ServiceError (Chinese) and changes nothing."""

from __future__ import annotations

from typing import Any

from webapp.domain.kinds import MailChannel
from webapp.errors import ServiceError
from webapp.models import Agency, User
from webapp.trust.audit import log_event

from .outbox import normalize_mobile, notify_choice, wants
from .quiet import QuietHours


def set_staff_choice(user: User, notify_via: Any, mobile: Any) -> bool:
    """E-mail, SMS or both for ``user``'s reminders, with their mobile number. True if changed."""
    via = notify_choice(notify_via)
    if via is None:
        raise ServiceError("notify_via must be email, sms or both", "请选择接收提醒的方式", rule="user.notify")
    raw = mobile.strip() if isinstance(mobile, str) else ""
    number = normalize_mobile(raw)
    if raw and not number:
        raise ServiceError("not a mobile number", "手机号码应为11位（以1开头）", rule="user.mobile")
    if wants(via, MailChannel.SMS) and not number:
        raise ServiceError("SMS needs a mobile number", "选择短信提醒的，请填写手机号码", rule="user.mobile")
    if wants(via, MailChannel.EMAIL) and not (user.email or "").strip():
        raise ServiceError("e-mail needs an address", "您的账号没有电子邮箱，请联系管理员填写，或选择短信",
                           rule="user.notify")
    if (user.notify_via, user.mobile) == (via, number):
        return False
    log_event("user.notify_choice", user=user, target_type="user", target_id=user.id,
              detail={"from": user.notify_via, "to": via, "mobile": bool(number)})
    user.notify_via, user.mobile = via, number
    return True


def set_quiet_hours(actor: User, agency: Agency, data: dict[str, Any]) -> bool:
    """Save ``agency``'s quiet hours ({} or start == end and no days off: none). True if changed."""
    from webapp.admin.services.agency_admin import get_agency

    get_agency(actor, agency.id)
    try:
        quiet = QuietHours.from_mapping(data)
    except ValueError as e:
        raise ServiceError(f"quiet hours: {e}", f"免打扰时段设置无效：{e}", rule="agency.quiet_hours") from None
    new = quiet.to_dict() if quiet.enabled else {}
    if (agency.quiet_hours or {}) == new:
        return False
    log_event("agency.quiet_hours", user=actor, target_type="agency", target_id=agency.id,
              detail={"from": agency.quiet_hours or {}, "to": new})
    agency.quiet_hours = new
    return True
