"""Application factory: create_app() builds a configured Flask app; nothing happens at import time."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from config import BASE_DIR, Config, normalize_database_url
from webapp.extensions import csrf, db, limiter, login_manager, migrate
from webapp.headers import SECURITY_HEADERS, install_security_headers  # noqa: F401 (re-exported)
from webapp.instance_keys import instance_key

log = logging.getLogger(__name__)

# Blueprints as "dotted.module:attribute"; each must import (a missing module is an error).
BLUEPRINTS: list[str] = [
    "webapp.auth.routes:bp",
    "webapp.cases.routes:bp",
    "webapp.cases.notifications:bp",
    "webapp.cases.desk:bp",
    "webapp.intake.routes:bp",
    "webapp.reporting.routes:bp",
    "webapp.admin.routes:bp",
    "webapp.api.routes:bp",
    "webapp.public.routes:bp",
    "webapp.public.queue:bp",
    "webapp.supervision.routes:bp",
    "webapp.review.routes:bp",
    "webapp.delivery.routes:bp",
    "webapp.archive.routes:bp",
    "webapp.handovers.routes:bp",
    "webapp.sms.routes:bp",
    "webapp.register.routes:bp",
]

# Click commands or groups added to `flask`, same form as BLUEPRINTS.
CLI_GROUPS: list[str] = [
    "webapp.cli:cases_cli",
    "webapp.cli:report_cli",
    "webapp.cli:seed_demo",
    "webapp.reporting.cli:year_cli",
    "webapp.admin_cli:audit_cli",
    "webapp.admin_cli:backup_cli",
    "webapp.admin_cli:users_cli",
    "webapp.admin_cli:uploads_cli",
    "workers.cli:reminders_cli",
    "workers.cli:outbox_cli",
    "webapp.tokens_cli:tokens_cli",
]

def _load(spec: str):
    """The object a "dotted.module:attribute" spec names."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"{spec}: module {module_name} has no attribute {attribute!r}") from None


def _instance_secret_key(instance: Path) -> str:
    """No SECRET_KEY given (the embedded mode): a random key made once per installation and kept in
    instance/secret_key (owner-only), shared by the web processes and the workers. Never a key
    anyone else knows."""
    key, made = instance_key(instance, "secret_key", "remove it, or set SECRET_KEY")
    if made:
        log.info("SECRET_KEY is not set: generated one in %s", instance / "secret_key")
    return key


def create_app(config_object: Any = None, **overrides: Any) -> Flask:
    """Build the app from a config class (or its import path; default config.Config) plus overrides."""
    app = Flask(
        __name__,
        instance_path=str(BASE_DIR / "instance"),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(config_object or Config)
    app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))
    _ensure_local_dirs(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    # Every <int:...> in a route is an id within what the database holds (webapp/params.py).
    from webapp.params import IdConverter

    app.url_map.converters["int"] = IdConverter

    # PostgreSQL through psycopg: a cheaper checkout test in place of pool_pre_ping, and a cursor whose
    # description is made when read (webapp/platform/pg_connections.py)
    from webapp.platform import pg_connections

    checkout_test = False
    if pg_connections.is_psycopg(app.config["SQLALCHEMY_DATABASE_URI"]):
        options, checkout_test = pg_connections.engine_options(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_on_connect)
        if checkout_test:
            pg_connections.install_checkout_test(db.engine)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    from webapp.platform import csrf_token

    csrf_token.install(app)    # pages' CSRF token signed once a minute per session (platform/csrf_token.py)
    limiter.init_app(app)

    # Registers every model on db.metadata (for migrations and create_all).
    import webapp.models  # noqa: F401

    # The case history is append-only (ORM guards; a trigger on PostgreSQL at create_all).
    from webapp.trust.db_guards import install_guards

    install_guards()
    # Each agency's report change stamp: triggers, created with the tables (reporting/services/stamps.py).
    from webapp.reporting.services.stamps import install as install_report_stamps

    install_report_stamps()
    # Each agency's cases of each status: triggers, created with the tables (cases/status_counts.py).
    from webapp.cases.status_counts import install as install_status_counts

    install_status_counts()

    # App-wide wiring (error pages, request guards, user loader, signals, template helpers, the
    # request's unit of work): webapp/platform/. Before the blueprints: the guards run first.
    from webapp.platform import install as install_platform

    install_platform(app)
    for spec in BLUEPRINTS:
        app.register_blueprint(_load(spec))
    for spec in CLI_GROUPS:
        app.cli.add_command(_load(spec))

    install_security_headers(app)
    from webapp.health import install_health_check

    install_health_check(app)
    return app


def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    """Make SQLite behave like PostgreSQL where it matters: enforce foreign keys; let a reader and the
    embedded worker's writer run at once (WAL)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _ensure_local_dirs(app: Flask) -> None:
    """Create instance/ folders that a SQLite database file and uploads need."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upload_folder = app.config.get("UPLOAD_FOLDER")
    if upload_folder:
        Path(upload_folder).mkdir(parents=True, exist_ok=True)
