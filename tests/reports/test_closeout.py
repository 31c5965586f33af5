"""Year close-out: frozen versions, idempotence, new versions with diffs after a mend, final marking."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import make_case
from webapp.cases.services import record_event
from webapp.cases.services.interchange import record_appeal
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.errors import Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import ReportVersion
from webapp.reporting.services.closeout import close_year, latest_version, mark_final, versions

TODAY = date(2026, 1, 5)
PERSON = {"kind": "natural_person", "name": "张三", "phone": "13800000001"}
FIRM = {"kind": "commercial", "name": "某某建材有限公司", "phone": "0533-1234567"}


def answer(case, on: date, outcome: Outcome = Outcome.DISCLOSED):
    record_event(case, Event(type=EventType.ANSWERED, on=on, outcome=outcome), today=TODAY)


@pytest.fixture
def year2024(make_agency):
    """An agency with four cases of 2024: two ended in 2024, two open at its end (one is answered in
    2025, the other stays open until a test mends it)."""
    agency = make_agency("CO-A", "结账测试局")
    c1 = make_case(agency, None, date(2024, 3, 4), applicant=PERSON, items=["预算"], channel="online", today=TODAY)
    answer(c1, date(2024, 3, 15))
    c2 = make_case(agency, None, date(2024, 12, 20), applicant=FIRM, items=["规划"], channel="post", today=TODAY)
    answer(c2, date(2025, 1, 10), Outcome.PARTIAL)
    c3 = make_case(agency, None, date(2024, 5, 6), applicant=PERSON | {"name": "李四", "phone": "13800000002"},
                   items=["名单"], channel="online", today=TODAY)
    answer(c3, date(2024, 5, 20), Outcome.UNAVAILABLE_NOT_HELD)
    c4 = make_case(agency, None, date(2024, 12, 23), applicant=PERSON | {"name": "王五", "phone": "13800000003"},
                   items=["合同"], channel="in_person", today=TODAY)
    db.session.commit()
    return agency, {"c1": c1, "c2": c2, "c3": c3, "c4": c4}


def n_versions() -> int:
    return db.session.scalar(select(func.count(ReportVersion.id)))


def test_close_freezes_tables_with_case_ids(year2024):
    agency, c = year2024
    created = close_year(2024, agency, today=TODAY)
    assert [v.version for v in created] == [1]
    v = created[0]
    apps = v.data["applications"]
    assert apps["new"]["total"] == 4 and apps["new"]["natural_person"] == 3 and apps["new"]["commercial"] == 1
    assert apps["carried_out"]["total"] == 2
    assert apps["outcomes"]["disclosed"]["natural_person"] == 1
    assert apps["outcomes"]["unavailable.not_held"]["natural_person"] == 1
    assert v.cells["new/total"] == sorted(x.id for x in c.values())
    assert v.cells["carried_out/commercial"] == [c["c2"].id]
    assert v.cells["disclosed/natural_person"] == [c["c1"].id]
    assert v.carried_out_case_ids == sorted([c["c2"].id, c["c4"].id])
    assert v.diff == [] and not v.final


def test_close_twice_in_a_row_creates_no_new_version(year2024):
    agency, _c = year2024
    first = close_year(2024, agency, today=TODAY)
    db.session.commit()
    assert close_year(2024, agency, today=TODAY) == []
    assert close_year(2024, today=TODAY) == []          # all agencies: nothing changed either
    assert n_versions() == 1
    assert latest_version(agency, 2024).id == first[0].id


def test_refuses_a_year_not_over(year2024):
    agency, _c = year2024
    with pytest.raises(ServiceError) as e:
        close_year(2026, agency, today=TODAY)
    assert e.value.rule == "closeout.open_year" and "尚未结束" in e.value.message_zh


def test_mend_by_appeal_makes_new_version_naming_changed_cells(year2024):
    agency, c = year2024
    close_year(2024, agency, today=TODAY)
    db.session.commit()
    record_appeal(c["c1"], "review", date(2024, 6, 3), "pending", None)
    db.session.commit()
    (v2,) = close_year(2024, agency, today=TODAY)
    assert v2.version == 2
    changed = {d["cell"]: (d["old"], d["new"], d["added"], d["removed"]) for d in v2.diff}
    assert changed == {"appeals/review/pending": (0, 1, [c["c1"].id], []),
                       "appeals/review/total": (0, 1, [c["c1"].id], [])}
    assert v2.cells["appeals/review/pending"] == [c["c1"].id]
    labels = {d["label"] for d in v2.diff}
    assert labels == {"表四 行政复议·尚未审结", "表四 行政复议·总计"}
    assert close_year(2024, agency, today=TODAY) == []


def test_mend_by_late_event_moves_case_between_cells(year2024):
    agency, c = year2024
    close_year(2024, agency, today=TODAY)
    db.session.commit()
    # a late entry: c4 was in fact answered on 30 December 2024
    answer(c["c4"], date(2024, 12, 30))
    db.session.commit()
    (v2,) = close_year(2024, agency, today=TODAY)
    changed = {d["cell"]: (d["old"], d["new"]) for d in v2.diff}
    assert changed == {
        "applications/disclosed/natural_person": (1, 2), "applications/disclosed/total": (1, 2),
        "applications/total/natural_person": (2, 3), "applications/total/total": (2, 3),
        "applications/carried_out/natural_person": (1, 0), "applications/carried_out/total": (2, 1),
    }
    by_cell = {d["cell"]: d for d in v2.diff}
    assert by_cell["applications/carried_out/natural_person"]["removed"] == [c["c4"].id]
    assert by_cell["applications/disclosed/natural_person"]["added"] == [c["c4"].id]
    assert v2.carried_out_case_ids == [c["c2"].id]


def test_final_version_is_never_rewritten(year2024, make_user):
    agency, c = year2024
    approver = make_user("appr", "approver", agency)
    (v1,) = close_year(2024, agency, today=TODAY)
    mark_final(v1, approver)
    db.session.commit()
    frozen = dict(v1.data["appeals"]["review"])
    record_appeal(c["c3"], "review", date(2024, 7, 1), "upheld", date(2024, 9, 2))
    db.session.commit()
    (v2,) = close_year(2024, agency, today=TODAY)
    db.session.commit()
    db.session.expire_all()
    old = db.session.get(ReportVersion, v1.id)
    assert old.final and old.finalized_by_id == approver.id
    assert old.data["appeals"]["review"] == frozen
    assert v2.version == 2 and not v2.final
    assert [d["cell"] for d in v2.diff] == ["appeals/review/upheld", "appeals/review/total"]
    assert [v.version for v in versions(agency, 2024)] == [1, 2]


def test_final_version_freezes_its_narrative(app, year2024, make_user):
    """Marking final freezes the narrative text with the tables: a later edit of the narrative is a
    new narrative version for later report versions, never a change to the final report's files."""
    import io

    from docx import Document

    from webapp.reporting.routes.common import _render_version
    from webapp.reporting.services import narratives

    agency, _c = year2024
    approver = make_user("appr", "approver", agency)
    narratives.save(agency, 2024, {"problems": "问题：答复文书格式不统一。"}, approver)
    (v1,) = close_year(2024, agency, today=TODAY)
    mark_final(v1, approver)
    db.session.commit()
    narratives.save(agency, 2024, {"problems": "问题：后来改写的文字。"}, approver)
    db.session.commit()
    db.session.expire_all()
    v1 = db.session.get(ReportVersion, v1.id)
    assert v1.narrative_version == 1
    assert v1.narrative["problems"] == "问题：答复文书格式不统一。"
    assert set(v1.narrative) == set(narratives.narrative_keys())
    with app.test_request_context():
        text = "\n".join(p.text for p in Document(io.BytesIO(_render_version(v1, agency, "docx"))).paragraphs)
    assert "问题：答复文书格式不统一。" in text and "后来改写的文字" not in text
    # the narrative in force (for the live report and the next version) is the new one
    assert narratives.current(agency, 2024, v1.data)["problems"] == "问题：后来改写的文字。"


