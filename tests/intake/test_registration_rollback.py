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


def _agency(code: str) -> Agency:
    agency = Agency(code=code, name=f"回滚测试机关{code}", kind="department")
    db.session.add(agency)
    db.session.commit()
    return agency


def _objects(case: Case) -> list:
    return [case, case.applicant, *case.items, *case.events]


def test_a_released_savepoint_s_objects_go_when_the_enclosing_one_rolls_back(db_session):
    """The register page's preview: each case in a savepoint released when it passes, the whole preview
    in a savepoint rolled back at the end (a second review: the release's after_commit had emptied the
    list, and the next preview's registration failed on SQLite)."""
    agency = _agency("RB3")
    outer = db.session.begin_nested()
    inner = db.session.begin_nested()
    case = register_case(agency, {"kind": "natural_person", "name": "赵六"}, ["甲"], "post", TODAY)
    objects, number = _objects(case), case.number
    inner.commit()
    outer.rollback()
    assert [o in db.session for o in objects] == [False] * 4
    again = register_case(agency, {"kind": "natural_person", "name": "赵六"}, ["甲"], "post", TODAY)
    db.session.commit()
    assert again.number == number


def test_an_unrelated_savepoint_released_then_a_rollback(db_session):
    agency = _agency("RB4")
    case = register_case(agency, {"kind": "natural_person", "name": "孙七"}, ["甲"], "post", TODAY)
    objects = _objects(case)
    with db.session.begin_nested():         # e.g. the outbox's add_once, the report cache's store
        pass
    db.session.rollback()
    assert [o in db.session for o in objects] == [False] * 4


def test_two_registrations_one_in_a_released_savepoint_both_go_with_the_outer_rollback(db_session):
    agency = _agency("RB5")
    outer = db.session.begin_nested()
    sp = db.session.begin_nested()
    first = register_case(agency, {"kind": "natural_person", "name": "周八"}, ["甲"], "post", TODAY)
    sp.commit()
    second = register_case(agency, {"kind": "natural_person", "name": "吴九"}, ["乙"], "post", TODAY)
    objects = _objects(first) + _objects(second)
    outer.rollback()
    assert [o in db.session for o in objects] == [False] * 8


def test_committed_registrations_stay_when_a_later_transaction_rolls_back(db_session):
    agency = _agency("RB6")
    kept = register_case(agency, {"kind": "natural_person", "name": "郑十"}, ["甲"], "post", TODAY)
    sp = db.session.begin_nested()
    sp.commit()
    db.session.commit()
    objects = _objects(kept)
    sp2 = db.session.begin_nested()
    gone = register_case(agency, {"kind": "natural_person", "name": "王十一"}, ["乙"], "post", TODAY)
    sp2.rollback()
    db.session.rollback()
    assert [o in db.session for o in objects] == [True] * 4
    assert gone not in db.session
    assert db.session.scalars(select(Case.number).where(Case.agency_id == agency.id)).all() == [kept.number]
