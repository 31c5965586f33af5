"""Factory helpers for the view tests: agencies, users of every role, applicants, cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stdnum.cn import ric, uscc

from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.services.cases import record_event, register_case

PASSWORD = "Test#password1"
ROLES = ("clerk", "approver", "admin", "auditor")


DEFAULT_ID_BODY = "37030519850612001"   # 临淄区 (code valid from 1983), born 1985-06-12


def id_number(body: str = DEFAULT_ID_BODY) -> str:
    """A 居民身份证号码 with a valid check digit (body: the first 17 characters)."""
    return body + ric.calc_check_digit(body + "0")   # stdnum wants a placeholder check digit


def bad_id_number(body: str = DEFAULT_ID_BODY) -> str:
    good = id_number(body)
    wrong = "0" if good[-1] != "0" else "1"
    return body + wrong


def uscc_code(body: str = "91370305MA3C0000") -> str:
    body = (body + "00000000000000000")[:17]
    return body + uscc.calc_check_digit(body)


def make_agency(code: str, name: str, **policies: Any) -> Agency:
    agency = Agency(code=code, name=name, address=f"{name}办公楼", postcode="255400", phone="0533-7000000",
                    email=f"{code.lower()}@example.gov.cn", policies=policies)
    db.session.add(agency)
    db.session.flush()
    return agency


_hash_cache: dict[str, str] = {}


def make_user(agency: Agency | None, role: str, username: str, display_name: str | None = None,
              password: str = PASSWORD) -> User:
    from webapp.services.passwords import hash_password

    if password not in _hash_cache:   # argon2 is slow on purpose: hash each test password once
        _hash_cache[password] = hash_password(password)
    user = User(agency_id=agency.id if agency else None, username=username,
                display_name=display_name or username, role=role, password_hash=_hash_cache[password])
    db.session.add(user)
    db.session.flush()
    return user


def person(name: str = "张三", body: str = DEFAULT_ID_BODY, **kw: Any) -> dict[str, Any]:
    return {"kind": "natural_person", "name": name, "id_number": id_number(body), "phone": "13812345678",
            "address": "山东省淄博市临淄区某某路100号", "email": "zhangsan@example.com", **kw}


def make_case(agency: Agency, actor: User, received_on: date, *, items: list[str] | None = None,
              applicant: dict[str, Any] | None = None, channel: str = "in_person", today: date | None = None,
              events: list[Event] | None = None, approver: User | None = None) -> Case:
    case = register_case(agency, applicant or person(), items or ["2023年度部门预算"], channel, received_on,
                         actor, assigned_to=actor if actor.role == "clerk" else None, today=today)
    for ev in events or []:
        who = approver if ev.type is EventType.EXTENDED and approver is not None else actor
        record_event(case, ev, who, today=today)
    db.session.flush()
    return case


@dataclass
class Side:
    """One agency of the test world, by id (rows are read in each test's own app context)."""

    agency_id: int
    code: str
    users: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, role: str) -> int:
        try:
            return self.__dict__["users"][role]
        except KeyError:
            raise AttributeError(role) from None


@dataclass
class World:
    a: Side
    b: Side


def make_world() -> World:
    """Two agencies, each with a clerk, a second clerk, an approver, an admin and an auditor."""
    sides = []
    for code, name in (("LZ-SWJ", "临淄区商务局"), ("LZ-JYJ", "临淄区教育局")):
        agency = make_agency(code, name)
        prefix = code.split("-")[1].lower()
        users = {role: make_user(agency, role, f"{prefix}_{role}", f"{name}{_ROLE_ZH[role]}") for role in ROLES}
        users["clerk2"] = make_user(agency, "clerk", f"{prefix}_clerk2", f"{name}经办人二")
        sides.append(Side(agency.id, code, {k: u.id for k, u in users.items()}))
    db.session.commit()
    return World(*sides)


_ROLE_ZH = {"clerk": "经办人", "approver": "负责人", "admin": "管理员", "auditor": "审计员"}
