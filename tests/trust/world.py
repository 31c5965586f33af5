"""A small world for the trust and admin tests: agencies A and B (departments) and a government G,
users of every role in A and B, a government-level administrator, and helpers to make cases.

Everything is returned by id (rows are read again in each test's own app context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stdnum.cn import ric

from tests.conftest import sign_in
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.services.cases import record_event, register_case

PASSWORD = "Trust#password1"
ROLES = ("clerk", "approver", "admin", "auditor")
_hashes: dict[str, str] = {}


def id_number(body: str = "37030519850612001") -> str:
    return body + ric.calc_check_digit(body + "0")


def person(name: str = "张三", body: str = "37030519850612001", **kw: Any) -> dict[str, Any]:
    return {"kind": "natural_person", "name": name, "id_number": id_number(body), "phone": "13812345678",
            "address": "山东省淄博市临淄区某某路100号", "email": "zhangsan@example.com", **kw}


def make_user(agency_id: int | None, role: str, username: str, password: str = PASSWORD) -> User:
    from webapp.services.passwords import hash_password

    if password not in _hashes:
        _hashes[password] = hash_password(password)
    u = User(agency_id=agency_id, username=username, display_name=f"{username}姓名", role=role,
             password_hash=_hashes[password], email=f"{username}@example.gov.cn")
    db.session.add(u)
    db.session.flush()
    return u


@dataclass
class Side:
    agency_id: int
    code: str
    users: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    a: Side
    b: Side
    gov_id: int
    gov_admin_id: int


def make_world() -> World:
    gov = Agency(code="LZ-ZF", name="临淄区人民政府", kind="government", address="临淄区政府大楼",
                 postcode="255400", phone="0533-7100000", email="zf@example.gov.cn")
    db.session.add(gov)
    db.session.flush()
    sides = []
    for code, name, parent in (("LZ-SWJ", "临淄区商务局", gov.id), ("ZD-JYJ", "张店区教育局", None)):
        a = Agency(code=code, name=name, kind="department", parent_id=parent, address=f"{name}办公楼",
                   postcode="255400", phone="0533-7000000", email=f"{code.lower()}@example.gov.cn")
        db.session.add(a)
        db.session.flush()
        prefix = code.split("-")[1].lower()
        users = {role: make_user(a.id, role, f"{prefix}_{role}").id for role in ROLES}
        sides.append(Side(a.id, code, users))
    gov_admin = make_user(None, "admin", "gov_admin")
    db.session.commit()
    return World(sides[0], sides[1], gov.id, gov_admin.id)


def make_case(agency_id: int, received_on: date, today: date, events: list[Event] | None = None,
              applicant: dict[str, Any] | None = None, items: list[str] | None = None) -> Case:
    agency = db.session.get(Agency, agency_id)
    clerk = db.session.scalar(db.select(User).where(User.agency_id == agency_id, User.role == "clerk"))
    approver = db.session.scalar(db.select(User).where(User.agency_id == agency_id, User.role == "approver"))
    case = register_case(agency, applicant or person(), items or ["2023年度部门预算"], "in_person", received_on,
                         clerk, today=today)
    for ev in events or []:
        who = approver if ev.type is EventType.EXTENDED else clerk
        record_event(case, ev, who, today=today)
    db.session.flush()
    return case


def login(client, user_id: int):
    return sign_in(client, user_id)
