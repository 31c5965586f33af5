"""Who may change what across agencies, and the text every administrator's input must pass (no control
characters). Shared by agency_admin, calendar_admin and the template administration."""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select

from webapp.errors import Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import Agency, User


def has_control_chars(value: str) -> bool:
    """NUL and other control characters (tab and new lines aside): PostgreSQL refuses NUL in text, and
    none belongs in a name, an address or a template."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in value)


def reject_control_chars(value: str, what_zh: str = "内容") -> str:
    if has_control_chars(value):
        raise ServiceError("text holds control characters", f"{what_zh}含有无法识别的控制字符，请删除后重试",
                           rule="text.control")
    return value


def strip_control_chars(value: str) -> str:
    return "".join(c for c in value if not (unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r"))


def is_government_level(actor: User | None) -> bool:
    return actor is None or actor.agency_id is None


def may_change_installation(actor: User | None) -> bool:
    """Installation-wide settings (the holiday calendar, the letter and mail templates) apply to every
    agency: an administrator of the whole installation (no agency) may change them, and so may the
    administrator of the one top-level agency when there is only one (a government with its
    departments, or a department running the service on its own). A department's administrator under
    a government, or one of several independent agencies, may not change everybody's."""
    if actor is None or actor.agency_id is None:
        return True
    agency = db.session.get(Agency, actor.agency_id)
    if agency is None or agency.parent_id is not None:
        return False
    tops = db.session.scalar(select(func.count(Agency.id)).where(Agency.parent_id.is_(None)))
    return tops == 1


def require_installation_admin(actor: User | None, what_zh: str) -> None:
    if not may_change_installation(actor):
        raise Forbidden("an installation-wide setting: only an administrator of the installation or of "
                        "the top-level agency may change it",
                        f"{what_zh}适用于全部机关，只能由本级政府（或系统）管理员修改。",
                        rule="admin.installation_wide")
