"""Small builders for the workers' tests: an agency with a clerk, a second clerk, an approver and
an administrator, and cases registered through the service layer (so the clock columns are real)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Agency, User
from webapp.services.cases import record_event, register_case

# Phones and valid 居民身份证 numbers: they must never appear in a mail.
PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
_serial = itertools.count(100)


def id_number() -> str:
    """A fresh valid ID number (the same number would be the same applicant)."""
    from stdnum.cn import ric

    body = f"11010519800101{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum drops the last character


def make_agency(code: str = "SWJ", name: str = "某区商务局", kind: str = "department",
                policies: dict[str, Any] | None = None) -> Agency:
    agency = Agency(code=code, name=name, kind=kind, policies=policies or {})
    db.session.add(agency)
    db.session.flush()
    return agency


def make_user(agency: Agency | None, username: str, role: str, display_name: str | None = None,
              email: str | None = "", active: bool = True) -> User:
    user = User(agency_id=agency.id if agency else None, username=username,
                display_name=display_name or username, role=role, active=active,
                email=f"{username}@example.gov.cn" if email == "" else (email or ""))
    db.session.add(user)
    db.session.flush()
    return user


def make_staff(agency: Agency) -> dict[str, User]:
    return {
        "clerk": make_user(agency, f"{agency.code.lower()}-clerk", "clerk", "王经办"),
        "clerk2": make_user(agency, f"{agency.code.lower()}-clerk2", "clerk", "李经办"),
        "approver": make_user(agency, f"{agency.code.lower()}-approver", "approver", "赵负责"),
        "admin": make_user(agency, f"{agency.code.lower()}-admin", "admin", "钱管理"),
    }


def make_case(agency: Agency, clerk: User | None, received_on: date, name: str = "张三",
              kind: str = "natural_person", today: date | None = None, ref: str | None = None):
    applicant: dict[str, Any] = {"kind": kind, "name": name, "phone": PHONE, "address": "某区某路1号"}
    if kind == "natural_person":
        applicant["id_number"] = id_number()
    return register_case(agency, applicant, ["本区2024年度部门预算"], "in_person", received_on, None,
                         assigned_to=clerk, today=today or received_on, ref=ref)


def act(case, type_: EventType, on: date, **kw):
    return record_event(case, Event(type=type_, on=on, **kw), None, today=on)
