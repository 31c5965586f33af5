"""Shared fixtures.

The database comes from TEST_DATABASE_URL:
  unset or "sqlite"      a fresh SQLite file in a temporary folder (one per xdist worker);
  postgresql://HOST/DB   a fresh database disclosure_test_<time>_<random> created through DB on that server
                         (one per xdist worker), dropped at the end of the session.
The schema is built with db.create_all() once per session; `clean_db` empties every table after each test
that used the app, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session
from sqlalchemy.pool import NullPool
from werkzeug.serving import make_server

from config import TestConfig, normalize_database_url
from webapp import create_app
from webapp.extensions import db
from webapp.timeutil import SHANGHAI, today_shanghai

DEFAULT_NOW = datetime(2024, 6, 10, 10, 0, tzinfo=SHANGHAI)  # a Monday and a working day

TEST_DB_PREFIX = "disclosure_test_"
STALE_TEST_DB_SECONDS = 6 * 3600


def _selected_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "").strip() or "sqlite"


def using_sqlite() -> bool:
    return _selected_url().startswith("sqlite")


def using_postgresql() -> bool:
    return _selected_url().startswith(("postgres://", "postgresql"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"test database: {'PostgreSQL' if using_postgresql() else 'SQLite'} (TEST_DATABASE_URL)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if using_postgresql():
        return
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL to a postgresql URL)")
    for item in items:
        if item.get_closest_marker("pg"):
            item.add_marker(skip_pg)


# --- the database -------------------------------------------------------------------------------------


def _server_epoch(admin_engine) -> int:
    """The PostgreSQL server's clock. Not time.time(): the session's database may be made inside a test
    that froze this process's clock (time_machine), and a frozen date in the future would make every
    other run's database on the server look stale (dropped WITH (FORCE) under its running tests)."""
    with admin_engine.connect() as conn:
        return int(conn.execute(text("SELECT extract(epoch FROM now())")).scalar_one())


def _drop_stale_test_databases(admin_engine) -> None:
    """Drop databases left behind by killed runs (older than any real run lasts)."""
    cutoff = _server_epoch(admin_engine) - STALE_TEST_DB_SECONDS
    with admin_engine.connect() as conn:
        names = conn.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": TEST_DB_PREFIX + "%"}
        ).scalars()
        for name in list(names):
            stamp = name.removeprefix(TEST_DB_PREFIX).split("_", 1)[0]
            if stamp.isdigit() and int(stamp) < cutoff:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of this session's own, empty database."""
    selected = _selected_url()
    if not using_postgresql():
        if selected != "sqlite" and selected.startswith("sqlite"):
            raise pytest.UsageError("TEST_DATABASE_URL: use 'sqlite' (a fresh temporary file is made)")
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return

    server_url = make_url(normalize_database_url(selected))
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"{TEST_DB_PREFIX}{_server_epoch(admin)}_{secrets.token_hex(4)}"
    try:
        _drop_stale_test_databases(admin)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The application on TestConfig and this session's database, schema created."""
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads")),
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """An application context for the test (services, queries outside a request)."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def db_session(app_ctx: Flask) -> scoped_session:
    """db.session inside an app context; rows written are removed after the test by clean_db."""
    return db.session


@pytest.fixture(autouse=True)
def clean_db(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used the app, empty all tables (children first)."""
    yield
    if "app" not in request.fixturenames:
        return  # pure tests (domain/) never touch the database
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # A test that left a transaction open should fail loudly here, not hang the run.
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                # case_event is append-only (services/db_guards.py): its trigger lets a purge through.
                conn.execute(text("SET LOCAL disclosure.allow_purge = 'on'"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The app served on a free 127.0.0.1 port in a thread; yields its base URL (browser tests)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live_server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


# --- the clock ----------------------------------------------------------------------------------------


@pytest.fixture
def today(time_machine) -> date:
    """Freeze the clock and return today's date in Asia/Shanghai.

    The date is DEFAULT_NOW's (2024-06-10, 10:00 in Shanghai) unless the test sets its own with
    @pytest.mark.time_machine(datetime(..., tzinfo=SHANGHAI), tick=False); move it during the test with
    time_machine.move_to(...).
    """
    if time_machine.traveller is None:
        time_machine.move_to(DEFAULT_NOW, tick=False)
    return today_shanghai()


def sign_in(client: FlaskClient, user) -> FlaskClient:
    """Log ``user`` (a User or an id) in on a test client the way Flask-Login keeps it: the session
    holds the user's id with their session epoch (a logout or password change raises it)."""
    from webapp.models import User

    if isinstance(user, int):
        with client.application.app_context():
            ident = db.session.get(User, user).get_id()
            db.session.remove()
    else:
        ident = user.get_id()
    with client.session_transaction() as s:
        s.clear()
        s["_user_id"] = ident
        s["_fresh"] = True
    return client
