"""A registration's objects leave the session when the transaction or savepoint that wrote their rows
rolls back (registration_rows.write_registration attaches them as persistent, which the ORM's own
rollback does not expunge). Found by an outside review: on SQLite, which hands the same ids out again,
an import preview whose refused case had been registered then crashed on the next case with "another
instance with key (Case, (1,), None) is already present"."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from webapp.cases.services import register_case
from webapp.cases.services.interchange import import_document
from webapp.extensions import db
from webapp.models import Agency, Case, CaseEvent, CaseItem

TODAY = date(2024, 6, 10)
RECEIVED = {"type": "received", "on": "2024-01-08", "channel": "online"}


def _case(ref: str, name: str, events: list) -> dict:
    return {"ref": ref, "applicant": {"kind": "natural_person", "name": name},
            "items": [{"text": "本机关2023年度部门预算执行情况"}], "events": events}


@pytest.mark.parametrize("bulk", [False, True])
def test_a_preview_lists_a_refused_case_and_goes_on(db_session, bulk):
    refused = [RECEIVED, {"type": "extended", "on": "2024-01-09", "days": 20},
               {"type": "extended", "on": "2024-01-10", "days": 20},
               {"type": "archived", "on": "2024-03-01", "archive_no": "A-1"}]
    good = [RECEIVED, {"type": "answered", "on": "2024-01-20", "outcome": "disclosed"},
            {"type": "archived", "on": "2024-03-01", "archive_no": "A-2"}]
    problems: list = []
    import_document({"format": "disclosure-case-history/1", "agency": {"code": "IMP-Z", "name": "Z"},
                     "cases": [_case("Z-1", "甲", refused), _case("Z-2", "乙", good)]},
                    TODAY, bulk=bulk, problems=problems)
    assert [p.rule for p in problems] == ["extension.twice"]


def test_a_rolled_back_savepoint_takes_the_registration_s_objects_with_it(db_session):
    agency = Agency(code="RB", name="回滚测试机关", kind="department")
    db.session.add(agency)
    db.session.commit()
    kept = register_case(agency, {"kind": "natural_person", "name": "张三"}, ["甲"], "post", TODAY)
    savepoint = db.session.begin_nested()
    gone = register_case(agency, {"kind": "natural_person", "name": "李四"}, ["乙", "丙"], "post", TODAY)
    gone_objects = [gone, gone.applicant, *gone.items, *gone.events]
    savepoint.rollback()
    assert [o in db.session for o in gone_objects] == [False] * 5
    assert kept in db.session and kept.applicant in db.session
    assert db.session.get(Case, gone.id) is None            # read from the database: no such row
    assert db.session.scalars(select(CaseItem.id).where(CaseItem.case_id == gone.id)).all() == []
    db.session.commit()
    assert db.session.scalars(select(Case.number).where(Case.agency_id == agency.id)).all() == [kept.number]
    assert db.session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == kept.id)) is not None


def test_a_rolled_back_transaction_takes_them_too(db_session):
    agency = Agency(code="RB2", name="回滚测试机关二", kind="department")
    db.session.add(agency)
    db.session.commit()
    case = register_case(agency, {"kind": "natural_person", "name": "王五"}, ["甲"], "post", TODAY)
    objects = [case, case.applicant, *case.items, *case.events]
    number = case.number
    db.session.rollback()
    assert [o in db.session for o in objects] == [False] * 4
    again = register_case(agency, {"kind": "natural_person", "name": "王五"}, ["甲"], "post", TODAY)
    db.session.commit()
    assert again.number == number       # the same number again: the first was never written
