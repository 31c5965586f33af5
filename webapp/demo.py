"""A demo agency with users of every role and a year of realistic cases (``flask seed-demo``).

Deterministic (seeded random), idempotent: a second run adds nothing. Every history goes through the
services (register_case, record_event). Like a real office it leaves a backlog open on ``today``: a
few cases overdue and some due within days (HELD_AGES), so the dashboard's warnings and the overdue
list show what they look like.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from webapp.cases.services import record_event, register_case
from webapp.cases.services.calendar import current_calendar
from webapp.domain.kinds import AgencyKind, FormWanted, RouteWanted
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType, Party
from webapp.extensions import db
from webapp.models import Agency, ProactiveYear, User
from webapp.trust.passwords import password_problem

from .errors import ServiceError

DEMO_CODE = "DEMO-ZFB"
# Demo passwords pass the password policy (trust/passwords.password_problem; seed() checks).
DEMO_USERS = [
    ("clerk", "演示经办人", "clerk", "Lotus-river-2026"),
    ("clerk2", "演示经办人二", "clerk", "Maple-stream-2026"),
    ("approver", "演示负责人", "approver", "Cedar-bridge-2026"),
    ("admin", "演示管理员", "admin", "Harbor-lamp-2026"),
    ("auditor", "演示审计员", "auditor", "Quiet-ledger-2026"),
]

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英"]
_ITEMS = [
    "本区2025年度城市更新项目征收补偿方案", "某街道老旧小区改造项目立项批复文件", "本机关2025年度部门预算及“三公”经费",
    "某路段道路拓宽工程环境影响评价批复", "本区2025年度义务教育招生划片方案", "某企业排污许可证及年度执行报告",
    "本区2025年度财政专项资金分配结果", "某地块国有建设用地使用权出让合同", "本区保障性住房分配名单及审核标准",
    "本机关2025年度行政处罚决定书（某商户）", "本区农村宅基地审批情况统计", "本区2025年度重点建设项目清单",
]
#: the cases left open (``_play(held=True)``): every HELD_EVERY-th of those received HELD_AGES working
#: days before today - due within days (a period is 20 working days) or overdue by up to three weeks
HELD_AGES = range(15, 41)
HELD_EVERY = 3
_ORGS = [("commercial", "某某建材有限公司"), ("research", "某某城市规划研究院"),
         ("public_interest", "某某环保公益基金会"),
         ("legal_service", "某某律师事务所"), ("other_org", "某某村民委员会")]


def _id_number(rng: random.Random) -> str:
    from stdnum.cn import ric

    while True:   # stdnum also checks the birth date and the region code at that date
        body = f"370302{rng.randint(1960, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
        number = body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
        if ric.is_valid(number):
            return number


def _uscc(rng: random.Random) -> str:
    from stdnum.cn import uscc

    body = "91370305" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc.calc_check_digit(body)


def seed(n_cases: int = 120, today: date | None = None) -> list[tuple[str, str, str]]:
    if today is None:
        raise ValueError("seed needs today")
    agency = db.session.scalar(select(Agency).where(Agency.code == DEMO_CODE))
    logins = [(u, p, r) for u, _n, r, p in DEMO_USERS]
    if agency is not None:
        return logins
    agency = Agency(code=DEMO_CODE, name="示范区人民政府办公室", kind=AgencyKind.GOVERNMENT,
                    address="示范区政务服务中心3楼", postcode="255400", phone="0533-1234567",
                    email="gkb@example.gov.cn")
    db.session.add(agency)
    db.session.flush()
    users = {}
    for username, name, role, password in DEMO_USERS:
        u = User(agency_id=agency.id, username=username, display_name=name, role=role,
                 email=f"{username}@example.gov.cn")
        u.agency = agency
        problem = password_problem(password, u)
        if problem is not None:   # the demo goes through the same policy as everyone
            raise ValueError(f"demo password of {username}: {problem}")
        u.set_password(password)
        db.session.add(u)
        users[username] = u
    db.session.flush()
    cal = current_calendar()
    rng = random.Random(20261128)
    start = today - timedelta(days=365)
    clerks = [users["clerk"], users["clerk2"]]
    made = 0
    day = start
    step = max(1, 365 // max(n_cases, 1))
    while made < n_cases and day < today:
        day += timedelta(days=rng.randint(1, step * 2 - 1 if step > 1 else 1))
        if day > today or not cal.is_workday(day):
            continue
        kind = "natural_person" if rng.random() < 0.7 else rng.choice(_ORGS)[0]
        if kind == "natural_person":
            applicant = {"kind": kind, "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                         "id_number": _id_number(rng), "phone": f"138{rng.randint(10000000, 99999999)}",
                         "address": "示范区某某路" + str(rng.randint(1, 300)) + "号"}
        else:
            org = dict(_ORGS)[kind]
            applicant = {"kind": kind, "name": "示范区" + org, "uscc": _uscc(rng),
                         "phone": f"0533-{rng.randint(1000000, 9999999)}"}
        items = rng.sample(_ITEMS, rng.choice([1, 1, 1, 2, 3]))
        clerk = rng.choice(clerks)
        channel = rng.choice(["online", "online", "online", "in_person", "post", "fax"])
        case = register_case(agency, applicant, items, channel, day, clerk, assigned_to=clerk, today=today,
                             form_wanted=rng.choice([FormWanted.PAPER, FormWanted.EMAIL]),
                             route_wanted=rng.choice([RouteWanted.POST, RouteWanted.EMAIL, RouteWanted.PICKUP]))
        made += 1
        # the desk's backlog: every HELD_EVERY-th case received HELD_AGES working days ago is not
        # closed yet, so the demo shows cases due soon and a few overdue ones, as a real office has
        held = cal.workdays_between(day, today) in HELD_AGES and made % HELD_EVERY == 0
        _play(case, cal, rng, today, clerk, users["approver"], held=held)
    db.session.add(ProactiveYear(agency_id=agency.id, year=today.year - 1, normative_issued=4,
                                 normative_repealed=1, normative_in_force=21, licensing_decisions=312,
                                 penalty_decisions=27, coercion_decisions=2,
                                 categories={"业务工作": 46, "规划计划": 3, "机构职能": 2,
                                             "财政预决算": 6, "其他": 18}))
    db.session.add(ProactiveYear(agency_id=agency.id, year=today.year, normative_issued=2,
                                 normative_repealed=0, normative_in_force=23, licensing_decisions=280,
                                 penalty_decisions=19, coercion_decisions=1))
    db.session.flush()
    return logins


def _play(case, cal, rng, today, clerk, approver, held: bool = False) -> None:
    """A plausible life for a case, cut off at today. ``held``: the clerk has not closed it yet
    (neither answered nor recorded a lapsed correction): the same random draws, so the other cases'
    lives do not change."""
    d = case.received_on
    r = rng.random()

    def ev(type_, after, actor=clerk, **kw):
        nonlocal d
        nd = cal.add_workdays(d, after) if after else d
        if nd > today or (held and type_ in (EventType.ANSWERED, EventType.CORRECTION_LAPSED)):
            raise StopIteration
        try:
            record_event(case, Event(type=type_, on=nd, **kw), actor, today=today, cal=cal)
        except ServiceError:
            raise StopIteration from None
        d = nd

    try:
        if r < 0.12:
            ev(EventType.CORRECTION_REQUESTED, rng.randint(2, 6))
            if rng.random() < 0.75:
                ev(EventType.CORRECTION_RECEIVED, rng.randint(2, 8))
            else:
                ev(EventType.CORRECTION_LAPSED, 16)
                return
        if r > 0.9:
            ev(EventType.CONSULTATION_STARTED, rng.randint(3, 8), party=rng.choice(list(Party)))
            ev(EventType.CONSULTATION_ENDED, rng.randint(5, 15))
        if 0.85 < r <= 0.9:
            ev(EventType.EXTENDED, rng.randint(15, 19), actor=approver, days=20)
        if r < 0.03:
            ev(EventType.WITHDRAWN, rng.randint(1, 5))
            return
        outcome = rng.choices(
            [Outcome.DISCLOSED, Outcome.PARTIAL, Outcome.UNAVAILABLE_NOT_HELD, Outcome.WITHHELD_PROCESS_INFO,
             Outcome.NOT_PROCESSED_PETITION, Outcome.WITHHELD_THIRD_PARTY, Outcome.UNAVAILABLE_NEEDS_CREATION],
            weights=[45, 15, 20, 5, 5, 4, 6])[0]
        ev(EventType.ANSWERED, rng.randint(3, 19), outcome=outcome)
    except StopIteration:
        return
