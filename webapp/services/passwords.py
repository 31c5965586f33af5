"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
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
