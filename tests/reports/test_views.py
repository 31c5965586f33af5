"""The report pages: status 200, every number a link to the cases behind it, the agency rule,
close-out and final marking through the web, narratives and the ledger, downloads, consolidated
and year-on-year pages; no inline script or style (CSP)."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import sign_in
from webapp.extensions import db
from webapp.models import Agency, Narrative, ProactiveDocument, ProactiveYear, ReportVersion
from webapp.reporting.services import build_report

from .conftest import import_doc, synth_doc

HREF = re.compile(r'<td class="ar-num"[^>]*><a href="([^"]+)">([^<]+)</a></td>')


@pytest.fixture
def world(cli, db_session, tmp_path, make_agency, make_user):
    """A government (GOV) with two departments (GEN with 60 generated cases of 2024, OTH empty) and
    users: clerks and an approver of GEN, a clerk of OTH, a government-level administrator."""
    gov = make_agency("GOV", "示例区人民政府", kind="government")
    import_doc(cli, synth_doc(60, 2024, seed=3, code="GEN", name="示例区测试局"), tmp_path)
    gen = db.session.scalar(select(Agency).where(Agency.code == "GEN"))
    gen.parent_id = gov.id
    gen.address, gen.postcode, gen.phone, gen.email = "测试路2号", "255400", "0533-1111111", "gen@example.gov.cn"
    other = make_agency("OTH", "示例区另一局", parent=gov)
    # the generated ledger is one year only; no earlier year, so no continuity check
    users = {"clerk": make_user("gen-clerk", "clerk", gen), "approver": make_user("gen-approver", "approver", gen),
             "auditor": make_user("gen-auditor", "auditor", gen), "other": make_user("oth-clerk", "clerk", other),
             "gov_admin": make_user("gov-admin", "admin", None), "gov_clerk": make_user("gov-clerk", "clerk", gov)}
    db.session.commit()
    return {"gen": gen, "oth": other, "gov": gov, **users}


def get(client, url, status=200):
    res = client.get(url)
    assert res.status_code == status, (url, res.status_code)
    return res


def assert_csp_clean(html: str) -> None:
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"


def test_index_lists_visible_agencies_and_status(client, world):
    sign_in(client, world["clerk"])
    html = get(client, "/reports/").get_data(as_text=True)
    assert "示例区测试局" in html and "示例区另一局" not in html
    assert "草稿" in html and "/reports/agency/GEN/2024" in html
    assert_csp_clean(html)
    sign_in(client, world["gov_clerk"])
    html = get(client, "/reports/").get_data(as_text=True)
    assert "示例区测试局" in html and "示例区另一局" in html and "汇总报告" in html


def test_every_number_links_to_its_cases(client, world):
    sign_in(client, world["auditor"])
    html = get(client, "/reports/agency/GEN/2024").get_data(as_text=True)
    assert_csp_clean(html)
    links = HREF.findall(html)
    report = build_report([world["gen"]], 2024)
    # table 二: the 6 document figures (the 4 typed counts link to the ledger form, which an auditor
    # may not open); table 三: 25 x 7; table 四: 15
    assert len(links) == 6 + 175 + 15
    case_links = [(u, n) for u, n in links if "/cases/" in u or "/appeals/" in u]
    assert len(case_links) == 190
    assert any(int(n) > 0 for _u, n in case_links)
    for url, figure in case_links:
        page = get(client, url.replace("&amp;", "&")).get_data(as_text=True)
        total = re.search(r'<strong class="rp-cell-total">(\d+)</strong>', page)
        assert total and total.group(1) == figure, url
        assert page.count('class="rp-case-row"') == int(figure), url
    # one cell in detail: the why, and a link to the case page
    url = next(u for u, n in case_links if u.endswith("/cases/new/natural_person"))
    page = get(client, url).get_data(as_text=True)
    assert "收到申请，属2024年新收" in page and 'href="/cases/' in page
    assert report["applications"]["new"]["natural_person"] == page.count('class="rp-case-row"')
    carried = get(client, "/reports/agency/GEN/2024/cases/carried_out/total").get_data(as_text=True)
    assert "2024年12月31日时尚未办结" in carried or report["applications"]["carried_out"]["total"] == 0
    get(client, "/reports/agency/GEN/2024/cases/nonsense/total", 404)
    get(client, "/reports/agency/GEN/2024/appeals/review/nonsense", 404)


def test_checks_are_shown_beside_the_tables(client, world):
    gen = world["gen"]
    db.session.add(ProactiveYear(agency_id=gen.id, year=2023, rules_in_force=4, normative_in_force=8))
    db.session.commit()
    sign_in(client, world["clerk"])
    html = get(client, "/reports/agency/GEN/2024").get_data(as_text=True)
    assert 'class="rp-checks"' in html
    assert re.search(r'rp-check rp-fail" data-check="proactive_in_force"', html)
    assert "表二 规章·现行有效件数" in html and "表二 行政规范性文件·现行有效件数" not in html
    assert re.search(r'rp-check rp-ok" data-check="balance"', html)


def test_agency_rule(client, world):
    sign_in(client, world["other"])
    for url in ("/reports/agency/GEN/2024", "/reports/agency/GEN/2024/cases/new/total",
                "/reports/agency/GEN/2024/appeals/review/total", "/reports/agency/GEN/2024/report.json",
                "/reports/agency/GEN/2024/versions", "/reports/agency/GEN/2024/narrative",
                "/reports/agency/GEN/2024/proactive", "/reports/consolidated/2024?agency=GEN",
                "/reports/trends?agency=GEN", "/reports/agency/NOPE/2024"):
        get(client, url, 404)
    assert client.post("/reports/agency/GEN/2024/close").status_code == 403       # a clerk may not close
    get(client, "/reports/agency/OTH/2024")
    # the government's clerk sees its departments but changes only its own agency's report
    sign_in(client, world["gov_clerk"])
    get(client, "/reports/agency/GEN/2024")
    get(client, "/reports/agency/GEN/2024/narrative", 404)
    # an auditor reads but does not edit
    sign_in(client, world["auditor"])
    get(client, "/reports/agency/GEN/2024/narrative", 403)


def test_not_logged_in_goes_to_login(client, world):
    res = client.get("/reports/agency/GEN/2024")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_close_and_finalize_through_the_web(client, world):
    gen = world["gen"]
    sign_in(client, world["clerk"])
    assert client.post("/reports/agency/GEN/2024/finalize").status_code == 403    # clerk
    sign_in(client, world["approver"])
    res = client.post("/reports/agency/GEN/2024/finalize", follow_redirects=True)
    assert "请先结账" in res.get_data(as_text=True)
    res = client.post("/reports/agency/GEN/2024/close", follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "2024年度已结账，生成第1版" in html and "已结账 v1" in html
    res = client.post("/reports/agency/GEN/2024/close", follow_redirects=True)
    assert "未生成新版本" in res.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(ReportVersion.id))) == 1
    # break the ledger continuity: marking final is refused, naming the cell
    db.session.add(ProactiveYear(agency_id=gen.id, year=2023, rules_in_force=4, normative_in_force=9))
    db.session.commit()
    res = client.post("/reports/agency/GEN/2024/finalize", data={"version": "1"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "校验未通过，不能标记为定稿" in html and "表二 规章·现行有效件数" in html
    db.session.expire_all()
    assert not db.session.scalar(select(ReportVersion.final))
    row = db.session.scalar(select(ProactiveYear).where(ProactiveYear.year == 2023))
    row.rules_in_force, row.normative_in_force = 0, 8       # 8 + 2 - 1 = 9 as in 2024's ledger
    db.session.commit()
    res = client.post("/reports/agency/GEN/2024/finalize", data={"version": "1"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "第1版已标记为定稿" in html and "定稿 v1" in html
    html = get(client, "/reports/agency/GEN/2024/versions").get_data(as_text=True)
    assert "第1版" in html and "定稿" in html and "首次结账" in html
    res = get(client, "/reports/agency/GEN/2024/report.json?version=1")
    assert json.loads(res.data)["applications"] == build_report([gen], 2024)["applications"]
    get(client, "/reports/agency/GEN/2024/report.json?version=7", 404)


def test_versions_page_shows_the_diff(client, world):
    from webapp.cases.services.interchange import record_appeal
    from webapp.models import Case
    from webapp.reporting.services.closeout import close_year

    gen = world["gen"]
    close_year(2024, gen, today=date(2025, 1, 2))
    case = db.session.scalar(select(Case).where(Case.agency_id == gen.id, Case.closed_on.is_not(None))
                             .order_by(Case.id).limit(1))
    record_appeal(case, "litigation_after_review", date(2024, 12, 2), "pending", None)
    db.session.commit()
    sign_in(client, world["approver"])
    html = get(client, "/reports/agency/GEN/2024").get_data(as_text=True)
    assert "结账后，案件记录有修改" in html and "表四 行政诉讼复议后起诉·尚未审结" in html
    client.post("/reports/agency/GEN/2024/close")
    html = get(client, "/reports/agency/GEN/2024/versions").get_data(as_text=True)
    assert "与第1版相比变动的单元格" in html
    assert html.count('class="rp-diff-row"') == 2 and f'href="/cases/{case.id}"' in html
    assert_csp_clean(html)


def test_narrative_form_is_versioned(client, world):
    sign_in(client, world["clerk"])
    html = get(client, "/reports/agency/GEN/2024/narrative").get_data(as_text=True)
    assert "尚未保存过文字" in html and "2024年，本机关共收到政府信息公开申请60件" in html
    assert_csp_clean(html)
    data = {"overview": "总体情况。", "on_request": "依申请公开情况。", "problems": "问题。", "note": "第一稿"}
    res = client.post("/reports/agency/GEN/2024/narrative", data=data, follow_redirects=True)
    assert "已保存为第1版" in res.get_data(as_text=True)
    res = client.post("/reports/agency/GEN/2024/narrative", data=data, follow_redirects=True)
    assert "文字没有变化" in res.get_data(as_text=True)
    client.post("/reports/agency/GEN/2024/narrative", data=data | {"problems": "新的问题。"})
    rows = list(db.session.scalars(select(Narrative).order_by(Narrative.version)))
    assert [n.version for n in rows] == [1, 2] and rows[0].sections["problems"] == "问题。"
    html = get(client, "/reports/agency/GEN/2024/narrative").get_data(as_text=True)
    assert "第2版" in html and "第1版" in html and "新的问题。" in html
    html = get(client, "/reports/agency/GEN/2024/narrative?v=1").get_data(as_text=True)
    assert "正在查看第1版" in html and re.search(r">\s*问题。</textarea>", html)
    report_html = get(client, "/reports/agency/GEN/2024").get_data(as_text=True)
    assert "新的问题。" in report_html


def test_ledger_pages(client, world):
    sign_in(client, world["gov_clerk"])
    html = get(client, "/reports/agency/OTH/2024").get_data(as_text=True)   # visible, not editable
    assert "本年度主动公开台账为空，表二按零填报" in html
    sign_in(client, world["other"])
    html = get(client, "/reports/agency/OTH/2024/proactive").get_data(as_text=True)
    assert "本年度主动公开台账为空，表二按零填报" in html
    assert_csp_clean(html)
    res = client.post("/reports/agency/OTH/2024/proactive",
                      data={"licensing_decisions": "12", "fees_10k_yuan": "0.5", "rules_in_force": "1",
                            "categories": "业务工作=3"}, follow_redirects=True)
    assert "2024年度主动公开台账已保存" in res.get_data(as_text=True)
    res = client.post("/reports/agency/OTH/2024/proactive", data={"licensing_decisions": "x"})
    assert res.status_code == 400 and "请填写非负整数" in res.get_data(as_text=True)
    res = client.post("/reports/agency/OTH/2024/proactive/documents",
                      data={"kind": "normative", "title": "某管理办法", "doc_number": "示发〔2024〕3号",
                            "issued_on": "2024-04-01"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "文件已加入台账" in html and "某管理办法" in html and "由文件的制发、废止日期自动计算" in html
    doc = db.session.scalar(select(ProactiveDocument))
    report = build_report([world["oth"]], 2024)
    assert report["proactive"]["normative_documents"] == {"issued": 1, "repealed": 0, "in_force": 1}
    assert report["proactive"]["licensing_decisions"] == 12
    html = get(client, "/reports/agency/OTH/2024").get_data(as_text=True)
    assert "本年度主动公开台账为空" not in html
    assert "/reports/agency/OTH/2024/documents/normative_documents/issued" in html
    html = get(client, "/reports/agency/OTH/2024/documents/normative_documents/issued").get_data(as_text=True)
    assert "某管理办法" in html and '<strong class="rp-cell-total">1</strong>' in html
    res = client.post(f"/reports/agency/OTH/2024/proactive/documents/{doc.id}",
                      data={"kind": "normative", "title": "某管理办法", "issued_on": "2024-04-01",
                            "repealed_on": "2024-10-01"}, follow_redirects=True)
    assert "文件已修改" in res.get_data(as_text=True)
    assert build_report([world["oth"]], 2024)["proactive"]["normative_documents"]["in_force"] == 0
    client.post(f"/reports/agency/OTH/2024/proactive/documents/{doc.id}/delete")
    assert db.session.scalar(select(ProactiveDocument)) is None
    sign_in(client, world["clerk"])
    assert client.post(f"/reports/agency/OTH/2024/proactive/documents/{doc.id}/delete").status_code == 404


def test_downloads(client, world):
    from openpyxl import load_workbook

    sign_in(client, world["clerk"])
    res = get(client, "/reports/agency/GEN/2024/report.json")
    assert json.loads(res.data)["applications"] == build_report([world["gen"]], 2024)["applications"]
    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("pdf", b"%PDF")):
        res = get(client, f"/reports/agency/GEN/2024/report.{fmt}")
        assert res.data.startswith(magic), fmt
        assert "attachment" in res.headers["Content-Disposition"]
    get(client, "/reports/agency/GEN/2024/report.exe", 404)
    sign_in(client, world["gov_admin"])
    res = get(client, "/reports/consolidated/2024/report.xlsx")
    wb = load_workbook(io.BytesIO(res.data))
    assert len(wb.sheetnames) >= 4      # three tables and the per-agency breakdown
    assert any("示例区测试局" in str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_consolidated_page(client, world):
    sign_in(client, world["gov_admin"])
    html = get(client, "/reports/consolidated/2024").get_data(as_text=True)
    assert_csp_clean(html)
    assert "汇总，3个机关" in html and "各机关明细" in html
    links = HREF.findall(html)
    assert len(links) == 10 + 175 + 15 - 10     # table 二 figures of several agencies have no list
    url, figure = next((u, n) for u, n in links if u.split("?")[0].endswith("/cases/new/total"))
    page = get(client, url.replace("&amp;", "&")).get_data(as_text=True)
    assert figure == "60" and page.count('class="rp-case-row"') == 60
    html = get(client, "/reports/consolidated/2024?agency=OTH").get_data(as_text=True)
    assert "汇总，1个机关" in html
    sign_in(client, world["gov_clerk"])
    get(client, "/reports/consolidated/2024")
    sign_in(client, world["clerk"])
    html = get(client, "/reports/consolidated/2024").get_data(as_text=True)
    assert "汇总，1个机关" in html        # a department's clerk: only its own agency


def test_trends_page(client, world):
    sign_in(client, world["clerk"])
    html = get(client, "/reports/trends").get_data(as_text=True)
    assert_csp_clean(html)
    assert html.count("<svg") >= 4 and "<polyline" in html and "<rect" in html
    assert "按时答复率" in html and "答复用时中位数" in html and "2022年" in html and "2026年" in html
    assert 'fill="' in html
    html = get(client, "/reports/trends?agency=GEN&year=2024").get_data(as_text=True)
    assert "2020年" in html and "2024年" in html and "2025年" not in html
    sign_in(client, world["gov_admin"])
    get(client, "/reports/trends?agency=ALL")


def test_report_css_is_served(client):
    res = client.get("/reports/report.css")
    assert res.status_code == 200 and res.mimetype == "text/css" and b"annual-report" in res.data


def test_ledger_page_keeps_the_fee_total_to_the_fen(client, world):
    sign_in(client, world["other"])
    res = client.post("/reports/agency/OTH/2024/proactive",
                      data={"licensing_decisions": "1", "fees_10k_yuan": "0.012345"}, follow_redirects=True)
    assert "2024年度主动公开台账已保存" in res.get_data(as_text=True)
    row = db.session.scalar(select(ProactiveYear).where(ProactiveYear.agency_id == world["oth"].id))
    db.session.refresh(row)
    assert str(row.fees_10k_yuan.normalize()) == "0.012345"
    html = get(client, "/reports/agency/OTH/2024/proactive").get_data(as_text=True)
    assert 'value="0.012345"' in html
    assert build_report([world["oth"]], 2024)["proactive"]["fees_10k_yuan"] == "0.012345"
    assert ">0.012345<" in get(client, "/reports/agency/OTH/2024").get_data(as_text=True)
    # a seventh decimal is refused with the reason, and the saved figure stays
    res = client.post("/reports/agency/OTH/2024/proactive", data={"licensing_decisions": "1",
                                                                  "fees_10k_yuan": "0.0123456"})
    assert res.status_code == 400
    assert ("行政事业性收费金额最多6位小数（单位：万元，精确到分）；“0.0123456”不作四舍五入，请核对后重新填写"
            in res.get_data(as_text=True))
    db.session.refresh(row)
    assert str(row.fees_10k_yuan.normalize()) == "0.012345"
    # a whole figure shows as typed, never as 1E+2
    client.post("/reports/agency/OTH/2024/proactive", data={"licensing_decisions": "1", "fees_10k_yuan": "100"})
    assert 'value="100"' in get(client, "/reports/agency/OTH/2024/proactive").get_data(as_text=True)


SUMMARY_ROW = re.compile(r'<tr><th scope="row"><a href="[^"]+">([^<]+)</a></th>\s*'
                         r'<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>')


def test_consolidated_summary_comes_with_the_report_statement(client, world, app):
    """Issue 15: the per-agency summary (new, carried in, ended, carried out: cases) is counted by
    the report's own statement - one grouped read of "case" for the page - and a per-item agency's
    cases are still counted as cases."""
    from sqlalchemy import event

    gen = world["gen"]
    apps = build_report([gen], 2024)["applications"]
    want = {"示例区测试局": tuple(str(apps[k]["total"]) for k in ("new", "carried_in", "total", "carried_out")),
            "示例区另一局": ("0", "0", "0", "0"), "示例区人民政府": ("0", "0", "0", "0")}
    assert int(want["示例区测试局"][0]) > 0
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sign_in(client, world["gov_admin"])
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        html = get(client, "/reports/consolidated/2024").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert {name: figures for name, *figures in SUMMARY_ROW.findall(html)} == {k: list(v) for k, v in want.items()}
    grouped = [s for s in seen if 'FROM "case"' in s and "GROUP BY" in s]
    assert len(grouped) == 1, grouped
    # table 三's cases of the year: the open ones and those closed since it began, two index ranges
    assert "closed_on IS NULL UNION ALL" in " ".join(grouped[0].split())

    gen.policies = {**(gen.policies or {}), "multi_item_outcome": "item"}   # table 三 counts items
    db.session.commit()
    html = get(client, "/reports/consolidated/2024").get_data(as_text=True)
    assert {name: figures for name, *figures in SUMMARY_ROW.findall(html)} == {k: list(v) for k, v in want.items()}
