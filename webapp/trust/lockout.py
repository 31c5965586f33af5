"""Temporary lock-out after failed logins, with a growing back-off.

The state lives on the user row, so it holds across web processes: ``User.failed_logins`` counts
wrong passwords in a row, ``User.locked_at`` is when the current lock began. The fifth failure in a
row locks the account for one minute; each further failure after a lock has run out locks it again
for twice as long (2, 4, 8 ... minutes), at most an hour. While a lock runs, no password is checked
and no failure is counted; the login page answers exactly as for a wrong password, whether the
password given is right or not. A right password after the lock has run out logs in and clears
both fields; so does an administrator's unlock or password reset (admin/services/users.py).

A lock does not end sessions already open: a stranger guessing passwords must not be able to log
out every clerk. The account's owner is told by mail (once per lock, not per failure) so that a lock
they did not cause is noticed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webapp.models import User

LOCK_AFTER = 5                      # failures in a row before the first lock
FIRST_LOCK = timedelta(minutes=1)   # doubled for every further failure
MAX_LOCK = timedelta(hours=1)


def lock_duration(failed_logins: int) -> timedelta | None:
    """How long a lock lasts after ``failed_logins`` failures in a row (None: no lock yet)."""
    if failed_logins < LOCK_AFTER:
        return None
    steps = min(failed_logins - LOCK_AFTER, 12)     # 2**12 minutes is far past the cap
    return min(FIRST_LOCK * (2 ** steps), MAX_LOCK)


def locked_until(user: User) -> datetime | None:
    """When the user's current (or last) lock ends, naive UTC as stored; None if never locked."""
    duration = lock_duration(user.failed_logins or 0)
    if user.locked_at is None or duration is None:
        return None
    return user.locked_at + duration


def is_locked(user: User, now: datetime) -> bool:
    """``now`` is naive UTC (models._types.utcnow)."""
    until = locked_until(user)
    return until is not None and now < until


def notify_owner(user: User, until: datetime) -> None:
    """Queue one mail to the account's owner for this lock (deduplicated on the lock's start)."""
    from webapp.notify.outbox import base_url, queue_mail, request_delivery
    from webapp.timeutil import SHANGHAI

    if "@" not in (user.email or ""):
        return
    local = until.replace(tzinfo=UTC).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    body = (f"{user.display_name}：\n\n"
            f"您的账户 {user.username} 因连续 {user.failed_logins} 次登录密码错误，已被暂时锁定至 {local}（北京时间）。"
            f"锁定期间任何密码都不能登录；已登录的会话不受影响。\n\n"
            f"如果这些登录尝试不是您本人所为，可能有人在猜测您的密码，请联系系统管理员，"
            f"并在登录后修改密码。系统管理员可以在“系统管理 → 用户与角色”中提前解除锁定。\n\n"
            f"{base_url()}/login\n")
    if queue_mail(user.email.strip(), "账户已被暂时锁定", body,
                  dedupe_key=f"account-locked:{user.id}:{user.locked_at.isoformat()}",
                  agency_id=user.agency_id) is not None:
        request_delivery()
