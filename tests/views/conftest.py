"""Fixtures of the view tests: two agencies with users of every role, a logged-in client, frozen time.

The test itself holds no app context while it sends requests, so every request has its own database
session, as in production: a view that forgets to commit fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import Side, World, make_case, make_world
from webapp.domain.workflow import Event
from webapp.extensions import db
from webapp.models import Case, CaseEvent, User


@pytest.fixture
def world(app: Flask, today: date) -> World:
    with app.app_context():
        w = make_world()
        db.session.remove()
    return w


@pytest.fixture
def in_app(app: Flask) -> Callable[..., Any]:
    """Run fn(*args) in a fresh app context and commit; return its result."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with app.app_context():
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            finally:
                db.session.remove()

    return run


@pytest.fixture
def new_case(in_app, today: date) -> Callable[..., int]:
    """Register a case for ``side`` (as its clerk) and play ``events``; return its id."""

    def make(side: Side, received_on: date, events: list[Event] | None = None, actor: str = "clerk",
             **kwargs: Any) -> int:
        def go() -> int:
            user = db.session.get(User, side.users[actor])
            approver = db.session.get(User, side.users["approver"])
            case = make_case(user.agency, user, received_on, events=events, today=today, approver=approver,
                             **kwargs)
            return case.id

        return in_app(go)

    return make


@pytest.fixture
def csrf_on(app: Flask) -> Iterator[None]:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def state(in_app) -> Callable[[int], tuple[int, str | None, int, date | None]]:
    """(number of events, status, version, due_on) of a case, read fresh from the database."""

    def read(case_id: int):
        def go():
            n = db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id))
            case = db.session.get(Case, case_id)
            return n, case.status, case.version, case.due_on

        return in_app(go)

    return read
