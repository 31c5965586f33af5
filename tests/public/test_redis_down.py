"""Redis down: the service degrades instead of failing. An app configured with REDIS_URL on a port where
nothing listens (rate-limit storage and Celery broker both there): logging in, applying, looking up a
status and the API all work, rate limits count in memory (a warning is logged), mail waits in the
outbox, and /healthz says which part is down. A database that is down is a 503."""

from __future__ import annotations

import logging
import socket

from sqlalchemy import select

from config import TestConfig, _celery_settings
from webapp import create_app
from webapp.domain.states import MailStatus
from webapp.extensions import db, limiter
from webapp.models import OutboxMail

from .conftest import PASSWORD
from .test_public_views import submit_form


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_down(port: int) -> dict:
    dead = f"redis://127.0.0.1:{port}/0"
    # what config.Config makes of REDIS_URL=dead
    return {"REDIS_URL": dead, "RATELIMIT_STORAGE_URI": dead, "RATELIMIT_ENABLED": True,
            "CELERY": _celery_settings(dead)}


def test_everything_works_while_redis_is_down(make_app, world, api_token, caplog, monkeypatch):
    caplog.set_level(logging.WARNING)
    # the limiter is one object for every app: its "storage is down" state is put back afterwards
    monkeypatch.setattr(limiter, "_storage_dead", False)
    token = api_token("SWJ")
    app = make_app(**redis_down(closed_port()), PUBLIC_LOOKUP_RATE="3 per hour")
    client = app.test_client()

    r = client.post("/login", data={"username": "clerk", "password": PASSWORD})
    assert r.status_code == 302
    assert any("falling back to in-memory storage" in rec.getMessage() for rec in caplog.records)
    client.post("/logout")

    r, number, code = submit_form(client, email="zhangsan@example.com")
    assert r.status_code == 200 and number and code
    with app.app_context():
        # the receipt mail is queued; its delivery could not be enqueued and waits for the sweep
        mail = db.session.scalar(select(OutboxMail).where(OutboxMail.to_addr == "zhangsan@example.com"))
        assert mail is not None and mail.status == MailStatus.PENDING
        db.session.remove()
    assert any("could not enqueue mail delivery" in rec.getMessage() for rec in caplog.records)

    r = client.post("/status", data={"number": number, "code": code})
    assert r.status_code == 200 and number in r.get_data(as_text=True)

    r = client.get(f"/api/v1/applications/{number}", headers={"Authorization": f"Bearer {token}",
                                                              "X-Query-Code": code})
    assert r.status_code == 200 and r.mimetype == "application/json" and r.get_json()["number"] == number

    # the limits still hold, counted in this process's memory: 3 per hour for the look-up
    statuses = [client.post("/status", data={"number": "X", "code": "Y"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]

    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"ok": True, "status": "degraded", "db": True, "redis": False, "broker": False}


def test_healthz_with_redis_up(make_app, world):
    import os

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + "/0"
    app = make_app(REDIS_URL=url, CELERY=_celery_settings(url))
    r = app.test_client().get("/healthz")
    assert (r.status_code, r.get_json()) == (200, {"ok": True, "status": "ok", "db": True, "redis": True,
                                                   "broker": True})


def test_healthz_503_when_the_database_is_down(tmp_path, monkeypatch):
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    monkeypatch.setattr(limiter, "initialized", limiter.initialized)
    dead_db = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nothing"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=dead_db, UPLOAD_FOLDER=str(tmp_path))
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json() == {"ok": False, "status": "down", "db": False, "redis": None, "broker": None}
