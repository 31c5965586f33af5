"""In a real browser (Playwright, headless Chromium, CSRF on): the approver records a post delivery
with its tracking number, flags the return (退件) - flagged on the case and counted on the dashboard -
delivers again, archives the case and downloads the dossier PDF."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date

import pytest

from tests.browser_util import log_in, serving
from tests.conftest import DEFAULT_NOW
from webapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def server(app, database_url: str, tmp_path, time_machine) -> Iterator[tuple[str, int]]:
    time_machine.move_to(DEFAULT_NOW, tick=True)

    def setup() -> int:
        from tests.delivery.helpers import answered_case
        from tests.factories import make_world
        from webapp.models import Agency, User

        w = make_world()
        agency = db.session.get(Agency, w.a.agency_id)
        clerk = db.session.get(User, w.a.users["clerk"])
        return answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), date(2024, 6, 10)).id

    with serving(database_url, tmp_path, setup) as (base, _live, data):
        yield base, data


def test_post_delivery_return_archive_and_dossier(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from tests.browser_util import launch_chromium
    from tests.factories import PASSWORD

    base, case_id = server
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="zh-CN", accept_downloads=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())    # archiving asks for confirmation
            log_in(page, base, "swj_approver", PASSWORD)
            expect(page.locator("#delivery-flags")).to_have_count(0)

            # -- post delivery with a tracking number (a missing one is refused first)
            page.goto(f"{base}/cases/{case_id}")
            page.click("#delivery-link")
            page.select_option("#method", "post")
            page.fill("#on", "2024-06-06")
            page.click("#record-delivery button[type=submit]")
            expect(page.locator(".flash-error")).to_contain_text("邮寄送达须填写邮件号（6至30位字母或数字）")
            page.select_option("#method", "post")
            page.fill("#on", "2024-06-06")
            page.fill("#tracking_no", "EMS1234567890")
            page.click("#record-delivery button[type=submit]")
            expect(page.locator(".flash-success")).to_contain_text("已登记送达：邮寄，2024-06-06。")
            row = page.locator("tr.delivery").first
            expect(row.locator(".tracking-no")).to_have_text("EMS1234567890")
            expect(row.locator(".delivery-status")).to_have_text("已送达")

            # -- the post comes back
            row.locator("details.return-form > summary").click()
            row.locator("select[name$='-status']").select_option("returned")
            row.locator("input[name$='-on']").fill("2024-06-08")
            row.locator("textarea[name$='-reason']").fill("查无此人")
            row.locator("details.return-form button[type=submit]").click()
            expect(page.locator(".flash-success")).to_contain_text("已登记退件或未送达")
            status = page.locator("tr.delivery").first.locator(".delivery-status")
            expect(status).to_contain_text("退件 2024-06-08：查无此人")

            page.goto(f"{base}/cases/{case_id}")
            expect(page.locator("#case-delivery-flag")).to_contain_text("退件或未送达 1")
            page.goto(f"{base}/")
            expect(page.locator("#delivery-flags .delivery-flag-count")).to_have_text("1")
            page.click("#delivery-flags a")
            expect(page.locator("#flagged")).to_contain_text("EMS1234567890")

            # -- archiving is refused while the return is open; deliver again, then archive
            page.goto(f"{base}/cases/{case_id}/archive")
            page.click("#archive-button")
            expect(page.locator(".flash-error")).to_contain_text("有退件或未送达的文书尚未重新送达")
            page.goto(f"{base}/cases/{case_id}/delivery")
            page.select_option("#method", "post")
            page.fill("#on", "2024-06-10")
            page.fill("#tracking_no", "EMS1234567891")
            page.click("#record-delivery button[type=submit]")
            expect(page.locator(".flash-success")).to_contain_text("已登记送达")
            page.goto(f"{base}/")
            expect(page.locator("#delivery-flags")).to_have_count(0)

            page.goto(f"{base}/cases/{case_id}/archive")
            page.click("#archive-button")
            expect(page.locator(".flash-success")).to_contain_text("已归档，归档号 LZ-SWJ-2024-0001，保管期限30年。")
            expect(page.locator("#archive-no")).to_have_text("LZ-SWJ-2024-0001")
            with page.expect_download() as info:
                page.click("#dossier-link")
            download = info.value
            assert download.suggested_filename == "LZ-SWJ-2024-0001-案卷.pdf"
            path = tmp_path / "dossier.pdf"
            download.save_as(str(path))
            assert path.read_bytes().startswith(b"%PDF-")
            text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
                           .stdout.decode().split())
            assert "LZ-SWJ-2024-0001" in text and "卷内目录" in text and "EMS1234567890" in text

            # -- the archived case takes no more deliveries
            page.goto(f"{base}/cases/{case_id}/delivery")
            expect(page.locator("#archived-note")).to_contain_text("归档号LZ-SWJ-2024-0001")
            expect(page.locator("#record-delivery")).to_have_count(0)
            assert errors == []
        finally:
            browser.close()
