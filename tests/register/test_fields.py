"""Issue 15: headers recognised by their usual names, outcome wording -> Outcome codes, dates in the
forms offices write them; the register routes are for agency administrators only."""

from datetime import date, datetime

import pytest

from webapp.register import fields as F
from webapp.security import PERMISSIONS


@pytest.mark.parametrize(("header", "key"), [
    ("收到日期", "received_on"), ("收文日期", "received_on"), ("申请日期", "received_on"), ("受理日期", "received_on"),
    ("答复日期", "answered_on"), ("办结日期", "answered_on"), ("办理结果", "outcome"), ("答复结果", "outcome"),
    ("处理结果", "outcome"), ("申请人（姓名）", "name"), (" 身份证号码 ", "id_number"), ("申请方式", "channel"),
    ("补正告知", "correction_on"), ("征求意见止", "consultation_ended_on"), ("备注", None),
])
def test_headers(header, key):
    assert F.recognise(header) == key


@pytest.mark.parametrize(("text", "code"), [
    ("予以公开", "disclosed"), ("公开", "disclosed"), ("部分公开", "partial"),
    ("不予公开-属于国家秘密", "withheld.state_secret"), ("属于国家秘密", "withheld.state_secret"),
    ("（三）1．属于国家秘密", "withheld.state_secret"), ("4．保护第三方合法权益", "withheld.third_party"),
    ("无法提供—本机关不掌握相关政府信息", "unavailable.not_held"), ("不予处理：重复申请", "not_processed.duplicate"),
    ("逾期不补正", "other.correction_lapsed"), ("逾期未缴费", "other.fee_unpaid"), ("撤回", "withdrawn"),
    ("unavailable.needs_creation", "unavailable.needs_creation"), ("", None),
])
def test_outcome_wording(text, code):
    assert F.read_outcome(text) == code


def test_every_outcome_label_is_read_back():
    from webapp.domain.outcomes import Outcome
    from webapp.register.export import outcome_label

    assert {o.value: F.read_outcome(outcome_label(o.value)) for o in Outcome} == {o.value: o.value for o in Outcome}


@pytest.mark.parametrize(("value", "day"), [
    ("2024-03-01", date(2024, 3, 1)), ("2024/3/1", date(2024, 3, 1)), ("2024.3.1", date(2024, 3, 1)),
    ("2024年3月1日", date(2024, 3, 1)), ("20240301", date(2024, 3, 1)), ("2024-03-01 00:00:00", date(2024, 3, 1)),
    (datetime(2024, 3, 1, 0, 0), date(2024, 3, 1)),  # noqa: DTZ001 (an Excel cell: naive)
    (date(2024, 3, 1), date(2024, 3, 1)), ("", None), (None, None),
])
def test_dates(value, day):
    assert F.read_date(value) == day


@pytest.mark.parametrize("value", ["2023.13.01", "2024-02-30", "3月1日", "45352"])
def test_bad_dates(value):
    with pytest.raises(F.CellError) as e:
        F.read_date(value)
    assert e.value.args[0] == f"日期格式无法识别“{value}”"


def test_unknown_outcome_and_channel():
    with pytest.raises(F.CellError, match="办理结果无法识别“同意”"):
        F.read_outcome("同意")
    assert F.read_channel("网上申请") == "online" and F.read_channel("信函") == "post"
    with pytest.raises(F.CellError, match="渠道无法识别“微信”"):
        F.read_channel("微信")


def test_register_routes_need_the_admin_action(app):
    rules = {r.endpoint: r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("register.")}
    assert sorted(rules.values()) == ["/register/<code>/import", "/register/<code>/import/commit",
                                      "/register/<code>/import/mapping", "/register/<code>/register.xlsx",
                                      "/register/<code>/template.xlsx"]
    assert {getattr(app.view_functions[e], "required_action", None) for e in rules} == {"register.import"}
    assert PERMISSIONS["register.import"] == frozenset({"admin"})
