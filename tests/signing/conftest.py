"""Fixtures of the 签收 tests: the applicant side's world (a government SZF with departments SWJ and
JYJ, another agency QT; users desk (SZF clerk), clerk/approver/admin/auditor (SWJ), clerk2 (JYJ))."""

from tests.public.conftest import World, applicant, in_app, make_world, world  # noqa: F401
