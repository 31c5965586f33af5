"""WCAG 2.1 A/AA checks with axe-core in a real browser (Debian's Chromium through Playwright) on the
pages a clerk, an administrator and an applicant see most, including pages showing form errors.

axe-core is vendored as a test asset (tests/browser/vendor/axe.min.js, MPL-2.0) and injected into
each page; the context bypasses the CSP for that injection only (the application serves no inline
script). Every page state must have no violation of the wcag2a/wcag2aa/wcag21a/wcag21aa rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.browser_util import log_in, serving
from tests.conftest import DEFAULT_NOW
from webapp.extensions import db

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = """async (tags) => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160))}));
}"""


@pytest.fixture
def server(app, database_url: str, tmp_path, time_machine) -> Iterator[tuple[str, int]]:
    time_machine.move_to(DEFAULT_NOW, tick=True)

    def setup() -> int:
        from tests.factories import make_case, make_world
        from webapp.models import User

        w = make_world()
        clerk = db.session.get(User, w.a.users["clerk"])
        case = make_case(clerk.agency, clerk, date(2024, 6, 3), today=date(2024, 6, 10))
        make_case(clerk.agency, clerk, date(2024, 5, 6), today=date(2024, 6, 10))
        db.session.flush()
        return case.id

    with serving(database_url, tmp_path, setup) as (base, _live, data):
        yield base, data


def test_pages_have_no_wcag_violations(server):
    from playwright.sync_api import sync_playwright

    from tests.browser_util import launch_chromium
    from tests.factories import PASSWORD

    base, case_id = server
    found: dict[str, list] = {}
    checked: list[str] = []

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, bypass_csp=True)
            page = context.new_page()

            def check(name: str) -> None:
                page.wait_for_load_state("load")
                page.add_script_tag(content=AXE)
                violations = page.evaluate(RUN, TAGS)
                checked.append(name)
                if violations:
                    found[name] = violations

            def login(username: str) -> None:
                log_in(page, base, username, PASSWORD)

            def first_tab_stop() -> str:
                page.keyboard.press("Tab")
                return page.evaluate("document.activeElement.className + ' ' + document.activeElement.hash")

            # axe itself finds what it should: a page with an unlabelled input and an image without alt
            page.set_content("<html><body><img src='x.png'><input type='file'></body></html>")
            page.add_script_tag(content=AXE)
            assert sorted(v["id"] for v in page.evaluate(RUN, TAGS)) == [
                "document-title", "html-has-lang", "image-alt", "label"]

            page.goto(f"{base}/")
            assert first_tab_stop() == "skip-link #main"      # the public layout
            check("root page (public)")
            page.goto(f"{base}/login")
            check("login")
            page.fill("#username", "swj_clerk")
            page.fill("#password", "wrong-password-1")
            page.click("button[type=submit], input[type=submit]")
            assert page.locator("#login-messages[role=alert] .flash-error").count() == 1
            check("login with error")
            page.goto(f"{base}/apply")
            check("public apply")
            page.goto(f"{base}/status")
            check("public status")

            login("swj_clerk")
            page.goto(f"{base}/")
            assert first_tab_stop() == "skip-link #main"      # the staff layout
            check("dashboard")
            page.goto(f"{base}/cases?sort=due")
            check("case list")
            page.goto(f"{base}/cases?date_from=2024-06-10&date_to=2024-06-01")
            assert page.evaluate("document.activeElement.name") == "date_to"
            check("case list with a reversed range")
            page.goto(f"{base}/cases/{case_id}")
            check("case page")
            page.goto(f"{base}/intake/new")
            page.click("#intake-form button[type=submit], #intake-form input[type=submit]")
            page.wait_for_load_state("load")
            assert page.locator("[aria-invalid=true]").count() >= 1
            first = page.evaluate("document.activeElement.getAttribute('aria-invalid')")
            assert first == "true"
            check("intake form with errors")
            page.goto(f"{base}/reports/agency/LZ-SWJ/2024")
            check("report page")

            login("swj_admin")
            page.goto(f"{base}/admin/users")
            check("admin users")
            page.goto(f"{base}/admin/")
            check("admin index")
        finally:
            browser.close()

    assert len(checked) == 13
    assert found == {}, "\n".join(f"{name}: {v['id']} ({v['help']}): {v['nodes']}"
                                  for name, vs in found.items() for v in vs)
