"""An agency's opening balance (期初数（上年已公开报告）, issue #15): its first report's 上年结转 and
现行有效件数 chains hold against the figures of its published report of the year before."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.factories import make_case
from webapp.cases.services import record_event
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import AuditLog, ReportVersion
from webapp.reporting.services import build_report, opening
from webapp.reporting.services.closeout import close_agency_year, mark_final
from webapp.reporting.services.drilldown import entries_in_cell
from webapp.reporting.services.proactive_ledger import save_year
from webapp.timeutil import SHANGHAI

TODAY = date(2025, 1, 6)
pytestmark = pytest.mark.time_machine(datetime(2025, 1, 6, 10, 0, tzinfo=SHANGHAI), tick=False)

#: 2023's published 结转下年度继续办理 and 现行有效件数 of the agency whose first year here is 2024
CARRIED = {"natural_person": 2, "commercial": 1, "research": 0, "public_interest": 1, "legal_service": 0,
           "other_org": 0, "total": 4}
IN_FORCE = {"rules": 3, "normative_documents": 12}
FIGURES = {"carried_out": CARRIED, "in_force": IN_FORCE}
NAMES = {"natural_person": "张三", "commercial": "某某建材有限公司", "public_interest": "某某公益基金会"}


def _case(agency, kind: str, received: date, n: int, answered: date | None = None):
    c = make_case(agency, None, received, applicant={"kind": kind, "name": f"{NAMES[kind]}{n}",
                  "phone": f"1380000{n:04d}"}, items=[f"信息{n}"], channel="post", today=TODAY)
    if answered is not None:
        record_event(c, Event(type=EventType.ANSWERED, on=answered, outcome=Outcome.DISCLOSED), today=TODAY)
    return c


def first_year_2024(agency) -> None:
    """2024, the agency's first year here: the four applications carried over from 2023 entered
    with their receipt dates (three answered in 2024, one still open), two new ones; the 2024
    ledger (规章 3 + 1 issued = 4; 规范性文件 12 + 2 - 1 = 13)."""
    n = 0
    for kind, k in (("natural_person", 2), ("commercial", 1), ("public_interest", 1)):
        for _ in range(k):
            n += 1
            _case(agency, kind, date(2023, 12, 10 + n), n, date(2024, 1, 15) if n < 4 else None)
    _case(agency, "natural_person", date(2024, 3, 4), 10, date(2024, 3, 20))
    _case(agency, "commercial", date(2024, 12, 24), 11)
    save_year(agency, 2024, {"rules_issued": 1, "rules_in_force": 4, "normative_issued": 2,
                             "normative_repealed": 1, "normative_in_force": 13})


def checks(report) -> dict[str, bool]:
    return {c["name"]: c["ok"] for c in report["checks"]}


ALL_OK = {"balance": True, "outcome_sum": True, "column_sum": True, "carry_over": True, "proactive_in_force": True}


def test_entered_opening_balance_is_the_first_reports_carried_in_and_checks_pass(make_agency, make_user):
    agency = make_agency("OB-A", "期初测试局")
    admin = make_user("ob_admin", "admin", agency)
    first_year_2024(agency)
    before = build_report([agency], 2024)
    assert before["applications"]["carried_in"]["total"] == 4          # counted, no chain to check
    assert "proactive_in_force" not in checks(before)

    v, changed = opening.save_opening(agency, 2023, FIGURES, admin)
    db.session.commit()
    assert changed and v.opening and v.year == 2023 and v.reason == "期初数（上年已公开报告）"
    rep = build_report([agency], 2024)
    assert rep["applications"]["carried_in"] == CARRIED
    assert rep["applications"]["new"]["total"] == 2
    assert checks(rep) == ALL_OK

    # a wrong opening figure shows: the carried-over applications held here do not match it
    opening.save_opening(agency, 2023, {"carried_out": {**CARRIED, "research": 1, "total": 5}, "in_force":
                                        {"rules": 2, "normative_documents": 12}}, admin)
    rep = build_report([agency], 2024)
    assert rep["applications"]["carried_in"]["research"] == 1
    failed = {c["name"]: c["detail"] for c in rep["checks"] if not c["ok"]}
    assert set(failed) == {"balance", "carry_over", "proactive_in_force"}
    assert failed["carry_over"] == ("carried_in/research = 1 != carried_out of 2023 0; "
                                    "carried_in/total = 5 != carried_out of 2023 4")
    assert failed["proactive_in_force"] == "rules/in_force = 4 != 2 + 1 - 0 = 3"


def test_drill_down_of_the_opening_figure_names_the_opening_balance(make_agency, make_user, client):
    from tests.conftest import sign_in

    agency = make_agency("OB-D", "期初下钻局")
    admin = make_user("obd_admin", "admin", agency)
    first_year_2024(agency)
    opening.save_opening(agency, 2023, FIGURES, admin)
    db.session.commit()
    assert entries_in_cell([agency], 2024, "carried_in", "natural_person") == (2, [])
    sign_in(client, admin)
    html = client.get("/reports/agency/OB-D/2024/cases/carried_in/natural_person").get_data(as_text=True)
    assert '<strong class="rp-cell-total">2</strong>' in html
    assert "本格2件来自期初数（上年已公开报告）：2023年度已公开的年度报告中“结转下年度继续办理”的数字" in html
    assert "rp-cases" not in html and "本格没有案件" not in html


def test_import_from_the_services_report_json_gives_the_same(make_agency, make_user, cli, tmp_path):
    """A 2023 report built elsewhere (tests/data/examples/small-year.json moved back one year)
    with `flask report build --format json`, imported with `flask report opening`."""
    from tests.data import EXAMPLES
    from tests.reports.conftest import import_doc

    text = EXAMPLES.joinpath("small-year.json").read_text(encoding="utf-8")
    doc = json.loads(text.replace("2025-", "2024=").replace("2024-", "2023-").replace("2024=", "2024-")
                     .replace('"2024"', '"2023"').replace('"2025"', '"2024"'))
    import_doc(cli, doc, tmp_path)
    out = tmp_path / "sl-2023.json"
    res = cli.invoke(args=["report", "build", "--agency", "SL-ZFB", "--year", "2023", "--format", "json",
                           "--out", str(out)])
    assert res.exit_code == 0, res.output
    built = json.loads(out.read_text(encoding="utf-8"))
    want = {"natural_person": 2, "commercial": 0, "research": 0, "public_interest": 0, "legal_service": 0,
            "other_org": 0, "total": 2}
    assert built["applications"]["carried_out"] == want
    assert built["proactive"]["normative_documents"]["in_force"] == 12

    typed, imported = make_agency("OB-T", "手工录入局"), make_agency("OB-J", "文件导入局")
    opening.save_opening(typed, 2023, {"carried_out": want, "in_force": {"rules": 0, "normative_documents": 12}})
    res = cli.invoke(args=["report", "opening", "--agency", "OB-J", "--year", "2023", "--from", str(out)])
    assert res.exit_code == 0, res.output
    assert "OB-J 2023: opening balance saved" in res.output
    for a in (typed, imported):
        for n in (1, 2):
            _case(a, "natural_person", date(2023, 12, 20 + n), n, date(2024, 2, 1))
        save_year(a, 2024, {"normative_issued": 1, "normative_in_force": 13})
    db.session.commit()
    a, b = build_report([typed], 2024), build_report([imported], 2024)
    assert a["applications"]["carried_in"] == b["applications"]["carried_in"] == want
    assert checks(a) == checks(b) == ALL_OK
    assert opening.figures_of(opening.opening_version(imported, 2023)) == \
        opening.figures_of(opening.opening_version(typed, 2023))
    # the same file again changes nothing
    res = cli.invoke(args=["report", "opening", "--agency", "OB-J", "--year", "2023", "--from", str(out)])
    assert res.exit_code == 0 and "unchanged" in res.output


def test_xlsx_template_round_trip(make_agency, tmp_path):
    agency = make_agency("OB-X", "模板局")
    data = opening.template_xlsx(agency, 2023, FIGURES)
    assert opening.figures_from_xlsx(data, 2023) == FIGURES
    blank = opening.template_xlsx(agency, 2023)
    with pytest.raises(ServiceError) as e:
        opening.figures_from_xlsx(blank, 2023)
    assert e.value.message_zh == "单元格B6（表三 结转下年度继续办理·自然人）须为非负整数（填写的是空白）。"
    with pytest.raises(ServiceError) as e:
        opening.figures_from_xlsx(data, 2022)
    assert e.value.message_zh == "单元格B2的年度（2023）与期初年度2022不符。"


def test_a_bad_total_is_refused_naming_the_cell(make_agency):
    agency = make_agency("OB-B", "合计错误局")
    with pytest.raises(ServiceError) as e:
        opening.save_opening(agency, 2023, {"carried_out": {**CARRIED, "total": 5}, "in_force": IN_FORCE})
    assert e.value.message_zh == "表三 结转下年度继续办理·总计填写为5，与六类申请人之和4不符。"
    with pytest.raises(ServiceError) as e:
        opening.save_opening(agency, 2023, {"carried_out": {**CARRIED, "commercial": -1}, "in_force": IN_FORCE})
    assert e.value.message_zh == "表三 结转下年度继续办理·商业企业须为非负整数（填写的是“-1”）。"
    with pytest.raises(ServiceError) as e:
        opening.save_opening(agency, 2023, {"carried_out": {**CARRIED, "法人": 1}, "in_force": IN_FORCE})
    assert e.value.rule == "opening.structure"
    assert db.session.scalar(select(ReportVersion.id)) is None


def test_a_year_with_cases_or_closed_is_refused(make_agency):
    agency = make_agency("OB-C", "已有案件局")
    _case(agency, "natural_person", date(2023, 11, 1), 1, date(2023, 11, 20))
    with pytest.raises(ServiceError) as e:
        opening.save_opening(agency, 2023, FIGURES)
    assert e.value.message_zh == ("已有案件局在本系统中已有1件在2023年12月31日前办结的申请，"
                                  "2023年度的数字由案件记录统计，不能录入期初数。")
    other = make_agency("OB-K", "已结账局")
    close_agency_year(other, 2023, today=TODAY)
    with pytest.raises(ServiceError) as e:
        opening.save_opening(other, 2023, FIGURES)
    assert e.value.rule == "opening.closed"
    assert "已在本系统结账" in e.value.message_zh
    # and an opening year is not closed over
    third = make_agency("OB-O", "期初局")
    opening.save_opening(third, 2023, FIGURES)
    with pytest.raises(ServiceError) as e:
        close_agency_year(third, 2023, today=TODAY)
    assert e.value.rule == "closeout.opening"
    with pytest.raises(ServiceError) as e:       # one opening balance per agency
        opening.save_opening(third, 2022, FIGURES)
    assert e.value.message_zh == ("期初局已有2023年度的期初数：期初数只录入开始使用本系统前一年度的数字，"
                                  "不能再录入2022年度的。")
    assert db.session.scalar(select(ReportVersion.id).where(ReportVersion.agency_id == agency.id)) is None


def test_locked_once_the_next_years_report_is_final_and_every_change_audited(make_agency, make_user):
    agency = make_agency("OB-L", "锁定局")
    admin = make_user("obl_admin", "admin", agency)
    approver = make_user("obl_approver", "approver", agency)
    first_year_2024(agency)
    opening.save_opening(agency, 2023, {"carried_out": {**CARRIED, "other_org": 1, "total": 5},
                                        "in_force": IN_FORCE}, admin)
    opening.save_opening(agency, 2023, FIGURES, admin)            # mended before 2024 is final
    assert opening.save_opening(agency, 2023, FIGURES, admin)[1] is False   # same figures: no change
    v2024, _ = close_agency_year(agency, 2024, today=TODAY)
    mark_final(v2024, approver)
    db.session.commit()
    with pytest.raises(ServiceError) as e:
        opening.save_opening(agency, 2023, {"carried_out": CARRIED, "in_force": {"rules": 3,
                                                                                  "normative_documents": 11}}, admin)
    assert e.value.message_zh == "2024年度报告已定稿，2023年度期初数已锁定，不能再修改。"
    assert opening.figures_of(opening.opening_version(agency, 2023)) == FIGURES
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "report.opening").order_by(AuditLog.id)))
    assert [r.detail["op"] for r in rows] == ["enter", "change"]
    assert rows[0].detail["old"] is None
    assert rows[0].detail["new"]["carried_out"]["other_org"] == 1
    assert rows[1].detail["old"]["carried_out"] == {**CARRIED, "other_org": 1, "total": 5}
    assert rows[1].detail["new"] == FIGURES
    assert {r.user_id for r in rows} == {admin.id}
    assert rows[0].target_id == str(opening.opening_version(agency, 2023).id)
    # the opening balance itself is never marked final
    with pytest.raises(ServiceError) as e:
        mark_final(opening.opening_version(agency, 2023), approver)
    assert e.value.rule == "report.finalize.opening"


def test_no_annual_report_reminder_and_no_change_banner_for_an_opening_year(make_agency, make_user, client):
    """An agency whose first year is 2025: its 2024 is an opening balance, not a report to publish,
    although a carried-over application received in 2024 is in the service."""
    from tests.conftest import sign_in
    from webapp.notify.reminders import annual_report_reminders

    agency = make_agency("OB-R", "提醒局")
    make_user("obr_approver", "approver", agency)
    admin = make_user("obr_admin", "admin", agency)
    _case(agency, "natural_person", date(2024, 12, 20), 1)
    opening.save_opening(agency, 2024, {"carried_out": {**dict.fromkeys(CARRIED, 0), "natural_person": 1,
                                                        "total": 1}, "in_force": IN_FORCE}, admin)
    db.session.commit()
    assert annual_report_reminders(TODAY) == 0
    sign_in(client, admin)
    html = client.get("/reports/agency/OB-R/2024").get_data(as_text=True)
    assert "期初数" in html and "rp-stale" not in html
    assert build_report([agency], 2025)["applications"]["carried_in"]["natural_person"] == 1