def test_mark_final_only_by_approver(year2024, make_user, make_agency):
    agency, _c = year2024
    (v1,) = close_year(2024, agency, today=TODAY)
    for role in ("clerk", "admin", "auditor"):
        with pytest.raises(Forbidden) as e:
            mark_final(v1, make_user(f"u-{role}", role, agency))
        assert "负责人" in e.value.message_zh
    with pytest.raises(Forbidden):
        mark_final(v1, None)
    other = make_user("other-approver", "approver", make_agency("CO-B", "另一局"))
    with pytest.raises(Forbidden) as e:
        mark_final(v1, other)
    assert e.value.rule == "report.finalize.agency"
    assert not v1.final
    mark_final(v1, make_user("appr", "approver", agency))
    assert v1.final


def test_mark_final_refused_when_a_check_fails_naming_cells(year2024, make_user):
    agency, c = year2024
    approver = make_user("appr", "approver", agency)
    close_year(2024, agency, today=TODAY)
    db.session.commit()
    # mend 2024 after its close-out: 2025's carried_in (frozen) no longer matches the case history
    answer(c["c4"], date(2024, 12, 30))
    db.session.commit()
    (v2025,) = close_year(2025, agency, today=TODAY)
    checks = {x["name"]: x for x in v2025.data["checks"]}
    assert not checks["carry_over"]["ok"] and not checks["balance"]["ok"]
    with pytest.raises(ServiceError) as e:
        mark_final(v2025, approver)
    msg = e.value.message_zh
    assert e.value.rule == "report.finalize.checks"
    assert "校验未通过" in msg
    assert "上年结转" in msg and "表三 上年结转·自然人" in msg and "表三 上年结转·总计" in msg
    assert "勾稽关系" in msg and "自然人列" in msg
    assert not v2025.final
    # closing 2024 again records the mend; then 2025 balances and can be final
    (v2,) = close_year(2024, agency, today=TODAY)
    assert v2.version == 2
    (v2025b,) = close_year(2025, agency, today=TODAY)
    assert {d["cell"] for d in v2025b.diff} >= {"applications/carried_in/natural_person"}
    assert all(x["ok"] for x in v2025b.data["checks"])
    mark_final(v2025b, approver)
    assert v2025b.final


