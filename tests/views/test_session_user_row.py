"""The session user read as a row of columns (webapp/auth/login.py load_user): a SessionUser
(webapp/auth/session_user.py), not an ORM User, with its Agency made from the statement's columns
without the ORM's row loading and persistent in the session all the same (its identity map gives it
again); the user's other columns are read from its User row, a change is made on that row, and the
session rules hold as before."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import loading

from tests.factories import make_user
from webapp.auth.login import load_user
from webapp.auth.session_user import SessionUser
from webapp.domain.kinds import AgencyKind, Role
from webapp.domain.policies import Policies
from webapp.extensions import db
from webapp.models import Agency, User

from .test_province_scale import statements


@pytest.fixture
def orm_row_loads(monkeypatch) -> list[str]:
    """The ORM's row loadings (sqlalchemy.orm.loading.instances) meanwhile, by the entity loaded."""
    seen: list[str] = []
    instances = loading.instances

    def counted(cursor, context):
        seen.append(",".join(getattr(e, "_label_name", None) or str(e.type) for e in context.compile_state._entities))
        return instances(cursor, context)

    monkeypatch.setattr(loading, "instances", counted)
    return seen


def test_the_session_user_is_made_from_its_columns_without_the_orms_row_loading(app, world, orm_row_loads):
    with app.test_request_context("/cases"):
        user = load_user(str(world.a.clerk))
        assert orm_row_loads == []
        assert type(user) is SessionUser and inspect(user, raiseerr=False) is None
        assert inspect(user.agency).persistent
        with statements(app) as seen:
            assert (user.id, user.agency_id, user.username, user.display_name, user.role, user.active,
                    user.must_change_password, user.session_epoch, user.get_id(), user.is_active,
                    user.is_authenticated, user.is_anonymous, repr(user)) == (
                world.a.clerk, world.a.agency_id, "swj_clerk", "临淄区商务局经办人", Role.CLERK, True, False, 0,
                str(world.a.clerk), True, True, False, "<User swj_clerk clerk>")
            agency = user.agency
            assert (agency.id, agency.code, agency.name, agency.kind, agency.parent_id) == (
                world.a.agency_id, "LZ-SWJ", "临淄区商务局", AgencyKind.DEPARTMENT, None)
            assert isinstance(agency.policy(), Policies)
            # the session's own: its identity map gives it again, without a statement
            assert db.session.get(Agency, world.a.agency_id) is agency
            assert not db.session.dirty and not db.session.new
        assert seen == []
        row = user.entity()
        assert type(row) is User and row is db.session.get(User, world.a.clerk)
        assert user == row and row == user and user != db.session.get(User, world.a.approver)


def test_a_change_is_made_on_the_users_row(app, world):
    with app.test_request_context("/account/password", method="POST"):
        user = load_user(str(world.a.clerk))
        with pytest.raises(AttributeError):
            user.display_name = "新名字"
        row = user.entity()
        row.end_sessions()
        row.display_name = "新名字"
        db.session.flush()
        assert db.session.execute(select(User.session_epoch, User.display_name)
                                  .where(User.id == world.a.clerk)).one() == (1, "新名字")
        db.session.rollback()


def test_a_column_left_unloaded_is_read_on_first_access(app, world):
    with app.test_request_context("/cases"):
        user = load_user(str(world.a.clerk))
        assert not {"email", "password_hash"} & set(user.__dict__) and "quiet_hours" not in user.agency.__dict__
        with statements(app) as seen:
            assert (user.email, user.agency.quiet_hours) == ("", {})
        assert len(seen) == 2


def test_a_government_level_account_has_no_agency(app, world):
    with app.app_context():
        gov = make_user(None, "admin", "gov_level_admin")
        db.session.commit()
        gov_id = gov.id
        db.session.remove()
    with app.test_request_context("/cases"):
        user = load_user(str(gov_id))
        with statements(app) as seen:
            assert (user.agency_id, user.agency) == (None, None)
        assert seen == []


def test_the_session_rules_hold(app, world):
    with app.app_context():
        db.session.get(User, world.a.clerk).active = False
        db.session.get(User, world.b.clerk).session_epoch = 2
        db.session.commit()
    for ident, loaded in ((str(world.a.clerk), False), (f"{world.b.clerk}", False), (f"{world.b.clerk}.1", False),
                          (f"{world.b.clerk}.2", True), (f"{world.a.approver}.0", True), ("x", False), ("0", False),
                          (str(2**63), False), ("999999", False)):
        with app.test_request_context("/cases"):
            user = load_user(ident)
            assert (user is not None) == loaded, ident
            if loaded:
                assert user.get_id() == ident.removesuffix(".0")


def test_an_agency_the_session_holds_already_is_that_one_with_its_columns_filled_in(app, world):
    with app.app_context():
        held = db.session.get(Agency, world.a.agency_id)
        db.session.expire(held)
        with app.test_request_context("/cases"):
            assert load_user(str(world.a.clerk)).agency is held
            with statements(app) as seen:
                assert (held.code, held.kind) == ("LZ-SWJ", AgencyKind.DEPARTMENT)
            assert seen == []
        db.session.remove()


def test_the_flask_login_flags_are_the_users():
    columns = {"id": 7, "agency_id": None, "username": "u", "display_name": "u", "role": Role.CLERK,
               "must_change_password": False, "session_epoch": 3, "agency": None}
    off = SessionUser({**columns, "active": False})
    on = SessionUser({**columns, "active": True})
    assert [(u.is_active, u.is_authenticated, u.is_anonymous, u.get_id()) for u in (off, on)] == [
        (False, False, False, "7.3"), (True, True, False, "7.3")]
