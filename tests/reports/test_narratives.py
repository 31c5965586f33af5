"""Narratives: a draft with the year's figures until something is saved; each change a new version."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import make_case
from webapp.errors import ServiceError
from webapp.reporting.services import narratives
from webapp.reporting.services import proactive_ledger as proactive
from webapp.reporting.services.report_docs import render_report


def test_draft_states_the_year_figures(make_agency):
    agency = make_agency()
    text = narratives.current(agency, 2023)
    assert text["on_request"] == "2023年，我单位未收到政府信息公开申请。"
    assert narratives.history(agency, 2023) == []
    make_case(agency, None, date(2024, 3, 4), applicant={"kind": "natural_person", "name": "甲", "phone": "1"},
              items=["x"], channel="online", today=date(2026, 1, 5))
    proactive.save_year(agency, 2024, {"categories": "业务工作=11\n其他=2"})
    text = narratives.current(agency, 2024)
    assert text["on_request"].startswith("2024年，本机关共收到政府信息公开申请1件")
    # (the order of the categories is the stored dict's: JSONB on PostgreSQL does not keep the typed order)
    assert "公布信息共13条。其中，" in text["proactive"]
    assert "业务工作11条" in text["proactive"] and "其他2条" in text["proactive"]


def test_saves_are_versioned_and_used_in_the_report(make_agency, make_user):
    agency = make_agency()
    clerk = make_user("c1", "clerk", agency)
    base = narratives.current(agency, 2023)
    v1, added = narratives.save(agency, 2023, base | {"problems": "问题一。"}, clerk, note="初稿")
    assert added and v1.version == 1 and v1.edited_by_id == clerk.id
    same, added = narratives.save(agency, 2023, base | {"problems": "问题一。"}, clerk)
    assert not added and same.id == v1.id
    v2, added = narratives.save(agency, 2023, base | {"problems": "问题二。", "measures": "措施。"}, clerk)
    assert added and v2.version == 2
    assert [n.version for n in narratives.history(agency, 2023)] == [2, 1]
    assert narratives.changed_keys(v1.sections, v2.sections) == ["problems", "measures"]
    assert narratives.current(agency, 2023)["problems"] == "问题二。"
    assert v1.sections["problems"] == "问题一。"                      # the old version is kept as it was
    html = render_report([agency], 2023, "html").decode("utf-8")
    assert "问题二。" in html and "措施。" in html


def test_unknown_sections_refused(make_agency):
    with pytest.raises(ServiceError):
        narratives.save(make_agency(), 2023, {"nonsense": "x"})


def test_figures_are_data_fields_that_follow_the_cases(make_agency, make_user):
    """The editor shows the draft's figure sentences as data fields; saved as they are, or written
    into the office's own words, they are filled from the cases whenever a document is made - a
    mended case changes the text too, and nobody types a figure by hand (report.md)."""
    agency = make_agency()
    clerk = make_user("c1", "clerk", agency)
    person = {"kind": "natural_person", "name": "甲", "phone": "1"}
    make_case(agency, None, date(2024, 3, 4), applicant=person, items=["x"], channel="online", today=date(2026, 1, 5))
    edited = narratives.current(agency, 2024, filled=False)
    assert (edited["on_request"], edited["fees"]) == ("{{依申请公开情况}}", "{{信息处理费情况}}")
    assert narratives.current(agency, 2024)["on_request"].startswith("2024年，本机关共收到政府信息公开申请1件")
    own = "本年度共收到申请{{ 新收申请数 }}件，办结{{办结数}}件。"
    narratives.save(agency, 2024, edited | {"overview": own}, clerk)
    make_case(agency, None, date(2024, 5, 6), applicant=person | {"name": "乙", "phone": "2"}, items=["y"],
              channel="post", today=date(2026, 1, 5))
    text = narratives.current(agency, 2024)
    assert text["overview"] == "本年度共收到申请2件，办结0件。"
    assert text["on_request"].startswith("2024年，本机关共收到政府信息公开申请2件")
    html = render_report([agency], 2024, "html").decode("utf-8")
    assert "本年度共收到申请2件，办结0件。" in html and "{{" not in html
    assert narratives.fields(agency, 2024)["新收申请数"] == "2"


def test_unknown_data_fields_are_refused(make_agency):
    with pytest.raises(ServiceError) as e:
        narratives.save(make_agency(), 2023, {"overview": "共{{新收申请数}}件，{{随便写}}。"})
    assert e.value.rule == "narrative.field" and "{{随便写}}" in e.value.message_zh
