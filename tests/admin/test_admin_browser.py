"""The admin pages in a real browser (headless Chromium): an administrator logs in, opens the users,
the agency and its policies, enters next year's holiday notice and sees the moved deadline, and the
page runs under the CSP (no inline script or style). Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from tests.browser_util import log_in
from tests.factories import PASSWORD, agency_case
from webapp.extensions import db
from webapp.timeutil import SHANGHAI

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
@pytest.mark.time_machine(datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_admin_pages_in_a_browser(app, live_server, world, today):
    from playwright.sync_api import sync_playwright

    from tests.browser_util import launch_chromium

    with app.app_context():
        case = agency_case(world.a.agency_id, date(2026, 12, 21), today)
        db.session.commit()
        number = case.number
    ARTIFACTS.mkdir(exist_ok=True)
    console: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
            log_in(page, live_server, "gov_admin", PASSWORD)
            page.goto(f"{live_server}/admin/")
            assert "系统管理" in page.inner_text("h1")
            page.screenshot(path=str(ARTIFACTS / "admin-01-index.png"), full_page=True)
            page.click("text=用户与角色")
            assert "swj_clerk" in page.inner_text("table")
            page.screenshot(path=str(ARTIFACTS / "admin-02-users.png"), full_page=True)
            page.goto(f"{live_server}/admin/agencies/{world.a.agency_id}")
            assert "政策设置" in page.inner_text("#policies")
            page.screenshot(path=str(ARTIFACTS / "admin-03-agency.png"), full_page=True)
            page.goto(f"{live_server}/admin/calendar")
            assert "尚未录入2027年" in page.inner_text("main")
            page.screenshot(path=str(ARTIFACTS / "admin-04-calendar.png"), full_page=True)
            page.click("text=录入2027年通知")
            page.fill("input[name=title]", "国务院办公厅关于2027年部分节假日安排的通知")
            page.fill("textarea[name=days_off]", "2027-01-01 至 2027-01-04 元旦\n2027-02-06 至 2027-02-12 春节")
            page.fill("textarea[name=makeup_days]", "2027-02-20")
            page.click("main input[type=submit][value='保存并重新计算期限']")
            text = page.inner_text("#moved")
            assert number in text and "2027-01-19" in text and "2027-01-20" in text
            page.screenshot(path=str(ARTIFACTS / "admin-05-calendar-saved.png"), full_page=True)
            page.goto(f"{live_server}/admin/audit")
            assert "录入节假日安排" in page.inner_text("table")
            page.screenshot(path=str(ARTIFACTS / "admin-06-audit.png"), full_page=True)
        finally:
            browser.close()
    assert [c for c in console if "Content Security Policy" in c] == []
