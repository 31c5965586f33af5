"""register_case numbers an agency's cases past 9,999 in a year without a collision."""

from datetime import date

from sqlalchemy import select, update

from webapp.cases.services import register_case
from webapp.extensions import db
from webapp.models import Agency, Case

from .conftest import applicant


def test_the_case_after_9999_is_10000_then_10001(app, world, in_app):
    def run():
        swj = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
        first = register_case(swj, applicant(), ["2023年度部门预算"], "in_person", date(2024, 6, 12),
                              today=date(2024, 6, 12))
        db.session.execute(update(Case).where(Case.id == first.id).values(number="SWJ-2024-9999"))
        second = register_case(swj, applicant(), ["2023年度部门决算"], "in_person", date(2024, 6, 12),
                               today=date(2024, 6, 12))
        third = register_case(swj, applicant(), ["2024年度部门预算"], "in_person", date(2024, 6, 13),
                              today=date(2024, 6, 13))
        numbers = (second.number, third.number)
        db.session.rollback()
        return numbers

    assert in_app(run) == ("SWJ-2024-10000", "SWJ-2024-10001")
