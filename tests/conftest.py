"""Shared fixtures.

The database comes from TEST_DATABASE_URL:
  unset or "sqlite"      a fresh SQLite file in a temporary folder (one per xdist worker);
  postgresql://HOST/DB   a fresh database disclosure_test_<time>_<random> created through DB on that server
                         (one per xdist worker), dropped at the end of the session.
The schema is built with db.create_all() once per session. Each test that uses the app runs inside one
database transaction that is rolled back at its end (`isolate_db`): db.session is bound to that connection
with join_transaction_mode="create_savepoint", so every session the test or the app opens (one per app
context, as in production) works in a SAVEPOINT and its commit() releases the savepoint. Tests marked
`committed` (and every browser and worker test) need data that other connections, threads or processes
see: they commit for real, and every table is emptied after them.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
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
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("worker"):
            item.add_marker(pytest.mark.committed)   # a browser or a worker reads through its own connection
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
    """db.session inside an app context; what the test writes is rolled back (or emptied) after it."""
    return db.session


class _OneConnectionSession(FlaskSession):
    """A Flask-SQLAlchemy session that always uses the test's connection (Flask-SQLAlchemy's get_bind
    would pick the engine)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


def _begin_outer(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        # pysqlite begins a transaction only before DML and so cannot nest SAVEPOINTs: let SQLAlchemy's
        # BEGIN reach SQLite (restored in _end_outer).
        conn.connection.dbapi_connection.isolation_level = None
        conn.begin()
        conn.exec_driver_sql("BEGIN")
    else:
        conn.begin()


def _end_outer(conn: Connection) -> None:
    if conn.in_transaction():
        conn.rollback()
    if conn.dialect.name == "sqlite":
        conn.connection.dbapi_connection.isolation_level = ""


@pytest.fixture(autouse=True)
def isolate_db(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the app: in one transaction rolled back at its end (see the module's doc), or,
    marked `committed`, with every table emptied after it (children first)."""
    if "app" not in request.fixturenames:
        yield
        return  # pure tests (domain/) never touch the database
    app: Flask = request.getfixturevalue("app")
    if request.node.get_closest_marker("committed"):
        yield
        _empty_tables(app)
        return
    with app.app_context():
        conn = db.engine.connect()
    _begin_outer(conn)
    app_session = db.session
    db.session = db._make_scoped_session(
        {"class_": _OneConnectionSession, "bind": conn, "join_transaction_mode": "create_savepoint"})
    try:
        yield
    finally:
        db.session = app_session
        _end_outer(conn)
        conn.close()


def _empty_tables(app: Flask) -> None:
    empty_tables(app)


def empty_tables(app: Flask | None = None) -> None:
    """Delete every row (children first) and commit, in an app context of ``app`` (default: the current
    one): a fresh database for the rest of the test (inside its rolled-back transaction when it has one).
    The one way tests empty the database."""
    if app is not None:
        with app.app_context():
            empty_tables()
        return
    db.session.remove()
    if db.session.get_bind().dialect.name == "postgresql":
        # A test that left a transaction open should fail loudly here, not hang the run.
        db.session.execute(text("SET LOCAL lock_timeout = '10s'"))
        # case_event is append-only (trust/db_guards.py): its trigger lets a purge through.
        db.session.execute(text("SET LOCAL disclosure.allow_purge = 'on'"))
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login(client: FlaskClient) -> Callable[[object], FlaskClient]:
    """sign_in on the test's client: ``login(user_or_id)``."""
    return functools.partial(sign_in, client)


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
    holds the user's id with their session epoch (a logout or password change raises it). The one way
    tests log in without the login form (the `login` fixture is this function on the test's client).

    A test that holds an app context shares it with its requests, and Flask-Login caches the user on
    that context's ``g``: the cache is cleared so that the next request loads the new user."""
    from flask import g, has_app_context

    from webapp.models import User

    if has_app_context():
        g.pop("_login_user", None)

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
