"""The reminder sweep follows the one overdue rule: a case paused for a fee after its period had run
out gets the daily answer_overdue reminder like a running overdue case (found by review: the sweep
read due_on alone, which is null while the clock is paused)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from webapp.cases.services import case_clock
from webapp.cases.services.calendar import current_calendar
from webapp.domain.workflow import Event
from webapp.domain.workflow import EventType as E
from webapp.extensions import db
from webapp.models import Case
from webapp.notify.reminders.sweep import collect

LONG_AGO = date(2024, 4, 15)     # 20 working days ran out on 2024-05-14


def test_reminder_sweep_follows_the_one_overdue_rule(app, world, new_case, today):
    late_fee = new_case(world.a, LONG_AGO, [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
    running = new_case(world.a, LONG_AGO)
    inside = new_case(world.a, date(2024, 6, 3), [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
    with app.app_context():
        cal = current_calendar()
        day = date(2024, 6, 11)          # a working day (10 June is the Dragon Boat holiday)
        assert cal.is_workday(day)
        overdue = {c.id for c in db.session.scalars(select(Case)) if case_clock(c, cal).is_overdue(cal, day)}
        reminded = {(i.case_id, i.deadline) for i in collect(day, cal) if i.kind == "answer_overdue"}
    assert overdue == {late_fee, running}
    assert inside not in overdue
    assert reminded == {(late_fee, date(2024, 5, 14)), (running, date(2024, 5, 14))}
