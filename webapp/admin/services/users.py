"""Users and roles, managed by administrators (and by operators on the command line).

The scope rule: a government-level administrator (agency_id None) manages every agency's users and
may create other government-level accounts; an agency's administrator manages only the users of
that agency. ``actor=None`` is an operator at the command line (full scope).

An administrator never chooses a password for someone else: creating an account or resetting its
password yields a random one-time password, shown once, that the user must change at the next
login (User.must_change_password). Every change is audit-logged.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from sqlalchemy import func, select

from webapp.errors import Forbidden, NotFound, ServiceError
from webapp.extensions import db
from webapp.models import Agency, Role, User
from webapp.trust.audit import log_event
from webapp.trust.passwords import hash_password, password_problem

from .agency_admin import reject_control_chars

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,80}$")
ROLE_CODES = tuple(r.value for r in Role)


def manageable_agency_ids(actor: User | None) -> list[int] | None:
    """The agencies whose users ``actor`` manages; None means all (government level or operator)."""
    if actor is None or actor.agency_id is None:
        return None
    return [actor.agency_id]


def may_manage(actor: User | None, agency_id: int | None) -> bool:
    scope = manageable_agency_ids(actor)
    if scope is None:
        return True
    return agency_id is not None and agency_id in scope


def users_for(actor: User | None, *, search: str = "") -> list[User]:
    q = select(User).order_by(User.agency_id.is_not(None), User.agency_id, User.username)
    scope = manageable_agency_ids(actor)
    if scope is not None:
        q = q.where(User.agency_id.in_(scope))
    if search:
        like = f"%{search.strip()}%"
        q = q.where((User.username.ilike(like)) | (User.display_name.ilike(like)))
    return list(db.session.scalars(q))


def get_user(actor: User | None, user_id: int) -> User:
    """The user if ``actor`` may manage it; NotFound otherwise (do not confirm other agencies' accounts)."""
    user = db.session.get(User, user_id)
    if user is None or not may_manage(actor, user.agency_id):
        raise NotFound(f"no user {user_id}", "用户不存在")
    return user


def generate_password(user: User | None = None, length: int = 14) -> str:
    """A random password that passes password_problem() for ``user``: letters, digits and a symbol."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = [secrets.choice(alphabet) for _ in range(length - 2)]
        body.append(secrets.choice(string.digits))
        body.append(secrets.choice("#%+=@!"))
        secrets.SystemRandom().shuffle(body)
        pw = "".join(body)
        if any(c.isalpha() for c in pw) and password_problem(pw, user) is None:
            return pw


def _clean_text(value: Any, what_zh: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError(f"{what_zh} must be text", f"{what_zh}须为文本", rule="user.invalid")
    value = reject_control_chars(value.strip(), what_zh)
    if required and not value:
        raise ServiceError(f"{what_zh} is required", f"请填写{what_zh}", rule="user.invalid")
    if len(value) > limit:
        raise ServiceError(f"{what_zh} is longer than {limit}", f"{what_zh}不超过{limit}字", rule="user.invalid")
    return value


def _check_role(role: Any) -> str:
    if role not in ROLE_CODES:
        raise ServiceError(f"role must be one of {', '.join(ROLE_CODES)}", "角色无效", rule="user.role")
    return role


def _check_agency(actor: User | None, agency_id: Any) -> int | None:
    if agency_id in ("", None):
        if manageable_agency_ids(actor) is not None:
            raise Forbidden("only a government-level administrator may create government-level accounts",
                            "只有政府层级管理员可以设置不隶属具体机关的账户", rule="user.scope")
        return None
    try:
        agency_id = int(agency_id)
    except (TypeError, ValueError):
        raise ServiceError("agency must be an id", "所属机关无效", rule="user.agency") from None
    if db.session.get(Agency, agency_id) is None:
        raise ServiceError("no such agency", "所属机关不存在", rule="user.agency")
    if not may_manage(actor, agency_id):
        raise Forbidden("you manage only your own agency's users", "您只能管理本机关的用户", rule="user.scope")
    return agency_id


def _clean_email(email: Any) -> str:
    """A user's e-mail address: empty, or one address (webapp/domain/email_address.py)."""
    from webapp.cases.services.applicants import check_email_address

    email = _clean_text(email, "电子邮箱", 200)
    return check_email_address(email, rule="user.email") if email else ""


def create_user(actor: User | None, *, username: str, display_name: str, role: str,
                agency_id: int | None, email: str = "") -> tuple[User, str]:
    """A new account with a one-time password (returned, shown once, to be changed at first login)."""
    username = _clean_text(username, "用户名", 80, required=True)
    if not USERNAME_RE.match(username):
        raise ServiceError("username: 3-80 letters, digits, '_', '.', '-'",
                           "用户名须为3至80位字母、数字或 _ . -", rule="user.username")
    if db.session.scalar(select(func.count(User.id)).where(func.lower(User.username) == username.lower())):
        raise ServiceError(f"username {username} is taken", f"用户名 {username} 已被使用", rule="user.duplicate")
    display_name = _clean_text(display_name, "姓名", 100, required=True)
    email = _clean_email(email)
    role = _check_role(role)
    agency_id = _check_agency(actor, agency_id)
    user = User(username=username, display_name=display_name, role=role, agency_id=agency_id, email=email,
                must_change_password=True, active=True, failed_logins=0)
    password = generate_password(user)
    user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    log_event("admin.user_created", user=actor, target_type="user", target_id=user.id,
              detail={"username": username, "role": role, "agency_id": agency_id})
    return user, password


def update_user(actor: User | None, user: User, *, display_name: str | None = None, email: str | None = None,
                role: str | None = None, agency_id: Any = ..., active: bool | None = None) -> dict[str, list]:
    """Change what is given; returns {field: [old, new]} of what changed (also audit-logged)."""
    if not may_manage(actor, user.agency_id):
        raise NotFound(f"no user {user.id}", "用户不存在")
    changes: dict[str, list] = {}
    new: dict[str, Any] = {}
    if display_name is not None:
        new["display_name"] = _clean_text(display_name, "姓名", 100, required=True)
    if email is not None:
        new["email"] = _clean_email(email)
    if role is not None:
        new["role"] = _check_role(role)
    if agency_id is not ...:
        new["agency_id"] = _check_agency(actor, agency_id)
    if active is not None:
        new["active"] = bool(active)
    for key, value in new.items():
        if getattr(user, key) != value:
            changes[key] = [getattr(user, key), value]
    if actor is not None and user.id == actor.id and (
            "role" in changes or "agency_id" in changes or changes.get("active") == [True, False]):
        raise ServiceError("you cannot change your own role, agency or deactivate yourself",
                           "不能修改自己的角色、所属机关，也不能停用自己的账户", rule="user.self")
    for key, (_old, value) in changes.items():
        setattr(user, key, value)
    if changes:
        db.session.flush()
        log_event("admin.user_updated", user=actor, target_type="user", target_id=user.id,
                  detail={"username": user.username, "changes": changes})
    return changes


def reset_password(actor: User | None, user: User) -> str:
    """A new one-time password; the user must change it at the next login. Also lifts a lock-out."""
    if not may_manage(actor, user.agency_id):
        raise NotFound(f"no user {user.id}", "用户不存在")
    password = generate_password(user)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.end_sessions()           # whoever held a session of this account is logged out
    was_locked = user.locked_at is not None
    user.locked_at = None
    user.failed_logins = 0
    db.session.flush()
    log_event("admin.password_reset", user=actor, target_type="user", target_id=user.id,
              detail={"username": user.username, "unlocked": was_locked})
    return password


def unlock_user(actor: User | None, user: User) -> bool:
    """Lift a lock-out after repeated failed logins; False when the account was not locked."""
    if not may_manage(actor, user.agency_id):
        raise NotFound(f"no user {user.id}", "用户不存在")
    if user.locked_at is None and not user.failed_logins:
        return False
    locked_at = user.locked_at
    user.locked_at = None
    user.failed_logins = 0
    db.session.flush()
    log_event("admin.user_unlocked", user=actor, target_type="user", target_id=user.id,
              detail={"username": user.username, "locked_at": locked_at.isoformat() if locked_at else None})
    return True


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))

