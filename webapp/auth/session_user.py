"""The signed-in user of a request, read as a row (auth/login.load_user): a plain object with the
user's session columns (``SESSION_USER_COLUMNS``) and ``agency``, the agency's ORM row (persistent in
the request's session, so ``case.agency`` and ``db.session.get(Agency, ...)`` find it without a
statement). Making an ORM User per request (the ORM's row loading, attaching it to the session,
instrumented attribute reads) cost more Python than the statement that reads it.

It behaves as the User wherever the session user is used: the same attributes, ``get_id``,
``is_active``/``is_authenticated`` (Flask-Login), equality with a User of the same id and session epoch
(UserMixin); any other attribute (``email``, ``mobile``, ``notify_via``, the password columns) is
read from the User row itself (``entity()``: one statement, then the session's identity map). It is
read-only: a change is made on ``entity()`` (the password change, the logout, the reminder choice),
so that an assignment to the copy can never be lost silently.
"""

from __future__ import annotations

from typing import Any

from flask_login import UserMixin

from webapp.extensions import db
from webapp.models import User


class SessionUser(UserMixin):
    """The session user's columns and its agency (an Agency row, or None), as load_user read them."""

    # one implementation each, the User's (models/user.py)
    get_id = User.get_id
    __repr__ = User.__repr__
    # Flask-Login's flags (UserMixin: is_authenticated is is_active), the instance's values: fixed, as
    # the copy is read-only (a page asks ~15 times; UserMixin's properties cost two calls a time)
    is_active = is_authenticated = False

    def __init__(self, columns: dict[str, Any]) -> None:
        values = self.__dict__
        values.update(columns)
        values["is_active"] = values["is_authenticated"] = User.is_active.fget(self)

    def entity(self) -> User:
        """The User row of this user (the session's, read once)."""
        return db.session.get(User, self.__dict__["id"])

    def __getattr__(self, name: str) -> Any:
        # only for a name the row does not hold: a column left unloaded, a method of the User
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.entity(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the session user is read-only: set {name!r} on its entity()")


def as_entity(user: Any) -> Any:
    """The User row of ``user`` (the session user's, or ``user`` itself: already a row, or None)."""
    return user.entity() if isinstance(user, SessionUser) else user
