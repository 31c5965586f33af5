"""The per-test isolation of tests/conftest.py: a test runs in one transaction of its own connection,
in which every session's commit is a savepoint; a test marked `committed` uses the engine as the app
does."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from tests.factories import make_agency
from webapp.extensions import db
from webapp.models import Agency


def test_a_commit_is_seen_by_the_next_session_inside_the_tests_transaction(app):
    with app.app_context():
        make_agency("ISO", "隔离局")
        db.session.commit()
        bind = db.session.get_bind()
        assert isinstance(bind, Connection)
        assert bind.in_transaction() and bind.in_nested_transaction() is False
    with app.app_context():
        assert db.session.scalar(select(func.count(Agency.id)).where(Agency.code == "ISO")) == 1
        assert db.session.get_bind() is bind


@pytest.mark.committed
def test_a_committed_test_uses_the_engine(app):
    with app.app_context():
        assert isinstance(db.session.get_bind(), Engine)
