"""Checking a login: password, temporary lock-out after repeated failures, and the audit trail.

Every attempt is logged (trust/audit.log_event): ``auth.login`` on success,
``auth.login_failed`` for a wrong password or unknown name, ``auth.login_refused`` for a locked or
disabled account, ``auth.locked`` when a failure locks the account (trust/lockout.py: five in a
row lock it for a minute, each further failure after that doubles the lock, at most an hour). While
a lock runs the answer is the same words, and the same status, for the right password, a wrong one
and a name that does not exist: the page never tells whether an account exists or is locked. The
owner learns of the lock by mail. A disabled account is named as such only to someone who gives
its right password while it is not locked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from webapp.cases.services.calendar import FINGERPRINT, fingerprint_columns
from webapp.extensions import db
from webapp.models import Agency, User
from webapp.models._types import utcnow
from webapp.models.loaded import as_loaded
from webapp.platform.header import counts_columns, remember_counts
from webapp.prebuilt import prebuilt
from webapp.request_memo import page_memo, remember
from webapp.security import departments_column, remember_departments
from webapp.trust.audit import log_event
from webapp.trust.lockout import LOCK_AFTER, is_locked, locked_until, notify_owner
from webapp.trust.passwords import hash_password, verify_password

from .session_user import SessionUser, as_entity

MAX_FAILED_LOGINS = LOCK_AFTER
LOGIN_RATE = "10/minute"            # per address
ACCOUNT_LOGIN_RATE = "5/minute"     # per account name, from any address (whether the name exists or not)

MSG_BAD_CREDENTIALS = "用户名或密码错误。"
MSG_INACTIVE = "该账户已停用，请联系系统管理员。"

_dummy_hash: str | None = None


def _burn_time(password: str) -> None:
    """Verify against a throw-away hash so that an unknown name takes as long as a known one."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-real-password-0")
    verify_password(_dummy_hash, password)


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    message_zh: str | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def attempt_login(username: str, password: str) -> LoginResult:
    """Check one attempt and record it; the caller commits (also on failure: the count is data)."""
    username = (username or "").strip()
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        _burn_time(password)
        log_event("auth.login_failed", username=username[:80], target_type="user",
                  detail={"reason": "unknown_user"})
        return LoginResult(None, MSG_BAD_CREDENTIALS)
    now = utcnow()
    if not check_own_password(user, password, now, failed_action="auth.login_failed"):
        # the same words as for an unknown name: the page does not confirm that an account exists
        return LoginResult(None, MSG_BAD_CREDENTIALS)
    if not user.active:
        log_event("auth.login_refused", user=user, target_type="user", target_id=user.id,
                  detail={"reason": "inactive"})
        return LoginResult(None, MSG_INACTIVE)
    user.failed_logins = 0
    user.locked_at = None
    user.last_login_at = now
    log_event("auth.login", user=user, target_type="user", target_id=user.id)
    return LoginResult(user)


def check_own_password(user: User, password: str, now, *, failed_action: str) -> bool:
    """The user's own password, under the lock-out (login and the password change alike, so a stolen
    session cannot guess the password there): while locked no password is checked (a hash is still
    computed, so this takes as long as a check) and the right one is refused like a wrong one; a
    wrong one counts toward the lock. Logs the outcome; the caller commits (the count is data).
    ``user``: a User row (the session user's: its ``entity()``, which reads every column)."""
    user = as_entity(user)
    unloaded = inspect(user).unloaded.intersection(_PASSWORD_COLUMNS)
    if unloaded:        # a row read with some columns only: one statement for them all
        db.session.refresh(user, sorted(unloaded))
    if is_locked(user, now):
        _burn_time(password)
        log_event("auth.login_refused", user=user, target_type="user", target_id=user.id,
                  detail={"reason": "locked", "until": locked_until(user).isoformat()})
        return False
    if user.check_password(password):
        return True
    # counted in SQL (UPDATE ... SET failed_logins = failed_logins + 1): two processes failing at
    # once both count; the value is read back after the flush
    user.failed_logins = func.coalesce(User.failed_logins, 0) + 1
    db.session.flush()
    if user.failed_logins >= LOCK_AFTER:
        user.locked_at = now
        until = locked_until(user)
        log_event("auth.locked", user=user, target_type="user", target_id=user.id,
                  detail={"failed_logins": user.failed_logins, "until": until.isoformat()})
        notify_owner(user, until)
        return False
    log_event(failed_action, user=user, target_type="user", target_id=user.id,
              detail={"reason": "bad_password", "failed_logins": user.failed_logins})
    return False


# The session user's columns that pages read (who, what role, the session checks) and its agency's
# (name, kind, the policies a deadline needs, what a letter prints). The others are not read with
# them: the password and lock-out columns (read by the password change: check_own_password),
# the profile's (e-mail, mobile, notify_via: the profile page), the dates (the user's: SessionUser
# reads them from its User row, entity()), the agency's quiet hours (left unloaded); a page that
# reads one sends a statement for it (tests/views/test_fixed_cost_round2.py: none on the loop's pages).
SESSION_USER_COLUMNS = (User.id, User.agency_id, User.username, User.display_name, User.role, User.active,
                        User.must_change_password, User.session_epoch)
