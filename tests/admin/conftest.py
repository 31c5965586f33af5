"""Fixtures of the admin page tests."""

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
