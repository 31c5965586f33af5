"""Fixtures of the letter tests: the demo agency's year of cases (webapp/demo.py), with letters of
every kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import id_number, make_case
from webapp import demo
from webapp.cases.services import record_event
from webapp.domain.workflow import Event, EventType, Party
from webapp.extensions import db
from webapp.models import Agency, Case, User


@pytest.fixture
def demo_cases(app_ctx, today: date) -> list[Case]:
    """The demo year (60 cases, as of today) and three more cases for the letters the demo does not
    play: a fee notice, a consultation of another agency with its letter's fields, a correction
    with what to correct."""
    demo.seed(n_cases=60, today=today)
    agency = db.session.scalar(select(Agency).where(Agency.code == demo.DEMO_CODE))
    clerk = db.session.scalar(select(User).where(User.username == "clerk"))
    applicant = {"kind": "natural_person", "name": "示范申请人", "id_number": id_number(),
                 "phone": "13800000000", "address": "示范区某某路1号"}
    fee = make_case(agency, clerk, date(2024, 5, 6), items=["本区2023年度道路养护合同", "本区2023年度绿化养护合同"],
                    applicant=applicant, today=today, assigned_to=None)
    record_event(fee, Event(EventType.FEE_NOTICE, date(2024, 5, 8), amount_yuan=Decimal("100")), clerk,
                 today=today, extra_payload={"method": "per_item", "quantity": 2, "basis": "按件计收：2件"})
    cons = make_case(agency, clerk, date(2024, 5, 6), items=["某企业排污许可证"], applicant=applicant, today=today,
                     assigned_to=None)
    record_event(cons, Event(EventType.CONSULTATION_STARTED, date(2024, 5, 9), party=Party.AGENCY), clerk,
                 today=today, extra_payload={"addressee": "示范区生态环境局", "text": "请提出是否同意公开的意见。"})
    corr = make_case(agency, clerk, date(2024, 5, 6), items=["某文件"], applicant=applicant, today=today,
                     assigned_to=None)
    record_event(corr, Event(EventType.CORRECTION_REQUESTED, date(2024, 5, 8), reply_by=date(2024, 5, 31)), clerk,
                 today=today, extra_payload={"what": "请写明文件的名称或文号。"})
    db.session.flush()
    return list(db.session.scalars(select(Case).where(Case.agency_id == agency.id).order_by(Case.id)))


@pytest.fixture
def world(app, today: date):
    """Two agencies with users of every role (password hashes set) and an installation administrator."""
    from tests.factories import make_trust_world

    with app.app_context():
        w = make_trust_world()
        db.session.remove()
    return w
