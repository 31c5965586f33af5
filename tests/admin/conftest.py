"""Fixtures of the admin page tests."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from tests.trust.world import World, make_world
from webapp.extensions import db


@pytest.fixture
def world(app: Flask, today: date) -> World:
    with app.app_context():
        w = make_world()
        db.session.remove()
    return w
