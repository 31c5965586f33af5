"""The desk tests reuse the view tests' world: two agencies with users of every role, frozen time."""

from tests.views.conftest import csrf_on, in_app, new_case, state, world  # noqa: F401
