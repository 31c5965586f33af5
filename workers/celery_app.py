"""Celery bound to the Flask app, as pallets/flask's examples/celery does it (``celery_init_app``: a
Task class that runs every task inside an app context; ids and ISO dates in, never objects).

Settings come from the Flask config's ``CELERY`` dict (config.py): Redis when REDIS_URL is set,
else the embedded SQLite broker (``sqla+sqlite:///instance/celery-broker.db``). JSON is the only
serialisation accepted, and the time zone is Asia/Shanghai, whatever the config says.

``celery -A workers.celery_app worker`` (and ``beat``) finds ``app`` here: it is built on first
access (module ``__getattr__``), so importing this module has no side effect and the web process,
which only enqueues, uses ``celery_for(flask_app)`` instead.

Every setting comes from config.py (read from the environment there, e.g. ``CELERY_DEFAULT_QUEUE``,
``CELERY_VISIBILITY_TIMEOUT``, ``BASE_URL``, ``MAIL_RETRY_BASE_SECONDS``); this module reads none.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "disclosure"
TASK_MODULES = ["workers.tasks.reminders", "workers.tasks.outbox", "workers.tasks.applicants"]


def celery_settings(app: Flask) -> dict[str, Any]:
    from workers.schedule import beat_schedule

    conf = dict(app.config["CELERY"])
    conf.update(
        # JSON only: never pickle (STYLE.md).
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_accept_content=["json"], timezone="Asia/Shanghai", enable_utc=True,
        include=TASK_MODULES, beat_schedule=beat_schedule(),
    )
    conf.setdefault("task_default_queue", DEFAULT_QUEUE)
    conf.setdefault("task_ignore_result", True)
    conf.setdefault("worker_hijack_root_logger", False)
    broker = str(conf.get("broker_url") or "")
    if broker.startswith(("redis://", "rediss://")):
        # Fail fast when Redis is down: an enqueue tries twice and gives up (the web service must not
        # hang; the beat safety net catches up). The worker's own consumer connection retries by
        # broker_connection_* settings, not these. An unacknowledged task (its worker was killed)
        # goes to another worker after the visibility timeout.
        conf["broker_transport_options"] = {"visibility_timeout": 3600, "socket_connect_timeout": 3,
                                            "socket_timeout": 10, "max_retries": 1, "interval_start": 0,
                                            "interval_step": 0.2, "interval_max": 0.5,
                                            **conf.get("broker_transport_options", {})}
    return conf


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(celery_settings(app))
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
