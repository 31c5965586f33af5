"""A government user's supervision page in a real browser (Playwright, Debian's Chromium, CSRF on):
sort by a column, drill down from a figure to its cases, send a 督办 notice on a case; the
department's clerk sees it on the dashboard and bell and replies; the outbox holds one mail per
department user, and queuing again adds none. No console errors (CSP: no inline script or style)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.browser_util import log_in, serving
from tests.conftest import DEFAULT_NOW
from tests.supervision.world import build_small, make_sv_world
from webapp.extensions import db

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def server(app, database_url: str, tmp_path, time_machine) -> Iterator[tuple[str, object, object]]:
    time_machine.move_to(DEFAULT_NOW, tick=True)

    def setup():
        from webapp.timeutil import today_shanghai

        w = make_sv_world()
        build_small(w, today_shanghai())
        return w

    with serving(database_url, tmp_path, setup) as (base, live, data):
        yield base, live, data


def test_government_supervises_and_department_replies(server):
    from playwright.sync_api import expect, sync_playwright

    from tests.browser_util import launch_chromium
    from tests.factories import PASSWORD
    from webapp.models import OutboxMail, SupervisionNotice
    from webapp.supervision.services import queue_notice_mail

    base, live, w = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            log_in(page, base, "gov_clerk", PASSWORD)
            page.click("nav >> text=督办")
            expect(page.locator(".page-head h1")).to_have_text("督办：所属部门办理情况")
            rows = page.locator("#supervision-table tbody tr")
            expect(rows).to_have_count(3)
            # sort by answers this year (first click: most first), then the other way
            page.click("#supervision-table a[data-sort='answered']")
            expect(page.locator("#supervision-table th[aria-sort='descending']")).to_contain_text("本年已答复")
            expect(rows.nth(0)).to_have_attribute("data-agency", str(w.d1))
            expect(rows.nth(0).locator("td[data-figure='median_days']")).to_have_text("10")
            page.click("#supervision-table a[data-sort='answered']")
            expect(rows.nth(0)).to_have_attribute("data-agency", str(w.gov))
            expect(page.locator("figure.rp-chart svg rect.bar")).to_have_count(5)
            page.screenshot(path=str(ARTIFACTS / "supervision-table.png"), full_page=True)
            # drill down: D1's overdue figure lists exactly its one overdue case
            page.click(f"#supervision-table tr[data-agency='{w.d1}'] td[data-figure='overdue'] a")
            expect(page.locator("#drill tbody tr")).to_have_count(1)
            expect(page.locator("#drill tbody tr")).to_have_attribute("data-case", str(w.cases["overdue"]))
            # 督办 on that case
            page.click("#drill tbody tr >> text=督办")
            page.fill("#message", "该案已逾期，请说明原因并尽快答复。")
            page.fill("#reply_by", "2024-06-14")
            page.click("#notice-form button[type=submit]")
            expect(page.locator("#notice-message")).to_have_text("该案已逾期，请说明原因并尽快答复。")
            expect(page.locator("#notice-awaiting")).to_be_visible()
            page.click("form[action='/logout'] button")

            log_in(page, base, "d1_clerk", PASSWORD)
            expect(page.locator(".bell-count")).to_have_text("1")
            panel = page.locator("#supervision-notices")
            expect(panel).to_contain_text("该案已逾期")
            panel.locator("a").first.click()
            page.fill("#reply", "已于今日答复申请人，逾期系征求意见延误。")
            page.click("#reply-form button[type=submit]")
            expect(page.locator("#notice-reply")).to_have_text("已于今日答复申请人，逾期系征求意见延误。")
            page.screenshot(path=str(ARTIFACTS / "supervision-reply.png"), full_page=True)
            expect(page.locator("nav >> text=督办")).to_have_count(0)        # a department: no supervision
            seen = len(errors)
            assert page.goto(f"{base}/supervision/").status == 403
            assert all("403" in e for e in errors[seen:])    # the refusal expected here, nothing else
            del errors[seen:]
            page.click("form[action='/logout'] button")

            log_in(page, base, "gov_clerk", PASSWORD)
            page.goto(f"{base}/supervision/notices")
            expect(page.locator("#notice-list tbody tr")).to_have_count(1)
            expect(page.locator("#notice-list tbody tr")).to_contain_text("已回复")
            assert errors == [], errors
        finally:
            browser.close()
    with live.app_context():
        notice = db.session.scalar(select(SupervisionNotice))
        assert notice.reply == "已于今日答复申请人，逾期系征求意见延误。"
        assert db.session.scalar(select(func.count(OutboxMail.id))) == 3     # D1's three users, once each
        assert queue_notice_mail(notice) == []
        db.session.commit()
        assert db.session.scalar(select(func.count(OutboxMail.id))) == 3
        db.session.remove()
