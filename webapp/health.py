"""``GET /healthz``: what a load balancer or monitor asks. Each part is checked separately.

    {"ok": true,  "status": "ok",       "db": true,  "redis": true,  "broker": true}    200
    {"ok": true,  "status": "degraded", "db": true,  "redis": false, "broker": false}   200
    {"ok": false, "status": "down",     "db": false, "redis": true,  "broker": true}    503

- ``db``: ``SELECT 1`` on the database. Without it nothing works: HTTP 503.
- ``redis``: PING on ``REDIS_URL`` (rate-limit storage; null when no Redis is configured). Without it
  the service still serves everyone: rate limits count in each process's memory and mail waits in the
  outbox for the periodic delivery; ``status`` says "degraded".
- ``broker``: the Celery broker, when it is Redis (PING; the same answer as ``redis`` when it is the
  same server); null for the embedded SQLite broker, which lives beside the data.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify
from sqlalchemy import text

from webapp.extensions import db

log = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 1.0


def redis_ping(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=PING_TIMEOUT_SECONDS,
                                      socket_timeout=PING_TIMEOUT_SECONDS)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as e:   # any failure means "not reachable" for the probe
        log.warning("health check: Redis at %s unreachable: %s", _safe(url), e)
        return False


def _safe(url: str) -> str:
    """The URL without a password, for the log."""
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.rpartition("@")[2] if sep else url


def database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception as e:
        log.error("health check: database unreachable: %s", e)
        db.session.rollback()
        return False


def health() -> tuple[dict[str, Any], int]:
    config = current_app.config
    db_ok = database_ok()
    redis_url = config.get("REDIS_URL") or ""
    redis_ok = redis_ping(redis_url) if redis_url else None
    broker_url = str((config.get("CELERY") or {}).get("broker_url") or "")
    if not broker_url.startswith(("redis://", "rediss://")):
        broker_ok = None
    elif broker_url == redis_url:
        broker_ok = redis_ok
    else:
        broker_ok = redis_ping(broker_url)
    if not db_ok:
        status = "down"
    elif redis_ok is False or broker_ok is False:
        status = "degraded"
    else:
        status = "ok"
    body = {"ok": db_ok, "status": status, "db": db_ok, "redis": redis_ok, "broker": broker_ok}
    return body, 200 if db_ok else 503


def install_health_check(app: Flask) -> None:
    from webapp.security import public

    @app.get("/healthz")
    @public
    def healthz():
        body, status = health()
        resp = jsonify(body)
        resp.status_code = status
        resp.headers["Cache-Control"] = "no-store"
        return resp
