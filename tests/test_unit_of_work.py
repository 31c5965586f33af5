"""One commit per request (webapp/platform/unit_of_work.py): a handler's change is committed exactly once
after success, before the response goes out; an error response, an exception or a failed commit leaves
nothing; keep_on_error() keeps a refusal's rows; after-commit hooks run after that one commit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Blueprint, Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from config import TestConfig
from webapp import create_app
from webapp.extensions import db
from webapp.models import AuditLog
from webapp.platform.unit_of_work import keep_on_error

probe = Blueprint("uow_probe", __name__)


def _add(action: str) -> None:
    db.session.add(AuditLog(action=action, target_type="test", target_id="uow"))
    db.session.flush()


@probe.post("/uow/ok")
def ok():
    _add("uow.ok")
    return "done", 200


@probe.post("/uow/redirect")
def redirected():
    _add("uow.redirect")
    return "", 303, {"Location": "/"}


@probe.post("/uow/refused")
def refused():
    _add("uow.refused")
    return "refused", 422


@probe.post("/uow/kept")
def kept():
    _add("uow.kept")
    keep_on_error()
    return "throttled", 429


@probe.post("/uow/raises")
def raises():
    _add("uow.raises")
    raise RuntimeError("a fault after the change")


@probe.post("/uow/commit-fails")
def commit_fails():
    _add("uow.commit_fails")
    db.session().info["uow_test_fail_commit"] = True
    return "done", 200


@probe.get("/uow/read")
def read_only():
    return str(db.session.scalar(select(func.count(AuditLog.id))))


@pytest.fixture
def uow_app(app: Flask, database_url: str, tmp_path) -> Iterator[Flask]:
    """A second app on the session's database (schema made by ``app``) with probe routes; errors are
    answered by the error pages, as in production."""
    probe_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_FOLDER=str(tmp_path),
                           PROPAGATE_EXCEPTIONS=False)
    probe_app.register_blueprint(probe)
    yield probe_app
    with probe_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def commits() -> Iterator[list[str]]:
    """The actions of the audit rows in each commit, one entry per commit of any session."""
    seen: list[str] = []

    def before_commit(session: Session) -> None:
        if session.info.pop("uow_test_fail_commit", False):
            raise RuntimeError("the database refused the commit")

    def after_commit(session: Session) -> None:
        seen.append("commit")

    event.listen(Session, "before_commit", before_commit)
    event.listen(Session, "after_commit", after_commit)
    yield seen
    event.remove(Session, "before_commit", before_commit)
    event.remove(Session, "after_commit", after_commit)


def _stored(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(select(AuditLog.action).where(AuditLog.target_type == "test")).all()
        db.session.remove()
        return sorted(rows)


@pytest.mark.parametrize(("path", "status"), [("/uow/ok", 200), ("/uow/redirect", 303)])
def test_a_successful_handler_is_committed_exactly_once(uow_app, commits, path, status):
    r = uow_app.test_client().post(path)
    assert r.status_code == status
    assert commits == ["commit"]
    assert _stored(uow_app) == ["uow." + path.rsplit("/", 1)[1]]


def test_an_error_response_rolls_back(uow_app, commits):
    r = uow_app.test_client().post("/uow/refused")
    assert r.status_code == 422
    assert commits == []
    assert _stored(uow_app) == []


def test_keep_on_error_commits_an_error_response_once(uow_app, commits):
    r = uow_app.test_client().post("/uow/kept")
    assert r.status_code == 429
    assert commits == ["commit"]
    assert _stored(uow_app) == ["uow.kept"]


def test_an_exception_rolls_back_and_gives_the_error_page(uow_app, commits):
    r = uow_app.test_client().post("/uow/raises")
    assert r.status_code == 500
    assert "系统错误" in r.get_data(as_text=True)
    assert commits == []
    assert _stored(uow_app) == []


def test_a_failed_commit_gives_the_error_page_not_a_success(uow_app, commits):
    r = uow_app.test_client().post("/uow/commit-fails")
    assert r.status_code == 500
    assert "系统错误" in r.get_data(as_text=True)
    assert commits == []
    assert _stored(uow_app) == []


def test_after_commit_hooks_run_after_the_one_commit(uow_app, commits, monkeypatch):
    from webapp.notify import outbox
    from webapp.notify.outbox import delivery

    asked: list[int] = []
    monkeypatch.setattr(delivery, "enqueue_delivery", lambda app=None: asked.append(len(commits)) or True)

    @uow_app.post("/uow/mail")
    def mail():
        _add("uow.mail")
        outbox.request_delivery()
        return "queued", 200

    r = uow_app.test_client().post("/uow/mail")
    assert r.status_code == 200
    assert asked == [1]          # enqueued once, after the first (and only) commit
    assert commits == ["commit"]


def test_a_read_only_request_changes_nothing(uow_app, commits):
    assert uow_app.test_client().get("/uow/read").get_data(as_text=True) == "0"
    assert _stored(uow_app) == []


def test_the_requests_commit_leaves_its_objects_unexpired(uow_app, commits):
    """The request's one commit does not expire the objects it loaded (nothing reads them after it: the
    session goes at the request's end; expiring each cost about 2% of a page's CPU), and the session's
    own setting is left as it was for any later commit."""
    seen: dict = {}

    @uow_app.post("/uow/loaded")
    def loaded():
        from sqlalchemy import inspect

        _add("uow.loaded")
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "uow.loaded"))
        seen["row"], seen["inspect"], seen["session"] = row, inspect, db.session()
        return "done", 200

    with uow_app.app_context():     # the request's session is this context's: it outlives the request here
        assert uow_app.test_client().post("/uow/loaded").status_code == 200
        assert commits == ["commit"]
        assert seen["inspect"](seen["row"]).expired_attributes == set()      # (expired: every column)
        assert seen["session"].expire_on_commit is True
        db.session.remove()
    assert _stored(uow_app) == ["uow.loaded"]
