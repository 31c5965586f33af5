"""Issue 15: the fee preview's count of the items the same person asked for earlier in the month
(cases.services.fee_items_this_month, on every open case's page) is a statement built once per shape
(identity number, credit code, or kind, name and phone; excluding a case or not): the same count as
the statement built on each call before, kept here."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tests.factories import make_case, person, uscc_code
from webapp.cases.services import fee_items_this_month
from webapp.cases.services.applicant_records import same_person
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, CaseItem, User
from webapp.prebuilt import _built


def _before(applicant: Applicant, on: date, exclude_case: Case | None = None) -> int:
    start = on.replace(day=1)
    q = (select(func.count(CaseItem.id)).join(Case, CaseItem.case_id == Case.id)
         .join(Applicant, Case.applicant_id == Applicant.id)
         .where(Case.agency_id == applicant.agency_id, Case.received_on >= start, Case.received_on <= on,
                same_person(applicant)))
    if exclude_case is not None:
        q = q.where(Case.id != exclude_case.id)
    return db.session.scalar(q) or 0


def test_the_same_count_for_each_kind_of_person(app, world, in_app, today):
    def go():
        agency, other = db.session.get(Agency, world.a.agency_id), db.session.get(Agency, world.b.agency_id)
        clerk = db.session.get(User, world.a.clerk)
        people = {
            "id": person(),
            "credit code": person(kind="commercial", name="某某有限公司", id_number=None, uscc=uscc_code()),
            "name and phone": person(name="王五", id_number=None, phone="13900000000"),
        }
        seen = []
        for label, p in people.items():
            cases = [make_case(agency, clerk, date(2024, 6, d), items=["甲", "乙"][: 1 + d % 2], applicant=dict(p),
                               today=today) for d in (3, 4, 5)]
            make_case(agency, clerk, date(2024, 5, 31), applicant=dict(p), today=today)     # the month before
            make_case(other, None, date(2024, 6, 4), applicant=dict(p), today=today)        # another agency
            make_case(agency, clerk, date(2024, 6, 4), applicant=person(name="赵六", body="37030319800101001"),
                      today=today)                                                          # another person
            last = cases[-1]
            for on, exclude in ((date(2024, 6, 5), last), (date(2024, 6, 5), None), (date(2024, 6, 4), None),
                                (date(2024, 6, 30), cases[0])):
                got = fee_items_this_month(last.applicant, on, exclude_case=exclude)
                assert got == _before(last.applicant, on, exclude), (label, on, exclude)
                seen.append(got)
        # one statement per shape, built once (webapp/prebuilt.py): the second call builds nothing
        built = {k for k in _built if k[0] == "fee_items_this_month"}
        assert built == {("fee_items_this_month", how, excluding) for how in ("id_number", "uscc", "name")
                         for excluding in (True, False)}
        stmt = _built[("fee_items_this_month", "name", True)]
        fee_items_this_month(last.applicant, date(2024, 6, 5), exclude_case=last)
        assert _built[("fee_items_this_month", "name", True)] is stmt
        return seen

    # items 1 + d % 2: the 3rd two, the 4th one, the 5th two
    assert in_app(go) == [3, 5, 3, 3] * 3
