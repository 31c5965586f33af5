"""Fixtures of the trust tests (permissions, history, backups, adversarial input, concurrency)."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from tests.factories import TrustWorld, make_trust_world
from webapp.extensions import db


@pytest.fixture
def world(app: Flask, today: date) -> TrustWorld:
    with app.app_context():
        w = make_trust_world()
        db.session.remove()
    return w


@pytest.fixture
def fresh_app(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    """make() -> a second app on its own new, empty database (schema created) and upload folder;
    dropped at the end of the test. For restoring backups into an empty database."""
    import secrets

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from config import TestConfig
    from webapp import create_app

    made: list[tuple[Flask, str | None]] = []

    def make(**overrides) -> Flask:
        url = make_url(database_url)
        pg_name = None
        if url.get_backend_name() == "postgresql":
            pg_name = f"{url.database}_r{secrets.token_hex(3)}"
            admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{pg_name}" ENCODING \'UTF8\' TEMPLATE template0'))
            admin.dispose()
            uri = url.set(database=pg_name).render_as_string(hide_password=False)
        else:
            uri = f"sqlite:///{tmp_path_factory.mktemp('restore') / 'restored.db'}"
        app2 = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=uri,
                          UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads2")), **overrides)
        with app2.app_context():
            db.create_all()
        made.append((app2, pg_name))
        return app2

    yield make
    for app2, pg_name in made:
        with app2.app_context():
            db.session.remove()
            db.engine.dispose()
        if pg_name:
            url = make_url(database_url)
            admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
