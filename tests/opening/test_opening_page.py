"""The opening-balance page under /reports: administrator only, CSRF, typed figures or an uploaded
file, refusals shown in Chinese; and the permission matrix walks the new routes."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.conftest import sign_in
from webapp.extensions import db
from webapp.models import AuditLog
from webapp.reporting.services import opening
from webapp.timeutil import SHANGHAI

pytestmark = pytest.mark.time_machine(datetime(2025, 1, 6, 10, 0, tzinfo=SHANGHAI), tick=False)

TYPED = {"carried_natural_person": "2", "carried_commercial": "1", "carried_research": "0",
         "carried_public_interest": "1", "carried_legal_service": "0", "carried_other_org": "0",
         "carried_total": "4", "in_force_rules": "3", "in_force_normative_documents": "12"}
URL = "/reports/agency/OP-P/2023/opening"


def _token(client, url: str = URL) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_admin_enters_typed_figures(make_agency, make_user, client, csrf_on):
    agency = make_agency("OP-P", "页面局")
    admin = make_user("opp_admin", "admin", agency)
    db.session.commit()
    sign_in(client, admin)
    page = client.get(URL)
    assert page.status_code == 200
    assert "页面局 2023年度期初数（上年已公开报告）" in page.get_data(as_text=True)
    # without the CSRF token nothing is saved (the application's CSRF protection: 400)
    assert client.post(URL, data=TYPED).status_code == 400
    assert opening.opening_version(agency, 2023) is None
    res = client.post(URL, data={**TYPED, "csrf_token": _token(client)})
    assert res.status_code == 302
    assert opening.figures_of(opening.opening_version(agency, 2023)) == {
        "carried_out": {"natural_person": 2, "commercial": 1, "research": 0, "public_interest": 1,
                        "legal_service": 0, "other_org": 0, "total": 4},
        "in_force": {"rules": 3, "normative_documents": 12}}
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "report.opening"))
    assert row.user_id == admin.id and row.detail["source"] == "手工录入"
    # a bad total: refused naming the cell, nothing changed
    res = client.post(URL, data={**TYPED, "carried_total": "5", "csrf_token": _token(client)})
    assert res.status_code == 422
    assert "表三 结转下年度继续办理·总计填写为5，与六类申请人之和4不符。" in res.get_data(as_text=True)
    assert opening.figures_of(opening.opening_version(agency, 2023))["carried_out"]["total"] == 4
    # the report page of 2023 says what it is
    assert "期初数" in client.get("/reports/").get_data(as_text=True)


def test_admin_uploads_the_report_json_or_the_template(make_agency, make_user, client, csrf_on):
    agency = make_agency("OP-P", "页面局")
    admin = make_user("opp_admin2", "admin", agency)
    db.session.commit()
    sign_in(client, admin)
    tpl = client.get(URL + "/template.xlsx")
    assert tpl.status_code == 200 and tpl.data[:2] == b"PK"
    figures = {"carried_out": {"natural_person": 1, "commercial": 0, "research": 0, "public_interest": 0,
                               "legal_service": 2, "other_org": 0, "total": 3},
               "in_force": {"rules": 0, "normative_documents": 7}}
    filled = opening.template_xlsx(agency, 2023, figures)
    res = client.post(URL, data={"csrf_token": _token(client), "upload": (io.BytesIO(filled), "期初.xlsx")},
                      content_type="multipart/form-data")
    assert res.status_code == 302
    assert opening.figures_of(opening.opening_version(agency, 2023)) == figures
    report = {"format": "disclosure-annual-report/1", "year": 2022, "agencies": [{"code": "X", "name": "X"}],
              "applications": {"carried_out": figures["carried_out"]},
              "proactive": {"rules": {"in_force": 0}, "normative_documents": {"in_force": 7}}}
    res = client.post(URL, data={"csrf_token": _token(client),
                                 "upload": (io.BytesIO(json.dumps(report).encode()), "r.json")},
                      content_type="multipart/form-data")
    assert res.status_code == 422
    assert "文件是2022年度的报告，期初数应取自2023年度的报告。" in res.get_data(as_text=True)
    report["year"] = 2023
    report["applications"]["carried_out"] = {**figures["carried_out"], "commercial": 4, "total": 7}
    res = client.post(URL, data={"csrf_token": _token(client),
                                 "upload": (io.BytesIO(json.dumps(report).encode()), "r.json")},
                      content_type="multipart/form-data")
    assert res.status_code == 302
    assert opening.figures_of(opening.opening_version(agency, 2023))["carried_out"]["commercial"] == 4
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "report.opening").order_by(AuditLog.id)))
    assert [r.detail["source"] for r in rows] == ["导入文件：期初.xlsx", "导入文件：r.json"]


def test_only_an_administrator_and_only_the_own_agency(make_agency, make_user, client):
    agency = make_agency("OP-P", "页面局")
    other = make_agency("OP-Q", "他局")
    users = {r: make_user(f"opr_{r}", r, agency) for r in ("clerk", "approver", "auditor", "admin")}
    db.session.commit()
    for role in ("clerk", "approver", "auditor"):
        sign_in(client, users[role])
        assert client.get(URL).status_code == 403
        assert client.post(URL, data=TYPED).status_code == 403
        assert client.get(URL + "/template.xlsx").status_code == 403
    sign_in(client, users["admin"])
    assert client.get("/reports/agency/OP-Q/2023/opening").status_code == 404
    assert client.post("/reports/agency/OP-Q/2023/opening", data=TYPED).status_code == 404
    assert opening.opening_version(other, 2023) is None


def test_the_year_with_cases_shows_why_and_offers_no_form(make_agency, make_user, client):
    from tests.opening.test_opening import _case

    agency = make_agency("OP-P", "页面局")
    admin = make_user("opc_admin", "admin", agency)
    _case(agency, "natural_person", date(2023, 5, 1), 1, date(2023, 5, 10))
    db.session.commit()
    sign_in(client, admin)
    html = client.get(URL).get_data(as_text=True)
    assert "页面局在本系统中已有1件在2023年12月31日前办结的申请" in html
    assert 'name="carried_total"' not in html
    res = client.post(URL, data=TYPED)
    assert res.status_code == 422 and opening.opening_version(agency, 2023) is None


def test_permission_matrix_walks_the_new_routes(app):
    from webapp.security import PERMISSIONS

    rules = {r.endpoint: r for r in app.url_map.iter_rules()}
    for endpoint in ("reports.opening", "reports.opening_template"):
        assert app.view_functions[endpoint].required_action == "report.opening"
        assert "code" in rules[endpoint].arguments       # scoped: another agency's -> 404 in the matrix
    assert PERMISSIONS["report.opening"] == frozenset({"admin"})
