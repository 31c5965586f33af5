"""Celery bound to the Flask app, as pallets/flask's examples/celery does it (``celery_init_app``: a
Task class that runs every task inside an app context; ids and ISO dates in, never objects).

Settings come from the Flask config's ``CELERY`` dict (config.py): Redis when REDIS_URL is set,
else the embedded SQLite broker (``sqla+sqlite:///instance/celery-broker.db``); the fixed ones (JSON
only, Asia/Shanghai, Redis transport options) from webapp/platform/celery.py, the one place for them.

``celery -A workers.celery_app worker`` (and ``beat``) finds ``app`` here: it is built on first
access (module ``__getattr__``), so importing this module has no side effect and the web process,
which only enqueues, uses the enqueue hook create_app registers (webapp/platform/celery.py).

Every setting comes from config.py (read from the environment there, e.g. ``CELERY_DEFAULT_QUEUE``,
``CELERY_VISIBILITY_TIMEOUT``, ``BASE_URL``, ``MAIL_RETRY_BASE_SECONDS``); this module reads none.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from flask import Flask

from webapp.platform import celery as platform_celery

log = logging.getLogger(__name__)

TASK_MODULES = ["workers.tasks.reminders", "workers.tasks.outbox", "workers.tasks.applicants", "workers.tasks.reports"]


def celery_settings(app: Flask) -> dict[str, Any]:
    """The project's Celery settings (webapp/platform/celery.py) with the task modules and the beat
    schedule."""
    from workers.schedule import beat_schedule

    return {**platform_celery.celery_settings(app), "include": TASK_MODULES, "beat_schedule": beat_schedule(app.config)}


def celery_init_app(app: Flask) -> Celery:
    celery = platform_celery.make_celery(app, celery_settings(app))
    app.extensions["celery"] = celery
    return celery


def celery_for(app: Flask) -> Celery:
    """The Celery app of a Flask app (made on first use): the web process enqueues through it."""
    return app.extensions.get("celery") or celery_init_app(app)


def create_worker_app() -> Celery:
    """The process entry of ``celery -A workers.celery_app``: the Flask app on config.Config (read
    from the environment) and its Celery app, made the default."""
    # `celery -A workers.celery_app` puts the working directory on sys.path only while it imports this
    # module; config.py is a top-level module of the project root, so make sure it can be found.
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from config import Config
    from webapp import create_app

    flask_app = create_app(Config)
    celery = celery_init_app(flask_app)
    celery.set_default()

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_kwargs: Any) -> None:
        # A forked pool process must not share the parent's database connections.
        from webapp.extensions import db

        with flask_app.app_context():
            db.engine.dispose(close=False)

    return celery


_worker_app: Celery | None = None


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        global _worker_app
        if _worker_app is None:
            _worker_app = create_worker_app()
        return _worker_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
