"""Celery's settings in one place, and the web process's way to enqueue a task.

The environment is read in config.py (``CELERY``: broker, result backend, queue, visibility timeout);
here the settings every Celery app of this project runs on are fixed on top of it (JSON only, the
time zone, Redis's fail-fast transport options). The worker (workers/celery_app.py) adds its task
modules and the beat schedule. ``install`` registers the enqueue hook that services use
(``current_app.extensions["enqueue_task"](name)``), so nothing in webapp/ imports workers/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from celery import Celery

DEFAULT_QUEUE = "disclosure"


def celery_settings(app: Flask) -> dict[str, Any]:
    conf = dict(app.config["CELERY"])
    conf.update(
        # JSON only: never pickle (STYLE.md).
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_accept_content=["json"], timezone="Asia/Shanghai", enable_utc=True,
    )
    conf.setdefault("task_default_queue", DEFAULT_QUEUE)
    conf.setdefault("task_ignore_result", True)
    conf.setdefault("broker_connection_retry_on_startup", True)
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


def make_celery(app: Flask, settings: dict[str, Any]) -> Celery:
    """A Celery app whose tasks run inside an app context of ``app`` (pallets/flask examples/celery)."""
    from celery import Celery, Task  # not at import: the web process loads Celery at its first enqueue

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(settings)
    return celery


def _sender(app: Flask) -> Celery:
    """The worker's Celery app when this process is the worker, else one made for sending."""
    celery = app.extensions.get("celery") or app.extensions.get("celery_sender")
    if celery is None:
        celery = app.extensions["celery_sender"] = make_celery(app, celery_settings(app))
    return celery


def install(app: Flask) -> None:
    def enqueue_task(name: str) -> None:
        _sender(app).send_task(name, retry=False, ignore_result=True)

    app.extensions["enqueue_task"] = enqueue_task