SESSION_AGENCY_COLUMNS = (Agency.id, Agency.code, Agency.name, Agency.kind, Agency.parent_id, Agency.address,
                          Agency.postcode, Agency.phone, Agency.email, Agency.policies)
_PASSWORD_COLUMNS = ("password_hash", "failed_logins", "locked_at")


def _user_statement(with_counts: bool):
    """The session user's columns and its agency's (``SESSION_USER_COLUMNS``, ``SESSION_AGENCY_COLUMNS``,
    the agency joined under an alias: departments_column reads ``agency`` itself), the calendar's
    fingerprint and the agency's departments (which visible_agency_ids reads), and for a GET page the
    header's counts (platform/header.py); its value is the parameter ``user_id`` (built once per
    process: webapp/prebuilt.py). A statement of columns: load_user makes the entities (_session_user)."""
    count, entered = fingerprint_columns()
    counts = counts_columns(User.id, User.agency_id) if with_counts else ()
    agency = aliased(Agency, name="session_agency")
    return (select(*SESSION_USER_COLUMNS, *(getattr(agency, c.key) for c in SESSION_AGENCY_COLUMNS),
                   count, entered, departments_column(), *counts)
            .join_from(User, agency, User.agency_id == agency.id, isouter=True)
            .where(User.id == bindparam("user_id")))


_USER_KEYS = tuple(c.key for c in SESSION_USER_COLUMNS)
_AGENCY_KEYS = tuple(c.key for c in SESSION_AGENCY_COLUMNS)
_N_USER, _N_BOTH = len(_USER_KEYS), len(_USER_KEYS) + len(_AGENCY_KEYS)


def _entity(session, cls, keys: tuple[str, ...], values):
    """The persistent ``cls`` of a row's ``values`` (``keys``, the id first) and whether it was made
    now. Made (the usual case: a request's session is empty) from the values without the ORM's
    loading machinery (models/loaded.as_loaded), as if loaded with those columns, the others
    unloaded and read in one statement on first access; the caller attaches it (Session.add). Held by
    the session already: that one, its unloaded ones of ``values`` filled in, as a query gives it."""
    found = session.identity_map.get(cls.__mapper__.identity_key_from_primary_key((values[0],)))
    if found is not None:
        loaded = found.__dict__
        for key, value in zip(keys, values, strict=True):
            if key not in loaded:
                set_committed_value(found, key, value)
        return found, False
    return as_loaded(cls, zip(keys, values, strict=True)), True


def _session_user(session, row) -> SessionUser:
    """The session user of its row: a SessionUser of the user's columns (auth/session_user.py) with
    its agency, the Agency made from the agency's columns (_entity) and persistent in the session (its
    identity map gives it to ``case.agency``, ``db.session.get(Agency, ...)``)."""
    agency = None
    if row[_N_USER] is not None:
        agency, made = _entity(session, Agency, _AGENCY_KEYS, row[_N_USER:_N_BOTH])
        if made:
            session.add(agency)
    columns = dict(zip(_USER_KEYS, row[:_N_USER], strict=True))
    columns["agency"] = agency
    return SessionUser(columns)


def load_user(user_id: str) -> SessionUser | None:
    """Flask-Login's user loader: a disabled account loses its session at once, and so does a
    session signed before the user's last logout or password change ("id.epoch"; a bare id is
    epoch 0). A temporary lock-out does not end open sessions (trust/lockout.py). The user is a
    SessionUser (auth/session_user.py: read-only; ``entity()`` is the User row)."""
    ident, _, epoch = str(user_id).partition(".")
    try:
        epoch_n = int(epoch) if epoch else 0
        user_id = int(ident)
    except (TypeError, ValueError):
        return None
    if not 0 < user_id < 2**63:
        return None
    # One statement: the user with the agency (every staff page shows its name and checks its kind),
    # the calendar's fingerprint (every page with a deadline asks for it) and the agency's departments
    # (every case page and list asks for the visible agencies), the last two kept for a GET request;
    # on a GET page also the header's counts (every page shows them), kept for the request; a POST
    # keeps the fingerprint for a registration (request_memo.as_read).
    memo = page_memo()      # a GET page's (None for a POST: read afresh)
    page = memo is not None
    session = db.session()
    session._autoflush()    # as a query of entities does (in a request, nothing is pending yet)
    # a statement of columns on the session's connection: the ORM's execution and row processing
    # cost more Python than the statement itself (_session_user makes the user and its agency)
    row = session.connection().execute(prebuilt(("load_user", page), lambda: _user_statement(page)),
                                       {"user_id": user_id}).first()
    if row is None:
        return None
    user = _session_user(session, row)
    extra = row[_N_BOTH:]
    remember(FINGERPRINT, (extra[0], extra[1]))     # a POST keeps it only for request_memo.as_read
    if page:
        remember_departments(user.agency_id, extra[2], memo)
    if not user.active or (user.session_epoch or 0) != epoch_n:
        return None
    if page:
        remember_counts(memo, user, extra[3], extra[4], extra[5])
    return user
