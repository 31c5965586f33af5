"""The view tests' fixtures (two agencies with users of every role, frozen time, in_app)."""

from tests.views.conftest import in_app, world  # noqa: F401
