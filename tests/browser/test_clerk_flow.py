"""The clerks' main path in a real browser (Playwright driving Debian's Chromium, headless), with CSRF
on: log in, register an application, request a correction, record it, extend as the approver, answer,
and see the timeline and deadlines. Screenshots go to test-artifacts/.

Dates (2024 calendar; the clock starts at 2024-06-10 10:00 Shanghai and ticks): received 06-03,
correction notice 06-04, correction received 06-05 -> response due 2024-07-04; extended by 15
working days on 06-07 -> due 2024-07-25.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from config import TestConfig
from tests.browser_util import log_in
from tests.conftest import DEFAULT_NOW
from webapp import create_app
from webapp.extensions import db

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def server(app, database_url: str, tmp_path, time_machine) -> Iterator[str]:
    """This test's own app (CSRF on) on a free 127.0.0.1 port; `app` made the schema and cleans up."""
    time_machine.move_to(DEFAULT_NOW, tick=True)
    live = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True,
                      UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with live.app_context():
        from tests.factories import make_world

        make_world()
        db.session.remove()
    srv = make_server("127.0.0.1", 0, live, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="clerk_flow_server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()
        with live.app_context():
            db.session.remove()
            db.engine.dispose()


def test_clerk_main_path(server: str):
    from playwright.sync_api import expect, sync_playwright

    from tests.browser_util import launch_chromium
    from tests.factories import PASSWORD

    ARTIFACTS.mkdir(exist_ok=True)

    def shot(page, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"clerk-flow-{name}.png"), full_page=True)

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())   # the answer asks for confirmation

            def login(username: str) -> None:
                log_in(page, server, username, PASSWORD)

            def logout() -> None:
                page.click("form[action='/logout'] button")
                expect(page.locator("h1")).to_have_text("工作人员登录")

            def act(name: str, fields: dict[str, str], selects: dict[str, str] | None = None) -> None:
                page.click(f"#action-{name} > summary")
                for selector, value in fields.items():
                    page.fill(f"#{name}-{selector}", value)
                for selector, value in (selects or {}).items():
                    page.select_option(f"#{name}-{selector}", value)
                page.click(f"#action-{name} button[type=submit]")
                expect(page.locator(".flash-success")).to_contain_text("已记录")

            # -- the clerk logs in and registers an application
            # the root page leads the public to the online form and the status look-up, staff to login
            page.goto(f"{server}/")
            page.click("a.landing-card[href='/login']")
            expect(page).to_have_url(f"{server}/login")
            shot(page, "01-login")
            login("swj_clerk")
            expect(page.locator(".brand-agency")).to_have_text("临淄区商务局")
            shot(page, "02-dashboard")

            page.click("nav.mainnav >> text=登记申请")
            page.fill("#name", "王小明")
            page.fill("#id_number", "370305198506120017")
            page.fill("#phone", "13800001111")
            page.fill("#address", "山东省淄博市临淄区桓公路1号")   # the reply goes by post: an address is needed
            page.select_option("#channel", "post")
            expect(page.locator("#receipt-rule-current")).to_have_text("邮寄（需签收）：以本机关签收之日为收到申请之日。")
            page.fill("#arrived_on", "2024-06-03")
            page.dispatch_event("#arrived_on", "change")
            expect(page.locator("#received_on")).to_have_value("2024-06-03")   # proposed from the channel
            page.check("#receipt_confirmed")
            page.fill("#items", "本局2023年度部门预算\n某某商贸公司行政处罚决定书")
            page.set_input_files("#scans", files=[{"name": "申请表.pdf", "mimeType": "application/pdf",
                                                   "buffer": PDF}])
            shot(page, "03-intake")
            page.click("#register")
            expect(page.locator(".flash-success")).to_contain_text("已登记申请，编号 LZ-SWJ-2024-0001")
            case_url = page.url
            expect(page.locator("#applicant")).to_contain_text("3703**********0017")
            expect(page.locator("#attachments")).to_contain_text("申请表.pdf")

            # -- correction requested, then received
            act("correction", {"on": "2024-06-04", "what": "请写明第2项处罚决定书的文号或作出日期"})
            expect(page.locator(".case-head .status")).to_have_text("待补正")
            expect(page.locator("#letters")).to_contain_text("补正告知书")
            act("correction_received", {"on": "2024-06-05"})
            expect(page.locator(".case-head .status")).to_have_text("办理中")
            expect(page.locator("tr.deadline-response td.mono")).to_have_text("2024-07-04")
            extension = page.locator("#action-extension")
            expect(extension.locator("summary")).to_contain_text("须负责人批准")
            expect(extension.locator("button[type=submit]")).to_be_disabled()
            shot(page, "04-correction-received")

            # -- the approver extends
            logout()
            login("swj_approver")
            page.goto(case_url)
            act("extension", {"on": "2024-06-07", "days": "15", "reason": "需要查阅归档的行政处罚案卷"})
            expect(page.locator(".case-head")).to_contain_text("已延期")
            expect(page.locator("tr.deadline-response td.mono")).to_have_text("2024-07-25")
            page.click("tr.deadline-response details summary")
            expect(page.locator("tr.deadline-response details p")).to_contain_text("经批准延期15个工作日")
            shot(page, "05-extended")

            # -- back as the clerk: answer item by item
            logout()
            login("swj_clerk")
            page.goto(case_url)
            act("answer", {"on": "2024-06-07", "text": "第1项见附件；第2项属于行政执法案卷。"},
                {"outcomes-0": "disclosed", "outcomes-1": "withheld.enforcement_file"})
            expect(page.locator(".case-head .status")).to_have_text("已办结")
            expect(page.locator("#deadlines")).to_contain_text("部分公开")
            timeline = page.locator("#timeline .tl-type")
            expect(timeline).to_have_text(["收到申请", "补正告知", "收到补正", "延期答复", "答复"])
            expect(page.locator("#timeline")).to_contain_text("临淄区商务局负责人")
            expect(page.locator("#letters .letter-link")).to_have_text(
                ["补正告知书", "延期答复告知书", "政府信息公开申请答复书"])
            shot(page, "06-answered")

            with page.expect_download() as download:
                page.click("#letters .letter-link[data-kind=answer]")
            assert download.value.suggested_filename == "LZ-SWJ-2024-0001-政府信息公开申请答复书.docx"

            page.goto(f"{server}/")
            expect(page.locator("#overdue")).to_contain_text("没有逾期案件")
            assert errors == []
            assert date.fromisoformat("2024-06-10") == datetime.now(DEFAULT_NOW.tzinfo).date()
        finally:
            browser.close()
