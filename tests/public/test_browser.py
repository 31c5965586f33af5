"""The applicant's side in a real browser (Debian's chromium through Playwright), on a phone-sized
screen, against the app served over HTTP with CSRF on: apply online, get the number and the code,
a clerk logs in and confirms, the applicant looks the status up and downloads the answer, and the
notices arrive in a test SMTP server. Screenshots go to test-artifacts/public/."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from flask import Flask
from stdnum.cn import ric, uscc
from werkzeug.serving import make_server

from tests.browser_util import log_in
from webapp.extensions import db
from webapp.timeutil import SHANGHAI

from .conftest import ID_NUMBER, PASSWORD, bad_id_number, id_number, png_bytes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "public"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    from aiosmtpd.controller import Controller

    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def served(make_app, smtp) -> Iterator[tuple[Flask, str]]:
    """The app with CSRF on and mail to the test SMTP server, served over HTTP in a thread."""
    _sink, port = smtp
    server_port = free_port()
    base = f"http://127.0.0.1:{server_port}"
    app = make_app(WTF_CSRF_ENABLED=True, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, BASE_URL=base)
    server = make_server("127.0.0.1", server_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    from tests.browser_util import launch_chromium

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_apply_confirm_look_up_and_receive_the_notices(served, browser, smtp, world, time_machine, tmp_path):
    app, base = served
    sink, _port = smtp
    time_machine.move_to(datetime(2024, 6, 11, 9, 0, tzinfo=SHANGHAI), tick=True)
    errors: list[str] = []

    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                accept_downloads=True, locale="zh-CN")
    page = phone.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))                     # script errors (and CSP)
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

    # --- the applicant fills the form on a phone
    page.goto(f"{base}/apply?agency=SWJ")
    assert page.locator("h1").inner_text() == "政府信息公开网上申请"
    assert page.locator("#field-uscc").is_hidden()                  # a person has no USCC
    page.fill("#name", "张三")
    page.fill("#id_number", bad_id_number())
    assert page.locator("#id_number-live").inner_text() == "居民身份证号码校验位不正确，请核对号码"
    page.fill("#id_number", id_number()[:10])
    assert page.locator("#id_number-live").inner_text() == "已输入 10 位，共18位"
    page.fill("#id_number", ID_NUMBER.lower())                    # typed with a small x
    assert page.input_value("#id_number") == "11010519491231002X"
    assert page.locator("#id_number-live").inner_text() == "✓ 号码格式和校验位正确"
    page.fill("#phone", "13800000000")
    page.fill("#email", "zhangsan@example.com")
    page.fill("#item-1", "2023年度部门预算")
    page.click("#add-item")                                          # a second box, without a reload
    page.fill("#item-2", "关于某项目的批复文件")
    page.check("input[name=form_wanted][value=email]")
    page.check("input[name=route_wanted][value=email]")
    scan = tmp_path / "身份证.png"
    scan.write_bytes(png_bytes())
    page.set_input_files("#attachments", str(scan))
    no_sideways_scroll(page)
    shot(page, "1-form")
    page.click("#review")
    assert page.locator("h1").inner_text() == "请核对您的申请"
    assert "关于某项目的批复文件" in page.inner_text("main") and "身份证.png" in page.inner_text("main")
    no_sideways_scroll(page)
    shot(page, "2-check")
    page.click("#final-submit")
    assert page.locator("h1").inner_text() == "申请已提交"
    number = page.inner_text("#number")
    code = page.inner_text("#query-code")
    assert number.startswith("WS-SWJ-20240611-") and len(code) == 14
    no_sideways_scroll(page)
    shot(page, "3-done")

    # --- a clerk of the bureau logs in and confirms it
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    staff = desk.new_page()
    log_in(staff, base, "clerk", PASSWORD)
    staff.goto(f"{base}/queue/")
    assert number in staff.inner_text("#queue-pending")
    staff.click(f"text={number}")
    assert "11010519491231002X" in staff.inner_text("main")
    shot(staff, "4-queue-detail")
    staff.click("#confirm")
    staff.wait_for_load_state()
    assert "/cases/" in staff.url
    assert "已确认受理" in staff.inner_text("body")

    # --- the applicant looks the status up
    page.goto(f"{base}/status")
    page.fill("#number", number)
    page.fill("#code", code)
    page.click("#lookup")
    assert page.inner_text("#status-text") == "已受理，正在办理"
    assert page.inner_text("#received-on") == "2024-06-11"
    assert page.inner_text("#due-on") == "2024-07-09"
    no_sideways_scroll(page)
    shot(page, "5-status")

    # --- the office answers (the case page stores the answer letter) and the applicant downloads it
    def answer() -> None:
        from sqlalchemy import select

        from webapp.cases.services import record_event
        from webapp.domain.outcomes import Outcome
        from webapp.domain.workflow import Event, EventType
        from webapp.models import Attachment, Case, User
        from webapp.notify.applicant_notices import on_case_event
        from webapp.public.services import store_file

        case = db.session.scalar(select(Case))
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        ev = record_event(case, Event(type=EventType.ANSWERED, on=case.received_on, outcome=Outcome.DISCLOSED),
                          clerk)
        stored = store_file("letter.pdf", b"%PDF-1.4\n% answer letter\n%%EOF\n")
        db.session.add(Attachment(case_id=case.id, kind="letter", filename=f"{case.number}-政府信息公开申请答复书.pdf",
                                  content_type="application/pdf", size=stored.size, sha256=stored.sha256,
                                  storage_path=stored.storage_path))
        db.session.flush()
        on_case_event(case, ev)
        db.session.commit()

    with app.app_context():
        answer()
        db.session.remove()
    page.goto(f"{base}/status")
    page.fill("#number", number)
    page.fill("#code", code)
    page.click("#lookup")
    assert page.inner_text("#status-text") == "已答复，办理完毕"
    with page.expect_download() as info:
        page.click("#letters a")
    download = info.value
    assert download.suggested_filename.endswith("政府信息公开申请答复书.pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    shot(page, "6-answered")

    # --- the notices go out through the outbox to the SMTP server
    from webapp.notify.outbox import deliver_pending

    with app.app_context():
        result = deliver_pending()
        db.session.remove()
    assert len(result.sent) == 3 and not result.failed
    assert [m["To"] for m in sink.messages] == ["zhangsan@example.com"] * 3
    first, confirmed, answered = sink.messages
    assert number in first["Subject"] and code in first.get_body(("plain",)).get_content()
    assert "已确认受理" in confirmed["Subject"] and "收到申请之日：2024-06-11" in confirmed.get_body(
        ("plain",)).get_content()
    assert f"{base}/status" in confirmed.get_body(("plain",)).get_content()
    [att] = list(answered.iter_attachments())
    assert att.get_filename().endswith("政府信息公开申请答复书.pdf")
    assert errors == []
    phone.close()
    desk.close()


def _problem(check, value, *args) -> str:
    from webapp.domain.identity import IdentityError

    try:
        check(value, *args)
    except IdentityError as e:
        return e.message_zh
    return ""


def test_the_browser_checks_by_the_servers_rule_with_its_messages(served, browser, world):
    """static/js/public.js and webapp/domain/identity.py: the same verdict and the same message for
    every number (the district code is never refused by either)."""
    from webapp.domain.identity import check_resident_id, check_uscc

    _app, base = served
    page = browser.new_page()
    page.goto(f"{base}/apply")
    today = date(2024, 6, 11)
    rng = random.Random(11643)
    ric_cases, uscc_cases = [], []
    for _ in range(300):
        body = f"{rng.choice(['110105', '370305', '510117', '510122', '519999', '810000', '990101', '160101'])}" \
               f"{rng.choice([1899, 1900, 1950, 1980, 2010, 2024, 2025])}" \
               f"{rng.randint(1, 13):02d}{rng.choice([1, 10, 28, 29, 30, 31]):02d}{rng.randint(0, 999):03d}"
        good = body + ric.calc_check_digit(body + "0")
        ric_cases += [good, body + rng.choice("0123456789X")]
        ubody = "".join(rng.choice("0123456789ANY") for _ in range(2)) + "".join(
            rng.choice("0123456789") for _ in range(6)) + "".join(
            rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
        ugood = ubody + uscc.calc_check_digit(ubody + "0")
        uscc_cases += [ugood, ubody + rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY")]
    ric_cases += ["510117198003151234", "11010519491231002", "1101051949123100AX", "11010520240611007" + "X",
                  "11010520240612007" + ric.calc_check_digit("11010520240612007" + "0"),
                  # a birth year under 100: JavaScript's Date.UTC would read 0050 as 1950
                  "11010500500101001" + ric.calc_check_digit("11010500500101001" + "0"),
                  "11010500990229001" + ric.calc_check_digit("11010500990229001" + "0")]
    uscc_cases += ["91350100M000100Y43", "N2330106MA0000011N", "9135010OM000100Y43", "91350100M000100Y4"]
    js_ric = page.evaluate("list => list.map(v => window.GovCheck.ricProblem(v, new Date(2024, 5, 11)))",
                           ric_cases)
    js_uscc = page.evaluate("list => list.map(v => window.GovCheck.usccProblem(v))", uscc_cases)
    assert js_ric == [_problem(check_resident_id, v, today) for v in ric_cases]
    assert js_uscc == [_problem(check_uscc, v) for v in uscc_cases]
    assert js_ric[-7] == "" and js_uscc[-3] == ""               # 510117 born 1980; an N2 USCC
    assert js_ric[-2] == "居民身份证号码中的出生日期早于1900年" and js_ric[-1] == "居民身份证号码中的出生日期无效"
    assert 60 <= js_ric.count("") < len(js_ric) and 200 <= js_uscc.count("") < len(js_uscc)
    assert len(set(js_ric)) == 7 and len(set(js_uscc)) == 3      # every message of the rule is met


def test_one_message_for_a_refused_number(served, browser, world):
    """After the server refuses a number the page shows its message once; typing replaces it with
    the live check's."""
    _app, base = served
    page = browser.new_page()
    page.goto(f"{base}/apply?agency=SWJ")
    page.fill("#name", "张三")
    page.fill("#id_number", bad_id_number())
    page.fill("#phone", "13800000000")
    page.fill("#item-1", "2023年度部门预算")
    page.check("input[name=form_wanted][value=paper]")
    page.check("input[name=route_wanted][value=pickup]")
    page.click("#review")
    page.wait_for_load_state()
    field = page.locator("#field-id_number")
    assert field.inner_text().count("居民身份证号码校验位不正确，请核对号码") == 1
    page.fill("#id_number", "510117198003151234")
    assert page.locator("#id_number-live").inner_text() == "✓ 号码格式和校验位正确"
    assert "校验位不正确" not in field.inner_text()
