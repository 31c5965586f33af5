"""A review chain in a real browser (Chromium, CSRF on), three users: the clerk drafts an adverse
answer, the reviewer (科室审核, the second clerk) returns it with an opinion, the clerk redrafts, the
reviewer approves, the approver signs off; the case shows the answer recorded on the sign-off day
and the letter carries the signer."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.browser_util import log_in, serving
from tests.conftest import DEFAULT_NOW
from webapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def server(app, database_url: str, tmp_path, time_machine) -> Iterator[tuple[str, int]]:
    time_machine.move_to(DEFAULT_NOW, tick=True)

    def setup() -> int:
        from tests.factories import make_case, make_world
        from webapp.models import User
        from webapp.review.services import set_chain

        w = make_world()
        clerk = db.session.get(User, w.a.clerk)
        set_chain(clerk.agency, "answer_adverse", True, [{"title": "科室审核", "reviewer_id": w.a.clerk2}],
                  db.session.get(User, w.a.admin))
        case = make_case(clerk.agency, clerk, date(2024, 6, 3), items=["本局2023年度部门预算", "某公司处罚决定书"],
                         today=date(2024, 6, 3))
        db.session.flush()
        return case.id

    with serving(database_url, tmp_path, setup) as (base, _live, data):
        yield base, data


def test_clerk_reviewer_approver_chain(server):
    from docx import Document
    from playwright.sync_api import expect, sync_playwright

    from tests.browser_util import launch_chromium
    from tests.factories import PASSWORD

    base, case_id = server
    case_url = f"{base}/cases/{case_id}"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())

            def login(username: str) -> None:
                log_in(page, base, username, PASSWORD)

            def logout() -> None:
                page.click("form[action='/logout'] button")
                expect(page.locator("h1")).to_have_text("工作人员登录")

            def draft_answer(second: str) -> None:
                page.goto(case_url)
                page.click("#action-answer > summary")
                page.select_option("#answer-outcomes-0", "unavailable.not_held")
                page.select_option("#answer-outcomes-1", second)
                if second != "unavailable.not_held":
                    page.select_option("#answer-main_ground", second)
                page.click("#action-answer button[type=submit]")
                expect(page.locator(".flash-success")).to_contain_text("已提交审核")
                expect(page.locator(".draft-status")).to_have_text("待科室审核")

            def reviewer_opens() -> None:
                login("swj_clerk2")
                expect(page.locator("#review-pending")).to_contain_text("有1份拟办稿待您审核或签发")
                page.click("nav.mainnav >> text=待我审批")
                expect(page.locator("#review-pending .days-left")).to_have_text("还剩16个工作日（2024-07-02）")
                page.click("#review-pending a.btn")

            # the clerk drafts an adverse answer
            login("swj_clerk")
            draft_answer("unavailable.not_held")
            expect(page.locator("#letter-preview")).to_contain_text("无法提供")
            logout()

            # the reviewer returns it with an opinion
            reviewer_opens()
            draft_url = page.url          # /review/drafts/<id> (ids depend on what ran before)
            page.fill("#opinion", "第2项应为不予公开（涉及第三方合法权益），请核实后重拟")
            page.click("#review-act button.btn-danger")
            expect(page.locator(".flash-success")).to_have_text("已退回拟办人。")
            logout()

            # the clerk sees the return and redrafts
            login("swj_clerk")
            page.goto(case_url)
            expect(page.locator("#review")).to_contain_text("拟办稿已退回")
            draft_answer("withheld.third_party")
            expect(page.locator("#opinions")).to_contain_text("第2项应为不予公开（涉及第三方合法权益），请核实后重拟")
            logout()

            # the reviewer approves
            reviewer_opens()
            page.click("#review-act button.btn-primary")
            expect(page.locator(".draft-status")).to_have_text("待签发")
            logout()

            # the approver signs off
            login("swj_approver")
            page.click("nav.mainnav >> text=待我审批")
            page.click("#review-pending a.btn")
            page.fill("#opinion", "同意")
            page.click("#review-act button.btn-primary")
            expect(page.locator(".flash-success")).to_contain_text("已签发，并于2024-06-10记录办理结果")
            expect(page.locator(".case-head .status")).to_have_text("已办结")
            expect(page.locator("#timeline .tl-answered")).to_contain_text("2024-06-10")
            with page.expect_download() as dl:
                page.click("#letters a[data-kind=answer]")
            data = Path(dl.value.path()).read_bytes()
            text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
            assert "签发人：临淄区商务局负责人　签发日期：2024年6月10日" in text
            assert "不予公开（" in text

            # the approver archives the case: its dossier holds the application, the signed letter,
            # the 办理审批单 with every opinion, and the timeline
            page.goto(f"{base}/cases/{case_id}/archive")
            page.click("#archive-button")
            expect(page.locator(".flash-success")).to_contain_text("已归档，归档号 LZ-SWJ-2024-0001")
            with page.expect_download() as info:
                page.click("#dossier-link")
            pdf = Path(info.value.path()).read_bytes()
            flat = "".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
                           .stdout.decode().split())
            for part in ("卷内目录", "政府信息公开申请", "政府信息公开申请答复书", "签发人：临淄区商务局负责人",
                         "办理审批单", "第2项应为不予公开", "办理记录"):
                assert part in flat, part

            # the approval sheet lists every opinion with its name and date
            page.goto(f"{base}/review/")
            expect(page.locator("#review-pending")).to_contain_text("没有待您审批的拟办稿。")
            page.goto(f"{draft_url}/sheet")
            expect(page.locator(".opinions tr.opinion")).to_have_count(5)
            expect(page.locator(".opinions")).to_contain_text("临淄区商务局经办人二")
            expect(page.locator(".proposal")).to_contain_text("《中华人民共和国政府信息公开条例》")
            assert errors == []
        finally:
            browser.close()
