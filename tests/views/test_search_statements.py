"""Issue 15, the search pages' statements on a province: a term without case (Chinese) is matched with
LIKE, which finds the same rows as ILIKE for it; ILIKE lowercased every value it tested (item text and
the names on file: BENCHMARKS.md, Province, "Fifth session: search pages")."""

from __future__ import annotations

from datetime import date

from tests.factories import person
from tests.views.test_province_scale import numbers, statements
from webapp.extensions import db


def _postgresql(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def test_which_terms_have_no_case():
    from webapp.cases.matching import caseless

    terms = ("财政预算", "2023年度（第1号）", "王 伟", "", "Budget", "财政ABC", "ǅ", "Ⓐ", "ß")
    assert [caseless(t) for t in terms] == [True, True, True, True, False, False, False, False, False]


def test_a_term_without_case_is_matched_with_like_and_one_with_case_with_ilike(app, world, new_case, login):
    new_case(world.a, date(2024, 5, 6), items=["关于2023年度财政预算执行情况的报告"],
             applicant=person("赵钱孙", body="37030519900101001"))
    new_case(world.a, date(2024, 5, 7), items=["Budget 财政 REPORT"],
             applicant=person("Li Lei", body="37030519900101002"))
    client = login(world.a.clerk)
    with statements(app, parameters=True) as seen:
        assert numbers(client.get("/cases?text=财政预算").text) == ["LZ-SWJ-2024-0001"]
        assert numbers(client.get("/cases?text=财政").text) == ["LZ-SWJ-2024-0002", "LZ-SWJ-2024-0001"]
        assert numbers(client.get("/cases?text=budget 财政 report").text) == ["LZ-SWJ-2024-0002"]
        assert numbers(client.get("/cases?applicant=赵钱孙").text) == ["LZ-SWJ-2024-0001"]
        assert numbers(client.get("/cases?applicant=li lei").text) == ["LZ-SWJ-2024-0002"]
    items = [s for s, _p in seen if "case_item.text" in s and "EXISTS" in s]
    names = [s for s, _p in seen if s.lstrip().startswith("SELECT applicant_name.name")]
    assert len(items) == 3 and len(names) == 2, (items, names)
    if _postgresql(app):    # SQLite: LIKE for all (case-insensitive there for ASCII)
        assert ["ILIKE" in s for s in items] == [False, False, True] and ["LIKE" in s for s in items] == [True] * 3
        assert ["applicant_name.name ILIKE" in s for s in names] == [False, True]
        assert "applicant_name.name LIKE" in names[0]
    else:
        assert not any("ILIKE" in s or "lower(" in s for s in items + names)
