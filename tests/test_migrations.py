"""Alembic migrations: one head; an empty database upgrades to head (matching the models exactly)
and downgrades back to empty. Runs on the database kind the suite runs on."""

from __future__ import annotations

import ast
import importlib.util
import secrets
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config import TestConfig
from tests.conftest import using_postgresql
from webapp import create_app
from webapp.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (imports inside functions count)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_migration_imports_the_app():
    """A migration is a record of a past schema: it may not import webapp (whose code moves on)."""
    app_packages = {"webapp", "workers", "config", "wsgi"}
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.split(".")[0] in app_packages)
        for path in sorted((MIGRATIONS / "versions").glob("*.py"))
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_initial_migration_trigger_is_the_guards_trigger():
    """0001_initial carries its own copy of the case_event trigger; it is the one create_all() installs."""
    from webapp.trust import db_guards

    path = next((MIGRATIONS / "versions").glob("*_0001_initial_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0001_initial", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CASE_EVENT_TRIGGER_SQL == db_guards.CASE_EVENT_TRIGGER_SQL
    assert module.CASE_EVENT_TRIGGER_DROP_SQL == db_guards.CASE_EVENT_TRIGGER_DROP_SQL


def test_single_head():
    cfg = AlembicConfig(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, heads


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    if not using_postgresql():
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    server = make_url(database_url)
    name = f"disclosure_test_mig_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_to_head_matches_models_and_downgrades_to_empty(empty_database_url):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], f"models and migrations differ: {diff}"
        assert set(db.metadata.tables) <= tables
        if using_postgresql():
            with db.engine.connect() as conn:
                triggers = set(conn.execute(text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'case_event'::regclass")).scalars())
            assert {"case_event_append_only_rows", "case_event_append_only_truncate"} <= triggers
        downgrade(directory=str(MIGRATIONS), revision="base")
        with db.engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert left == set()
        db.engine.dispose()


def test_a_case_with_both_due_dates_stops_the_upgrade_and_a_retry_after_the_fix_works(empty_database_url, monkeypatch):
    """20261205_one_due_date refuses a row with both due_on and paused_due_on before it touches the
    table (on SQLite a failed copy used to leave _alembic_tmp_case behind, and the documented retry
    failed on it); after the row is fixed, upgrading again reaches the head."""
    from datetime import date

    from webapp.demo import seed

    before = "20261205_case_applicant_name"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        seed(20, today=date(2024, 6, 10))
        db.session.commit()
        downgrade(directory=str(MIGRATIONS), revision=before)
        with db.engine.begin() as conn:
            bad = conn.execute(text('SELECT min(id) FROM "case"')).scalar()
            conn.execute(text('UPDATE "case" SET due_on = :d, paused_due_on = :d WHERE id = :id'),
                         {"d": date(2024, 7, 1), "id": bad})
        import flask_migrate

        errors: list[str] = []
        monkeypatch.setattr(flask_migrate.log, "error", errors.append)   # alembic's logging config mutes it
        with pytest.raises(SystemExit):     # flask db upgrade: "Error: <the message>", exit status 1
            upgrade(directory=str(MIGRATIONS), revision="20261205_one_due_date")
        assert len(errors) == 1 and errors[0].startswith(
            f"Error: 1 case rows have both due_on and paused_due_on (ids {bad}), which the check constraint "
            "ck_case_one_due_date forbids; nothing was changed.")
        assert "flask cases recompute" in errors[0]
        db.session.remove()
        db.engine.dispose()
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == before
            assert "_alembic_tmp_case" not in inspect(conn).get_table_names()
            conn.execute(text('UPDATE "case" SET paused_due_on = NULL WHERE id = :id'), {"id": bad})
        upgrade(directory=str(MIGRATIONS), revision="20261205_one_due_date")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "20261205_one_due_date"
            checks = {c["name"] for c in inspect(conn).get_check_constraints("case")}
            assert "ck_case_one_due_date" in checks
        db.session.remove()
        db.engine.dispose()