def test_mark_final_refused_for_an_outdated_version(year2024, make_user):
    agency, c = year2024
    approver = make_user("appr", "approver", agency)
    (v1,) = close_year(2024, agency, today=TODAY)
    db.session.commit()
    record_appeal(c["c1"], "litigation_direct", date(2024, 8, 1), "pending", None)
    with pytest.raises(ServiceError) as e:
        mark_final(v1, approver)
    assert e.value.rule == "report.finalize.changed" and "重新结账" in e.value.message_zh
    (v2,) = close_year(2024, agency, today=TODAY)
    with pytest.raises(ServiceError) as e:
        mark_final(v1, approver)
    assert e.value.rule == "report.finalize.stale"
    mark_final(v2, approver)


def test_cli_year_close_and_versions(year2024, cli, time_machine):
    from datetime import datetime

    from webapp.timeutil import SHANGHAI

    _agency, c = year2024
    time_machine.move_to(datetime(2025, 1, 1, 0, 30, tzinfo=SHANGHAI), tick=False)
    res = cli.invoke(args=["year", "close", "2024", "--agency", "CO-A"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == ("CO-A 2024: v1 created; new 4, carried in 0, ended 2, carried out 2; checks ok")
    res = cli.invoke(args=["year", "close", "2024"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == ("CO-A 2024: unchanged, v1; new 4, carried in 0, ended 2, carried out 2; "
                                  "checks ok")
    record_appeal(c["c1"], "review", date(2024, 6, 3), "pending", None)
    db.session.commit()
    res = cli.invoke(args=["year", "close", "2024"])
    assert "CO-A 2024: v2 created, 2 cells changed;" in res.output
    res = cli.invoke(args=["report", "versions", "--agency", "CO-A", "--year", "2024"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("v1  ") and "0 cells changed" in lines[0]
    assert lines[1].startswith("v2  ") and "2 cells changed" in lines[1]
    assert lines[2].strip() == f"appeals/review/pending: 0 -> 1 +[{c['c1'].id}]"
    res = cli.invoke(args=["year", "close", "2025"])
    assert res.exit_code == 1 and "not over" in res.output
    res = cli.invoke(args=["year", "close", "2024", "--agency", "NOPE"])
    assert res.exit_code == 1 and "no agency" in res.output
