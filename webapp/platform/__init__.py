"""The app-wide wiring, installed by create_app (webapp/__init__.py); blueprints hold only routes.

- ``errors``: the Chinese error pages (400 CSRF, 403, 404, 413, 429, 500) for every blueprint that
  has no page of its own for the code;
- ``guards``: what every request passes first (session keep-alive, no NUL in input, a forced
  password change);
- ``login``: Flask-Login's user loader;
- ``signals``: the receivers of cases.services.signals (the applicant's notices);
- ``template_helpers``: what every template may use (``can``, display filters, counts);
- ``feature_helpers``: what the feature packages give every template (the case page's panels, their
  counts);
- ``unit_of_work``: one commit per request, after a successful handler;
- ``celery``: Celery's settings and the enqueue hook (services enqueue without importing workers/);
- ``api_routing``: a routing error (404, 405) under /api/v1/ answered in JSON;
- ``widgets``: WTForms' field rendering, the same HTML for less CPU;
- ``pg_connections``: PostgreSQL connections (psycopg): the pool's checkout test and the cursor (used by
  create_app when it makes the engine, before this wiring).
"""

from __future__ import annotations

from flask import Flask


def install(app: Flask) -> None:
    """Wire the app (before the blueprints are registered: the guards run first, in this order)."""
    from . import (
        api_routing,
        celery,
        errors,
        feature_helpers,
        guards,
        login,
        signals,
        template_helpers,
        unit_of_work,
        widgets,
    )

    login.install(app)
    guards.install(app)
    template_helpers.install(app)
    feature_helpers.install(app)
    errors.install(app)
    signals.install(app)
    unit_of_work.install(app)
    celery.install(app)
    api_routing.install(app)    # after the guards, as when the API blueprint registered it
    widgets.install(app)
