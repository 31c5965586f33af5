"""The one assignee list (cases/services/desk.assignable_users): the case list's bulk assignment, the
case page's 分配承办人 and the intake form read the same rows, plain (id, name, role), one statement."""

from __future__ import annotations

from tests.factories import make_user
from tests.views.test_province_scale import statements
from webapp.cases.services.desk import assignable_users
from webapp.extensions import db
from webapp.models import User


def test_one_list_of_plain_rows(app, world, in_app):
    def go():
        make_user(world.a.agency_id, "clerk", "a_gone", "离职经办", active=False)
        db.session.commit()
        with statements(app) as seen:
            one = assignable_users(world.a.agency_id)
            both = assignable_users([world.a.agency_id, world.b.agency_id])
        assert len(seen) == 2
        # active clerks and approvers only (not the admin, the auditor, the one who left), approvers first
        assert [(r.id, r.display_name, r.role) for r in one] == [
            (world.a.approver, "临淄区商务局负责人", "approver"),
            (world.a.clerk, "临淄区商务局经办人", "clerk"),
            (world.a.clerk2, "临淄区商务局经办人二", "clerk")]
        assert sorted(r.id for r in both) == sorted([world.a.approver, world.a.clerk, world.a.clerk2,
                                                     world.b.approver, world.b.clerk, world.b.clerk2])
        assert not any(isinstance(r, User) for r in both)     # rows: no User object hydrated per clerk
        assert {type(r.role) for r in both} == {str}       # the role as stored: no Role enum built per clerk

    in_app(go)


def test_the_case_lists_clerks_and_saved_filters_are_one_statement(app, world, in_app):
    """cases/services/desk.list_desk: the bulk assignment's clerks (assignable_users' rows, in their
    order) and the user's saved filters (by name), one statement (they were two); no clerks without an
    agency to assign in."""
    from webapp.cases.services.desk import Saved, list_desk, save_filter

    def go():
        clerk = db.session.get(User, world.a.clerk)
        b = save_filter(clerk, "b-overdue", "list=overdue")
        a = save_filter(clerk, "a-mine", "mine=y&status=registered")
        save_filter(db.session.get(User, world.a.clerk2), "c-other", "mine=y")     # another user's
        db.session.flush()
        with statements(app) as seen:
            users, saved = list_desk(world.a.clerk, world.a.agency_id)
        assert len(seen) == 1
        assert users == [tuple(r) for r in assignable_users(world.a.agency_id)] and len(users) == 3
        assert saved == [Saved(a.id, "a-mine", "status=registered&mine=y"), Saved(b.id, "b-overdue", "list=overdue")]
        assert list_desk(world.a.clerk, None) == ([], saved)
        db.session.rollback()

    in_app(go)
