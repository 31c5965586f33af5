"""Password hashing with argon2id (argon2-cffi), and the password policy (password_problem)."""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 30 ms here, so a
# login stays cheap for the server while a guess stays expensive offline. Configurable through
# PASSWORD_HASH_{TIME_COST,MEMORY_KIB,PARALLELISM}; hashes record their own parameters, so
# changing them never locks anyone out.
DEFAULTS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
_hashers: dict[tuple[int, int, int], PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    params = dict(DEFAULTS)
    try:
        from flask import current_app, has_app_context

        if has_app_context():
            cfg = current_app.config
            params = {"time_cost": int(cfg.get("PASSWORD_HASH_TIME_COST", params["time_cost"])),
                      "memory_cost": int(cfg.get("PASSWORD_HASH_MEMORY_KIB", params["memory_cost"])),
                      "parallelism": int(cfg.get("PASSWORD_HASH_PARALLELISM", params["parallelism"]))}
    except ImportError:  # pragma: no cover - Flask is always installed here
        pass
    key = (params["time_cost"], params["memory_cost"], params["parallelism"])
    if key not in _hashers:
        _hashers[key] = PasswordHasher(**params)
    return _hashers[key]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- the password policy (every place that sets a password: the self change, an administrator's
# create/reset and `flask users create` through admin/services/users.generate_password, seed-demo) ---------

MIN_LENGTH = 12          # staff accounts; applicants have no password (they use a query code)
MIN_SCORE = 3            # zxcvbn 0-4: 3 is "safely unguessable" (about 10^8 guesses or more)

MSG_TOO_SHORT = f"密码至少{MIN_LENGTH}个字符。"
MSG_SAME_AS_OLD = "新密码不能与原密码相同。"
MSG_HAS_USERNAME = "密码不能包含用户名。"
MSG_PERSONAL = "密码不能由姓名、电子邮箱或所属机关名称等个人信息组成，请换一个。"
MSG_TOO_COMMON = "密码太常见或太容易猜到，请换一个更长、更不规则的密码（例如几个不相关的词加数字和符号）。"


def user_inputs(user: Any) -> list[str]:
    """What a guesser knows about the account: username, name, e-mail (and its local part),
    the agency's name and code."""
    words = [getattr(user, "username", "") or "", getattr(user, "display_name", "") or "",
             getattr(user, "email", "") or ""]
    email = words[2]
    if "@" in email:
        words.append(email.split("@", 1)[0])
    agency = getattr(user, "agency", None)
    if agency is None and getattr(user, "agency_id", None) is not None:
        from webapp.extensions import db
        from webapp.models.agency import Agency

        agency = db.session.get(Agency, user.agency_id)
    if agency is not None:
        words += [agency.name or "", agency.code or ""]
    out: list[str] = []
    for word in words:   # also each part, and the whole without separators ("Wang Fang" -> wangfang)
        parts = [p for p in re.split(r"[\W_]+", word) if len(p) >= 3]
        out += [word, "".join(re.split(r"[\W_]+", word)), *parts]
    return list(dict.fromkeys(w for w in out if w))


def password_problem(password: str, user: Any = None, *, current_hash: str | None = None) -> str | None:
    """The reason in Chinese why ``password`` may not be set for ``user`` (None: acceptable).

    Refused: shorter than 12 characters; the password the user has now (``current_hash``, else the
    user's stored hash); one that contains the username; one that zxcvbn, told the user's own
    details (user_inputs), scores below 3 - common passwords, keyboard walks, dates, names.
    """
    from zxcvbn import zxcvbn

    if len(password) < MIN_LENGTH:
        return MSG_TOO_SHORT
    stored = current_hash if current_hash is not None else getattr(user, "password_hash", None)
    if stored and verify_password(stored, password):
        return MSG_SAME_AS_OLD
    username = (getattr(user, "username", "") or "").lower()
    if len(username) >= 3 and username in password.lower():
        return MSG_HAS_USERNAME
    inputs = user_inputs(user) if user is not None else []
    result = zxcvbn(password[:100], user_inputs=inputs)   # zxcvbn is slow on very long input
    if result["score"] >= MIN_SCORE:
        return None
    if any(m.get("dictionary_name") == "user_inputs" for m in result.get("sequence", [])):
        return MSG_PERSONAL
    return MSG_TOO_COMMON
