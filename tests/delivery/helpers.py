"""Shared set-up of the delivery and archive tests: an agency, its users, and cases in given states."""

from __future__ import annotations

from datetime import date

from tests.factories import make_agency, make_case, make_user
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def setup_agency(code: str = "LZ-SWJ", name: str = "临淄区商务局"):
    agency = make_agency(code, name)
    clerk = make_user(agency, "clerk", f"{code.lower()}_clerk")
    approver = make_user(agency, "approver", f"{code.lower()}_approver")
    admin = make_user(agency, "admin", f"{code.lower()}_admin")
    return agency, clerk, approver, admin


def answered_case(agency, clerk, received_on: date, answered_on: date, today: date, items=None):
    """A case received and answered (closed, disclosed): its answer letter went to the applicant."""
    return make_case(agency, clerk, received_on, items=items, today=today,
                     events=[Event(type=EventType.ANSWERED, on=answered_on, outcome=Outcome.DISCLOSED)])


def letter_event(case, type_: str = "answered"):
    return next(e for e in case.events if e.type == type_)


def commit():
    db.session.commit()
