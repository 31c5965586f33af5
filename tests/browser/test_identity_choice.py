"""The desk in a real browser (CSRF on): an ID number on file under another name shows the earlier
name and the two choices; the Enter key in a field takes the harmless one (back to correct), and the
clerk's click on "the same person" registers the case while the earlier case keeps its applicant."""

from __future__ import annotations

import pytest

from .test_clerk_flow import server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def test_desk_asks_which_person(server: str):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.browser_util import launch_chromium
    from tests.factories import PASSWORD

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server}/login")
            page.fill("#username", "swj_clerk")
            page.fill("#password", PASSWORD)
            page.click("#submit")

            def fill(name: str, phone: str) -> None:
                page.goto(f"{server}/intake/new")
                page.fill("#name", name)
                page.fill("#id_number", "370305198506120017")
                page.fill("#phone", phone)
                page.fill("#address", "山东省淄博市临淄区桓公路1号")   # a postal reply needs the address
                page.check("#receipt_confirmed")
                page.fill("#items", "本局2023年度部门预算")

            fill("张三", "13800001111")
            page.click("#register")
            expect(page.locator(".flash-success")).to_contain_text("LZ-SWJ-2024-0001")
            case_a = page.url

            fill("张三丰", "13900002222")
            page.click("#register")
            panel = page.locator("#identity-conflict")
            expect(panel).to_contain_text("3703**********0017")
            expect(panel).to_contain_text("张三（1件申请）")
            # Enter in a field: back to correction, nothing registered
            page.press("#phone", "Enter")
            expect(page.locator(".flash-info")).to_contain_text("申请尚未登记")
            expect(page.locator("#identity-conflict")).to_have_count(0)
            page.click("#register")   # unchanged: asked again
            page.click("#identity-same-person")
            expect(page.locator(".flash-success")).to_contain_text("LZ-SWJ-2024-0002")
            expect(page.locator("#applicant")).to_contain_text("张三丰")
            page.goto(case_a)
            expect(page.locator("#applicant")).to_contain_text("张三")
            expect(page.locator("#applicant")).not_to_contain_text("张三丰")
            expect(page.locator("#applicant")).to_contain_text("138****1111")
            assert errors == []
        finally:
            browser.close()
