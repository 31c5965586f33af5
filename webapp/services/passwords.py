"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

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


MIN_LENGTH = 10


def password_problem(password: str) -> str | None:
    """A reason in Chinese why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"密码至少{MIN_LENGTH}位。"
    kinds = sum([any(c.isdigit() for c in password), any(c.isalpha() for c in password),
                 any(not c.isalnum() for c in password)])
    if kinds < 2:
        return "密码须包含字母、数字、符号中的至少两类。"
    return None
