"""One commit per request: handlers change rows through services (which flush) and never commit;
the platform commits once the handler has answered with success (a status below 400), before the
response is sent, so a failed commit gives the error page, not a false success, and after-commit
hooks (the outbox's enqueue) run after the commit. An error response or an exception rolls back.

A handler whose error response must still keep what it wrote (the audit row of a refused download,
the throttle count of a wrong query code) says so with ``keep_on_error()``. The error pages keep
their own audit rows (webapp/platform/errors.py). CLI commands and tasks are outside any request:
each ends its transaction with one ``db.session.commit()`` of its own.
"""

from __future__ import annotations

from flask import Flask, Response

from webapp.extensions import db

_KEEP_ON_ERROR = "unit_of_work.keep_on_error"


def keep_on_error() -> None:
    """Commit this request's changes even though its response is an error (4xx)."""
    db.session().info[_KEEP_ON_ERROR] = True


def finish(response: Response) -> Response:
    """after_request: commit after success (or when kept), else roll back."""
    if not db.session.registry.has():
        return response   # the request never used the database (a static file, a redirect)
    session = db.session()
    keep = session.info.pop(_KEEP_ON_ERROR, False)
    if response.status_code < 400 or (keep and response.status_code < 500):
        if session.in_transaction():
            # the request's objects are not expired by its last commit: nothing reads them after it
            # (the session goes at the request's end), and expiring each cost ~2% of a page's CPU
            expire, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = expire
    elif session.in_transaction():
        session.rollback()
    return response


def _forget(_exc: BaseException | None = None) -> None:
    """A request that ended in an exception never reached ``finish``: its flag goes with it."""
    if db.session.registry.has():
        db.session().info.pop(_KEEP_ON_ERROR, None)


def install(app: Flask) -> None:
    app.after_request(finish)
    app.teardown_request(_forget)
