"""Issue 15, the fixed cost of every request: PostgreSQL connections (webapp/platform/pg_connections.py).
A pooled connection the server dropped (PostgreSQL restarted, its backend terminated) is replaced at
checkout, never handed to a request: tested with real connections killed by pg_terminate_backend. The
cursor's description, made when read, is the one psycopg makes."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from config import TestConfig
from tests.conftest import sign_in
from tests.factories import make_agency, make_user
from webapp import create_app
from webapp.extensions import db
from webapp.platform import pg_connections

pytestmark = pytest.mark.pg


@pytest.fixture
def own_app(app, database_url, tmp_path):
    """An app of its own on the test database: its own pool, whose connections the test kills; the
    backend pid of every connection its pool opens, in order."""
    own = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_FOLDER=str(tmp_path))
    pids: list[int] = []
    with own.app_context():
        event.listen(db.engine, "connect", lambda dbapi, record: pids.append(dbapi.info.backend_pid))
    own.pids = pids
    yield own
    with own.app_context():
        db.session.remove()
        db.engine.dispose()


def _terminate(database_url: str, pids: list[int]) -> None:
    """Kill the backends (as a server restart would) and wait until they are gone."""
    admin = create_engine(database_url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            assert all(conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": p}).scalar() for p in pids)
            for _ in range(200):
                left = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                                    {"p": pids}).scalar()
                conn.rollback()
                if not left:
                    return
                time.sleep(0.01)
            raise AssertionError(f"backends {pids} still there")
    finally:
        admin.dispose()


def test_the_engine_tests_connections_on_checkout_without_sqlalchemy_pre_ping(own_app):
    with own_app.app_context():
        assert db.engine.pool._pre_ping is False
        assert event.contains(db.engine, "checkout", pg_connections._test_on_checkout)
        with db.engine.connect() as conn:
            assert conn.connection.driver_connection.cursor_factory is pg_connections.Cursor


@pytest.mark.committed
def test_a_dropped_connection_never_fails_the_next_request(own_app, database_url):
    with own_app.app_context():
        agency = make_agency()
        clerk = make_user(agency, "clerk", "swj_clerk")
        db.session.commit()
        clerk_id = clerk.id
        db.session.remove()
    client = sign_in(own_app.test_client(), clerk_id)
    assert client.get("/cases").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert len(own_app.pids) == 1                   # one connection, pooled between the requests

    _terminate(database_url, own_app.pids)           # the server drops it (a restart, an administrator)
    assert client.get("/cases").status_code == 200   # the signed-in page, on a new connection
    assert len(own_app.pids) == 2
    assert client.get("/no-such-page").status_code == 404
    assert len(own_app.pids) == 2                    # and the new one is kept

    _terminate(database_url, own_app.pids[1:])
    r = client.get("/healthz")                       # an anonymous request, after the next drop
    assert r.status_code == 200 and r.get_json()["db"] is True
    assert len(own_app.pids) == 3


@pytest.mark.committed
def test_every_pooled_connection_is_replaced_after_a_restart(own_app, database_url):
    with own_app.app_context():
        conns = [db.engine.connect() for _ in range(3)]     # three connections pooled at once
        for c in conns:
            c.close()
        assert len(own_app.pids) == 3
        _terminate(database_url, own_app.pids)
        seen = []
        for _ in range(3):      # the first checkout finds its connection dead and marks the pool's
            with db.engine.connect() as c:      # older ones stale: each is replaced when handed out
                seen.append(c.execute(text("SELECT pg_backend_pid()")).scalar())
        assert seen == own_app.pids[3:]
        assert len(own_app.pids) == 6


def test_the_description_is_psycopgs(own_app):
    with own_app.app_context(), db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert isinstance(raw.cursor(), pg_connections.Cursor)
        plain = psycopg.Cursor(raw)      # psycopg's own, on the same connection
        query = "SELECT 1::int AS a, 'x'::varchar(5) AS b, 2.5::numeric(4,2) AS c, NULL::date AS d"
        ours = raw.cursor()
        ours.execute(query)
        plain.execute(query)
        description = ours.description
        assert len(description) == 4
        assert [tuple(c) for c in description] == [tuple(c) for c in plain.description]
        assert [c.name for c in description] == ["a", "b", "c", "d"]
        kept = ours.description
        ours.execute("SELECT 'y'::text AS other")    # a description kept past the next result
        assert [c.name for c in kept] == ["a", "b", "c", "d"]
        assert [(c.name, c.type_code) for c in ours.description] == [("other", 25)]
        ours.execute("SET LOCAL work_mem = '4MB'")   # no rows to describe: None, as psycopg's
        plain.execute("SET LOCAL work_mem = '4MB'")
        assert ours.description is None and plain.description is None
        ours.execute("SELECT")                       # rows of no column: an empty description
        plain.execute("SELECT")
        assert list(ours.description) == [] == plain.description
        conn.rollback()
