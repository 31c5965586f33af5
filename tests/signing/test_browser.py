"""签收 in a real browser (Chromium through Playwright, CSRF on, CSP enforced): the desk routes an
online submission, the department sends it back with a reason, the desk sees the reason and routes it
to another department, which signs for it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.browser_util import log_in
from tests.public.conftest import PASSWORD, make_app  # noqa: F401
from tests.public.test_browser import browser, served, smtp  # noqa: F401
from webapp.extensions import db
from webapp.models import Agency
from webapp.public.services import clean_submission, create_submission
from webapp.timeutil import SHANGHAI

from .conftest import applicant

pytestmark = pytest.mark.browser


def _log_in(ctx, base: str, username: str):
    page = ctx.new_page()
    log_in(page, base, username, PASSWORD)
    return page


def test_sign_and_return_in_the_browser(served, browser, world, in_app, time_machine):  # noqa: F811
    _app, base = served
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=True)

    def submit():
        szf = db.session.scalar(select(Agency).where(Agency.code == "SZF"))
        sub = create_submission(szf, clean_submission(applicant(), ["2023年度部门预算"], "email", "email")).submission
        return sub.id, sub.number

    sid, number = in_app(submit)
    errors: list[str] = []

    def watch(page):
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        return page

    # the desk routes it to the commerce bureau
    desk = watch(_log_in(browser.new_context(locale="zh-CN"), base, "desk"))
    desk.goto(f"{base}/queue/{sid}")
    desk.select_option("#target", label="示范市商务局")
    desk.fill("#note", "请商务局办理")
    desk.click("#route")
    assert "已分办至 示范市商务局" in desk.inner_text("body")
    desk.goto(f"{base}/handovers/")
    assert number in desk.inner_text("#handovers-unsigned")

    # the bureau: 待签收 in the header; sends it back, a reason is required
    clerk = watch(_log_in(browser.new_context(locale="zh-CN"), base, "clerk"))
    assert clerk.inner_text("#handover-bell .bell-count") == "1"
    clerk.click("#handover-bell")
    row = clerk.locator("#handovers-incoming tr", has_text=number)
    row.locator("button", has_text="退回").click()              # empty: the browser holds the form
    assert clerk.url.endswith("/handovers/") and number in clerk.inner_text("#handovers-incoming")
    row.locator("textarea[name=reason]").fill("属于教育局职责")
    row.locator("button", has_text="退回").click()
    assert "退回 示范市人民政府" in clerk.inner_text("body")
    assert clerk.locator("#handover-bell").count() == 0

    # back at the desk with the reason; routed to the education bureau
    desk.goto(f"{base}/queue/{sid}")
    assert "属于教育局职责" in desk.inner_text("#returned-reason")
    desk.select_option("#target", label="示范市教育局")
    desk.fill("#note", "请教育局办理")
    desk.click("#route")
    assert "已分办至 示范市教育局" in desk.inner_text("body")

    # the education bureau signs for it from the submission's page; then it may confirm it
    clerk2 = watch(_log_in(browser.new_context(locale="zh-CN"), base, "clerk2"))
    clerk2.goto(f"{base}/queue/{sid}")
    assert "待签收" in clerk2.inner_text("#handover-pending")
    assert clerk2.locator("#confirm").count() == 0
    clerk2.click("#sign")
    assert f"已签收 {number}，现由本机关办理。" in clerk2.inner_text("body")
    clerk2.goto(f"{base}/queue/{sid}")
    assert clerk2.locator("#confirm").count() == 1
    assert errors == []
