"""The one set of test builders: agencies, users, applicants, cases, and the small worlds the tests
share. Rows go through the models and the service layer (register_case, record_event), so the clock
columns are real; builders flush, the caller commits.

- ``make_agency``, ``make_user``, ``make_case``: the three builders (one implementation each).
- ``agency_case``: make_case by agency id, as that agency's clerk (the trust and admin tests).
- ``paper_case``: make_case of an applicant on paper with a fresh ID number and no e-mail, unassigned
  to anyone but ``clerk`` (the workers' tests: their mails must never show the phone or ID number).
- ``make_world`` (two agencies, the view tests), ``make_trust_world`` (a government and two
  departments, the trust and admin tests), ``make_staff`` (an agency's clerks, approver, admin).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stdnum.cn import ric, uscc

from webapp.cases.services import record_event, register_case
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Agency, Case, User

PASSWORD = "Test#password1"
ROLES = ("clerk", "approver", "admin", "auditor")
# Applicants on paper (paper_case): the phone and ID number must never appear in a mail.
PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
PAPER_ITEM = "本区2024年度部门预算"
_serial = itertools.count(100)


DEFAULT_ID_BODY = "37030519850612001"   # 临淄区 (code valid from 1983), born 1985-06-12


def id_number(body: str = DEFAULT_ID_BODY) -> str:
    """A 居民身份证号码 with a valid check digit (body: the first 17 characters)."""
    return body + ric.calc_check_digit(body + "0")   # stdnum wants a placeholder check digit


def bad_id_number(body: str = DEFAULT_ID_BODY) -> str:
    good = id_number(body)
    wrong = "0" if good[-1] != "0" else "1"
    return body + wrong


def fresh_id_number() -> str:
    """A valid ID number never handed out before in this run (the same number is the same applicant)."""
    body = f"11010519800101{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def uscc_code(body: str = "91370305MA3C0000") -> str:
    body = (body + "00000000000000000")[:17]
    return body + uscc.calc_check_digit(body)


def make_agency(code: str = "SWJ", name: str = "某区商务局", *, kind: str = "department",
                parent_id: int | None = None, policies: dict[str, Any] | None = None, contact: bool = True,
                **fields: Any) -> Agency:
    """An agency; with ``contact`` its address, postcode, phone and e-mail are filled in (letters print
    them), without it they are left empty; ``fields`` (address=..., phone=..., ...) set or override
    columns."""
    extra = {"address": f"{name}办公楼", "postcode": "255400", "phone": "0533-7000000",
             "email": f"{code.lower()}@example.gov.cn"} if contact else {}
    agency = Agency(code=code, name=name, kind=kind, parent_id=parent_id,
                    **({"policies": policies or {}} | extra | fields))
    db.session.add(agency)
    db.session.flush()
    return agency


_hash_cache: dict[str, str] = {}


def work_email(username: str) -> str:
    return f"{username}@example.gov.cn"


def make_user(agency: Agency | int | None, role: str, username: str, display_name: str | None = None, *,
              password: str | None = PASSWORD, email: str | None = None, active: bool = True) -> User:
    """A user of ``agency`` (a row or an id; None: government level) who logs in with ``password``
    (None: no password, cannot log in); ``email`` None: no address."""
    from webapp.trust.passwords import hash_password

    extra: dict[str, Any] = {"email": email} if email is not None else {}
    if password is not None:
        if password not in _hash_cache:   # argon2 is slow on purpose: hash each test password once
            _hash_cache[password] = hash_password(password)
        extra["password_hash"] = _hash_cache[password]
    agency_id = agency.id if isinstance(agency, Agency) else agency
    user = User(agency_id=agency_id, username=username, display_name=display_name or username, role=role,
                active=active, **extra)
    db.session.add(user)
    db.session.flush()
    return user


def person(name: str = "张三", body: str = DEFAULT_ID_BODY, **kw: Any) -> dict[str, Any]:
    return {"kind": "natural_person", "name": name, "id_number": id_number(body), "phone": "13812345678",
            "address": "山东省淄博市临淄区某某路100号", "email": "zhangsan@example.com", **kw}


_ACTOR = object()


def make_case(agency: Agency, actor: User | None, received_on: date, *, items: list[str] | None = None,
              applicant: dict[str, Any] | None = None, channel: str = "in_person", today: date | None = None,
              events: list[Event] | None = None, approver: User | None = None, assigned_to: Any = _ACTOR,
              ref: str | None = None) -> Case:
    """A case registered by ``actor`` (None: by the system) and assigned to ``assigned_to`` (by default
    the actor when a clerk), then ``events`` played (an extension by ``approver`` when given)."""
    if assigned_to is _ACTOR:
        assigned_to = actor if actor is not None and actor.role == "clerk" else None
    case = register_case(agency, applicant or person(), items or ["2023年度部门预算"], channel, received_on,
                         actor, assigned_to=assigned_to, today=today, ref=ref)
    for ev in events or []:
        who = approver if ev.type is EventType.EXTENDED and approver is not None else actor
        record_event(case, ev, who, today=today)
    db.session.flush()
    return case


def agency_case(agency_id: int, received_on: date, today: date, events: list[Event] | None = None,
                applicant: dict[str, Any] | None = None, items: list[str] | None = None) -> Case:
    """make_case for the agency with this id, registered by its clerk, assigned to no one; an extension
    approved by its approver."""
    agency = db.session.get(Agency, agency_id)
    clerk = db.session.scalar(db.select(User).where(User.agency_id == agency_id, User.role == "clerk"))
    approver = db.session.scalar(db.select(User).where(User.agency_id == agency_id, User.role == "approver"))
    return make_case(agency, clerk, received_on, items=items, applicant=applicant, today=today, events=events,
                     approver=approver, assigned_to=None)


def paper_applicant(name: str = "张三", kind: str = "natural_person") -> dict[str, Any]:
    applicant: dict[str, Any] = {"kind": kind, "name": name, "phone": PHONE, "address": "某区某路1号"}
    if kind == "natural_person":
        applicant["id_number"] = fresh_id_number()
    return applicant


def paper_case(agency: Agency, clerk: User | None, received_on: date, name: str = "张三",
               kind: str = "natural_person", today: date | None = None, ref: str | None = None) -> Case:
    """make_case registered by the system for ``paper_applicant(name, kind)``, assigned to ``clerk``."""
    return make_case(agency, None, received_on, applicant=paper_applicant(name, kind), items=[PAPER_ITEM],
                     today=today or received_on, assigned_to=clerk, ref=ref)


def act(case: Case, type_: EventType, on: date, **kw: Any):
    """Record an event of ``type_`` on ``on`` by the system."""
    return record_event(case, Event(type=type_, on=on, **kw), None, today=on)


def make_staff(agency: Agency) -> dict[str, User]:
    """Two clerks, an approver and an administrator of ``agency``, each with a work e-mail."""
    prefix = agency.code.lower()
    return {
        key: make_user(agency, role, f"{prefix}-{key}", display, email=work_email(f"{prefix}-{key}"))
        for key, role, display in (("clerk", "clerk", "王经办"), ("clerk2", "clerk", "李经办"),
                                   ("approver", "approver", "赵负责"), ("admin", "admin", "钱管理"))
    }


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


@dataclass
class TrustSide:
    agency_id: int
    code: str
    users: dict[str, int] = field(default_factory=dict)


@dataclass
class TrustWorld:
    a: TrustSide
    b: TrustSide
    gov_id: int
    gov_admin_id: int


def make_trust_world() -> TrustWorld:
    """A government (LZ-ZF), a department under it (LZ-SWJ) and one outside it (ZD-JYJ), users of every
    role in both departments, and a government-level administrator; by id."""
    gov = make_agency("LZ-ZF", "临淄区人民政府", kind="government")
    gov.address = "临淄区政府大楼"
    gov.phone = "0533-7100000"
    gov.email = "zf@example.gov.cn"

    def user(agency_id: int | None, role: str, username: str) -> User:
        return make_user(agency_id, role, username, f"{username}姓名", email=work_email(username))

    sides = []
    for code, name, parent in (("LZ-SWJ", "临淄区商务局", gov.id), ("ZD-JYJ", "张店区教育局", None)):
        a = make_agency(code, name, parent_id=parent)
        prefix = code.split("-")[1].lower()
        sides.append(TrustSide(a.id, code, {role: user(a.id, role, f"{prefix}_{role}").id for role in ROLES}))
    gov_admin = user(None, "admin", "gov_admin")
    db.session.commit()
    return TrustWorld(sides[0], sides[1], gov.id, gov_admin.id)
