"""Fixtures of the opening-balance tests (reuse the report tests' agency/user makers)."""

from tests.reports.conftest import make_agency, make_user  # noqa: F401
