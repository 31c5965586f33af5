"""The supervision tests' world: government G with departments D1 and D2, another government G2
with department D3, users of each, and a hand-built set of cases whose figures are known.

Today is 2024-06-10 (the conftest default; 端午节, a day off)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tests.factories import make_agency, make_case, make_user
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType, Party
from webapp.extensions import db
from webapp.models import Agency


@dataclass
class SvWorld:
    gov: int
    d1: int
    d2: int
    gov2: int
    d3: int
    users: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)


def _agency(code: str, name: str, kind: str = "department", parent: Agency | None = None) -> Agency:
    return make_agency(code, name, kind=kind, parent_id=parent.id if parent else None, contact=False,
                       email=f"{code.lower()}@example.gov.cn")


def make_sv_world() -> SvWorld:
    gov = _agency("LZ-ZF", "临淄区人民政府", "government")
    d1 = _agency("LZ-SWJ", "临淄区商务局", parent=gov)
    d2 = _agency("LZ-JYJ", "临淄区教育局", parent=gov)
    gov2 = _agency("ZD-ZF", "张店区人民政府", "government")
    d3 = _agency("ZD-JYJ", "张店区教育局", parent=gov2)
    w = SvWorld(gov.id, d1.id, d2.id, gov2.id, d3.id)
    for key, agency, role in (("gov_clerk", gov, "clerk"), ("gov_auditor", gov, "auditor"),
                              ("d1_clerk", d1, "clerk"), ("d1_approver", d1, "approver"),
                              ("d1_auditor", d1, "auditor"), ("d2_clerk", d2, "clerk"),
                              ("gov2_clerk", gov2, "clerk"), ("d3_clerk", d3, "clerk"),
                              ("installation_admin", None, "admin")):
        u = make_user(agency, role, key, f"{key}姓名")
        u.email = f"{key}@example.gov.cn"
        w.users[key] = u.id
    db.session.flush()
    return w


def build_small(w: SvWorld, today: date) -> None:
    """The hand-built cases (see test_figures.py for the figures they give)."""
    from webapp.models import User

    c1 = db.session.get(User, w.users["d1_clerk"])
    c2 = db.session.get(User, w.users["d2_clerk"])
    c3 = db.session.get(User, w.users["d3_clerk"])
    d1, d2, d3 = (db.session.get(Agency, i) for i in (w.d1, w.d2, w.d3))
    ans = EventType.ANSWERED

    def mk(key, agency, actor, received, events=()):
        w.cases[key] = make_case(agency, actor, received, today=today, events=list(events)).id

    mk("overdue", d1, c1, date(2024, 5, 6))                       # due 2024-05-31
    mk("due_soon", d1, c1, date(2024, 5, 15))                     # due 2024-06-13
    mk("open", d1, c1, date(2024, 6, 3))                          # due in July
    mk("consulting", d1, c1, date(2024, 4, 1), [Event(EventType.CONSULTATION_STARTED, date(2024, 4, 2),
                                                       party=Party.THIRD_PARTY)])
    mk("on_time", d1, c1, date(2024, 3, 1), [Event(ans, date(2024, 3, 15), outcome=Outcome.DISCLOSED)])  # 10 days
    mk("late", d1, c1, date(2024, 1, 2), [Event(ans, date(2024, 2, 1), outcome=Outcome.DISCLOSED)])      # 22 days
    mk("last_year", d1, c1, date(2023, 12, 1), [Event(ans, date(2023, 12, 5), outcome=Outcome.DISCLOSED)])
    mk("withdrawn", d1, c1, date(2024, 4, 1), [Event(EventType.WITHDRAWN, date(2024, 4, 3))])
    mk("paused_answer", d1, c1, date(2024, 4, 8), [                                                      # 4 days
        Event(EventType.CONSULTATION_STARTED, date(2024, 4, 9), party=Party.THIRD_PARTY),
        Event(EventType.CONSULTATION_ENDED, date(2024, 4, 19)),
        Event(ans, date(2024, 4, 24), outcome=Outcome.DISCLOSED)])
    mk("d2_on_time", d2, c2, date(2024, 5, 6), [Event(ans, date(2024, 5, 8), outcome=Outcome.DISCLOSED)])  # 2 days
    mk("d3_overdue", d3, c3, date(2024, 5, 6))
    db.session.flush()
