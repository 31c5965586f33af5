"""The five checks of report.md: each fails for a constructed reason and names the failing cells."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from tests.data import EXAMPLES
from tests.factories import make_case
from webapp.cases.services import record_event
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import ProactiveYear
from webapp.reporting.services import build_report, run_checks
from webapp.reporting.services.closeout import close_year, describe_failures, failures_text_zh

TODAY = date(2026, 1, 5)


@pytest.fixture
def zero() -> dict:
    doc = json.loads((EXAMPLES / "seed-agency-2023.expected.json").read_text(encoding="utf-8"))
    report = doc["reports"]["2023"]
    report.pop("checks")
    return report


def failing(report, prev_carried_out=None, prev_proactive=None) -> dict[str, dict]:
    checks = run_checks(report, prev_carried_out, prev_proactive)
    return {f["name"]: f for f in describe_failures(checks)}


def test_zero_report_passes_every_check(zero):
    checks = run_checks(zero, dict.fromkeys(zero["applications"]["new"], 0),
                        (zero["proactive"], copy.deepcopy(zero["proactive"])))
    assert [c["name"] for c in checks] == ["balance", "outcome_sum", "column_sum", "carry_over",
                                           "proactive_in_force"]
    assert all(c["ok"] for c in checks)


def test_balance_fails_naming_the_columns(zero):
    r = copy.deepcopy(zero)
    r["applications"]["new"]["natural_person"] = 3
    r["applications"]["new"]["total"] = 3
    f = failing(r)
    assert set(f) == {"balance"}
    assert f["balance"]["cells"] == ["applications/total/natural_person", "applications/total/total"]
    assert f["balance"]["cell_names"] == ["自然人列", "总计列"]
    assert "natural_person: new 3 + carried_in 0 != total 0 + carried_out 0" in f["balance"]["detail"]
    assert failures_text_zh(f.values()).startswith("勾稽关系")


def test_outcome_sum_fails_naming_the_total_cells(zero):
    r = copy.deepcopy(zero)
    apps = r["applications"]
    apps["total"]["commercial"] = 2
    apps["total"]["total"] = 2
    apps["carried_in"]["commercial"] = 2      # keep the balance
    apps["carried_in"]["total"] = 2
    f = failing(r)
    assert set(f) == {"outcome_sum"}
    assert f["outcome_sum"]["cell_names"] == ["表三 办理结果（七）总计·商业企业", "表三 办理结果（七）总计·总计"]


def test_column_sum_fails_naming_the_row_total(zero):
    r = copy.deepcopy(zero)
    apps = r["applications"]
    apps["outcomes"][Outcome.WITHHELD_STATE_SECRET.value]["research"] = 1   # total column left at 0
    apps["total"]["research"] = 1
    apps["carried_in"]["research"] = 1
    f = failing(r)
    assert set(f) == {"column_sum"}
    assert f["column_sum"]["cells"] == ["applications/carried_in/total", "applications/withheld.state_secret/total",
                                        "applications/total/total"]
    assert f["column_sum"]["cell_names"] == ["表三 上年结转·总计", "表三 （三）不予公开1．属于国家秘密·总计",
                                             "表三 办理结果（七）总计·总计"]


def test_carry_over_fails_against_a_constructed_previous_year(zero):
    prev = dict.fromkeys(zero["applications"]["new"], 0) | {"legal_service": 1, "total": 1}
    f = failing(zero, prev_carried_out=prev)
    assert set(f) == {"carry_over"}
    assert f["carry_over"]["cell_names"] == ["表三 上年结转·法律服务机构", "表三 上年结转·总计"]


def test_proactive_in_force_fails_against_a_constructed_previous_year(zero):
    r = copy.deepcopy(zero)
    r["proactive"]["normative_documents"] = {"issued": 2, "repealed": 1, "in_force": 9}
    prev = copy.deepcopy(zero["proactive"])
    prev["normative_documents"]["in_force"] = 7
    f = failing(r, prev_proactive=(r["proactive"], prev))
    assert set(f) == {"proactive_in_force"}
    assert f["proactive_in_force"]["cell_names"] == ["表二 行政规范性文件·现行有效件数"]
    assert "normative_documents/in_force = 9 != 7 + 2 - 1 = 8" in f["proactive_in_force"]["detail"]


def test_carry_over_fails_after_a_closed_year_is_mended(make_agency):
    """Freeze 2024, then mend a 2024 case: 2025's carried_in (the frozen carried_out) no longer
    matches the case history, and the failing cells are named."""
    agency = make_agency("CK-A", "校验测试局")
    case = make_case(agency, None, date(2024, 12, 24), applicant={"kind": "research", "name": "某研究院",
                     "phone": "0533-1"}, items=["数据"], channel="post", today=TODAY)
    close_year(2024, agency, today=TODAY)
    db.session.commit()
    assert all(c["ok"] for c in build_report([agency], 2025)["checks"])
    record_event(case, Event(type=EventType.ANSWERED, on=date(2024, 12, 31), outcome=Outcome.DISCLOSED),
                 today=TODAY)
    db.session.commit()
    report = build_report([agency], 2025)
    assert report["applications"]["carried_in"]["research"] == 1     # the frozen figure
    f = {x["name"]: x for x in describe_failures(report["checks"])}
    assert f["carry_over"]["cell_names"] == ["表三 上年结转·科研机构", "表三 上年结转·总计"]
    assert f["balance"]["cell_names"] == ["科研机构列", "总计列"]


def test_proactive_in_force_fails_for_an_inconsistent_ledger(make_agency):
    agency = make_agency("CK-B", "台账测试局")
    db.session.add(ProactiveYear(agency_id=agency.id, year=2023, rules_in_force=3, normative_in_force=10))
    db.session.add(ProactiveYear(agency_id=agency.id, year=2024, rules_issued=1, rules_in_force=5,
                                 normative_issued=2, normative_repealed=1, normative_in_force=11))
    db.session.flush()
    report = build_report([agency], 2024)
    check = next(c for c in report["checks"] if c["name"] == "proactive_in_force")
    assert not check["ok"]
    (f,) = describe_failures([check])
    assert f["cell_names"] == ["表二 规章·现行有效件数"]        # 10 + 2 - 1 = 11 holds for 规范性文件
    assert f["detail"] == "rules/in_force = 5 != 3 + 1 - 0 = 4"
