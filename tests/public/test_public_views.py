"""The applicant's pages: the form with its confirmation step, attachments, duplicates, rate limits,
the status look-up (no leak, throttled) and the letter download."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from webapp.extensions import db
from webapp.models import Attachment, Case, User
from webapp.models.submission import Submission, SubmissionFile
from webapp.timeutil import SHANGHAI

from .conftest import EXE_BYTES, bad_id_number, file_tuple, form_post, pdf_bytes, png_bytes


def big_post(client, path: str, data: dict, **kw):
    """A large multipart body encoded in memory (werkzeug would spool it to a temporary file that a
    refused request leaves open)."""
    md = MultiDict()
    for key, value in data.items():
        for v in value if isinstance(value, list) else [value]:
            md.add(key, FileStorage(stream=v[0], filename=v[1]) if isinstance(v, tuple) else v)
    boundary, body = encode_multipart(md)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}", **kw)


def payload_of(html: str) -> str:
    m = re.search(r'name="payload" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


def submit_form(client, **over):
    """Fill the form, check it, confirm it: (response of the final submit, number, code)."""
    r = client.post("/apply", data=form_post(**over), content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    r = client.post("/apply/submit", data={"payload": payload_of(r.get_data(as_text=True)), "action": "submit"})
    html = r.get_data(as_text=True)
    number = re.search(r'id="number">([^<]+)<', html)
    code = re.search(r'id="query-code">([^<]+)<', html)
    return r, number.group(1) if number else None, code.group(1) if code else None


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_form_page_is_chinese_phone_ready_and_has_no_inline_code(client, world):
    r = client.get("/apply?agency=SWJ")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "政府信息公开网上申请" in html and '<option value="SWJ" selected>' in html
    assert 'data-check="ric"' in html and 'data-check="uscc"' in html
    assert "js/public.js" in html and "css/public.css" in html
    for page in ("/apply", "/status"):
        html = client.get(page).get_data(as_text=True)
        assert "style=" not in html and "<style" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)     # no inline scripts (CSP)
        assert not re.search(r"\son[a-z]+=", html)                          # no inline handlers


def test_submit_through_the_confirmation_page(app, client, world):
    r = client.post("/apply", data=form_post(), content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "请核对您的申请" in html
    assert "11010519491231002X" in html and "2023年度部门预算" in html
    assert count(app, Submission) == 0                                   # nothing stored before confirming
    r = client.post("/apply/submit", data={"payload": payload_of(html), "action": "submit"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "申请已提交" in html
    assert r.headers["Cache-Control"] == "no-store"
    number = re.search(r'id="number">([^<]+)<', html).group(1)
    code = re.search(r'id="query-code">([^<]+)<', html).group(1)
    assert re.fullmatch(r"WS-SWJ-20240610-\d{6}", number)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code)
    assert "查询码只显示这一次" in html and "zhangsan@example.com" in html
    with app.app_context():
        sub = db.session.scalar(select(Submission))
        assert sub.number == number and sub.items == ["2023年度部门预算", "关于某项目的批复文件"]
        assert sub.source == "web" and sub.remote_addr == "127.0.0.1"
    # the same confirmation posted again (a refresh, a double click): recognised, not recorded twice
    r = client.post("/apply/submit", data={"payload": payload_of(
        client.post("/apply", data=form_post(), content_type="multipart/form-data").get_data(as_text=True)),
        "action": "submit"})
    html = r.get_data(as_text=True)
    assert "您已提交过相同的申请" in html and number in html and code not in html
    assert count(app, Submission) == 1


def test_add_an_item_without_javascript(client, world):
    r = client.post("/apply", data=form_post(action="add_item", items=["一", "二"]),
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.count('<textarea name="items"') == 3 and ">一</textarea>" in html


def test_invalid_identity_is_refused_on_the_server(app, client, world):
    r = client.post("/apply", data=form_post(id_number=bad_id_number()), content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "居民身份证号码校验位不正确，请核对号码" in html and "请更正下列标出的内容" in html
    assert 'value="张三"' in html                                         # what was typed is kept
    assert count(app, Submission) == 0


def test_edit_from_the_confirmation_page(client, world):
    r = client.post("/apply", data=form_post(), content_type="multipart/form-data")
    r = client.post("/apply/submit", data={"payload": payload_of(r.get_data(as_text=True)), "action": "edit"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "政府信息公开网上申请" in html
    assert ">关于某项目的批复文件</textarea>" in html and 'value="zhangsan@example.com"' in html


def test_a_tampered_payload_is_refused(app, client, world):
    r = client.post("/apply", data=form_post(), content_type="multipart/form-data")
    payload = payload_of(r.get_data(as_text=True))
    r = client.post("/apply/submit", data={"payload": payload[:-3] + "AAA", "action": "submit"})
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    assert count(app, Submission) == 0


def test_attachments_checked_by_content(app, client, world):
    data = form_post()
    data["attachments"] = [file_tuple(png_bytes(), "身份证.png"), file_tuple(pdf_bytes(), "委托书.PDF")]
    r = client.post("/apply", data=data, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "身份证.png" in html and "委托书.PDF" in html
    r = client.post("/apply/submit", data={"payload": payload_of(html), "action": "submit"})
    assert r.status_code == 200
    with app.app_context():
        files = db.session.scalars(select(SubmissionFile).order_by(SubmissionFile.id)).all()
        assert [(f.filename, f.content_type) for f in files] == [("身份证.png", "image/png"),
                                                                  ("委托书.PDF", "application/pdf")]
        assert all(f.storage_path.startswith("submissions/") for f in files)


@pytest.mark.parametrize(("content", "name", "message"), [
    (png_bytes(), "扫描件.pdf", "附件“扫描件.pdf”的文件名后缀与文件内容不符"),          # disguised PNG
    (EXE_BYTES, "申请表.pdf", "附件“申请表.pdf”不是PDF、JPEG或PNG文件（按文件内容判断）"),   # a program
    (b"<html><script>alert(1)</script>", "a.png", "附件“a.png”不是PDF、JPEG或PNG文件（按文件内容判断）"),
    (b"%PDF-" + b"0" * (10 * 1024 * 1024), "大文件.pdf", "附件“大文件.pdf”超过10MB"),        # 10 MB + 5 bytes
    (b"", "空.pdf", "附件“空.pdf”是空文件"),
])
def test_bad_attachments_are_refused(app, client, world, content, name, message):
    data = form_post()
    data["attachments"] = [file_tuple(content, name)]
    r = big_post(client, "/apply", data)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and message in html
    assert count(app, Submission) == 0


def test_an_oversized_request_gets_a_chinese_page(app, client, world):
    data = form_post()
    data["attachments"] = [file_tuple(b"%PDF-" + b"0" * (21 * 1024 * 1024), "巨大.pdf")]
    r = big_post(client, "/apply", data)
    assert r.status_code == 413 and "文件过大" in r.get_data(as_text=True)


def test_status_lookup_shows_only_what_the_applicant_may_see(app, client, world, time_machine):
    _r, number, code = submit_form(client)
    r = client.post("/status", data={"number": number, "code": code.lower()})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已提交，等待示范市商务局确认受理" in html
    assert "13800000000" not in html and "11010519491231002X" not in html   # no personal data echoed
    # the clerk confirms on Wednesday
    time_machine.move_to(datetime(2024, 6, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    with app.app_context():
        from webapp.public.services import confirm_submission

        sub = db.session.scalar(select(Submission))
        case = confirm_submission(sub, db.session.get(User, world.users["clerk"]))
        case_number = case.number
        db.session.commit()
    r = client.post("/status", data={"number": number, "code": code})
    html = r.get_data(as_text=True)
    assert "已受理，正在办理" in html
    assert re.search(r'id="received-on">2024-06-12<', html)
    assert re.search(r'id="due-on">2024-07-10<', html) and "暂定" not in html
    assert "确认受理" in html and "邮件待发送" in html and "已发邮件" not in html and case_number in html
    # the case number works too
    r = client.post("/status", data={"number": case_number, "code": code})
    assert "已受理，正在办理" in r.get_data(as_text=True)


def test_unknown_number_and_wrong_code_look_the_same(app, client, world):
    _r, number, _code = submit_form(client)
    fake = number[:-6] + ("000000" if number[-6:] != "000000" else "000001")
    wrong = client.post("/status", data={"number": number, "code": "AAAA-BBBB-CCCC"})
    unknown = client.post("/status", data={"number": fake, "code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == unknown.status_code == 200
    a = wrong.get_data(as_text=True).replace(number, "N")
    b = unknown.get_data(as_text=True).replace(fake, "N")
    strip = re.compile(r'name="csrf_token"[^>]*>')
    assert strip.sub("", a) == strip.sub("", b)
    assert "申请编号或查询码不正确" in a


def test_wrong_codes_are_throttled_after_five_tries(app, client, world):
    _r, number, code = submit_form(client)
    for i in range(5):
        r = client.post("/status", data={"number": number, "code": f"AAAA-BBBB-CCC{i + 2}"},
                        environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"})
        assert r.status_code == 200 and "不正确" in r.get_data(as_text=True)
    r = client.post("/status", data={"number": number, "code": "AAAA-BBBB-CCC9"},
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 429 and "查询失败次数过多" in r.get_data(as_text=True)
    # the applicant is not locked out by strangers' failures: the right code still works
    r = client.post("/status", data={"number": number, "code": code}, environ_base={"REMOTE_ADDR": "10.0.0.10"})
    assert r.status_code == 200 and "已提交" in r.get_data(as_text=True)
    # an unknown number is throttled the same way: nothing tells the two apart
    fake = number[:-6] + ("000000" if number[-6:] != "000000" else "000001")
    for i in range(5):
        client.post("/status", data={"number": fake, "code": "AAAA-BBBB-CCCC"},
                    environ_base={"REMOTE_ADDR": f"10.0.1.{i + 1}"})
    r = client.post("/status", data={"number": fake, "code": "AAAA"}, environ_base={"REMOTE_ADDR": "10.0.1.9"})
    assert r.status_code == 429 and "查询失败次数过多" in r.get_data(as_text=True)


def test_an_address_guessing_many_numbers_is_throttled(app, client, world):
    _r, number, code = submit_form(client)
    for i in range(5):
        client.post("/status", data={"number": f"WS-SWJ-20240610-99999{i}", "code": "AAAA-BBBB-CCCC"},
                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
    r = client.post("/status", data={"number": number, "code": "AAAA-BBBB-CCC9"},
                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert r.status_code == 429
    for addr in ("10.9.9.9", "10.9.9.8"):    # the right code passes, even from the throttled address
        r = client.post("/status", data={"number": number, "code": code}, environ_base={"REMOTE_ADDR": addr})
        assert r.status_code == 200 and "已提交" in r.get_data(as_text=True)


def test_another_applicants_number_with_my_code_is_refused(app, client, world):
    _r, _mine, my_code = submit_form(client)
    _r, theirs, _their_code = submit_form(client, name="李四", id_number="", id_document="护照 E12345678",
                                          email="lisi@example.com")
    r = client.post("/status", data={"number": theirs, "code": my_code})
    html = r.get_data(as_text=True)
    assert "申请编号或查询码不正确" in html and "李四" not in html


def test_rejected_submission_shows_the_reason(app, client, world):
    _r, number, code = submit_form(client)
    with app.app_context():
        from webapp.public.services import reject_submission

        reject_submission(db.session.scalar(select(Submission)), db.session.get(User, world.users["clerk"]),
                          "提交内容为商业广告，不属于政府信息公开申请")
        db.session.commit()
    html = client.post("/status", data={"number": number, "code": code}).get_data(as_text=True)
    assert "未予受理" in html and "提交内容为商业广告，不属于政府信息公开申请" in html


def _answer_with_letter(app, world, route="email"):
    """Confirm the submission, answer the case and store its answer letter (as the case page does)."""
    from webapp.cases.services import record_event
    from webapp.domain.outcomes import Outcome
    from webapp.domain.workflow import Event, EventType
    from webapp.public.services import confirm_submission, store_file

    with app.app_context():
        sub = db.session.scalar(select(Submission))
        case = confirm_submission(sub, db.session.get(User, world.users["clerk"]))
        record_event(case, Event(type=EventType.ANSWERED, on=case.received_on, outcome=Outcome.DISCLOSED),
                     db.session.get(User, world.users["clerk"]))
        stored = store_file("x.pdf", pdf_bytes("answer letter"))
        letter = Attachment(case_id=case.id, kind="letter", filename=f"{case.number}-政府信息公开申请答复书.pdf",
                            content_type="application/pdf", size=stored.size, sha256=stored.sha256,
                            storage_path=stored.storage_path)
        consult = Attachment(case_id=case.id, kind="letter", filename=f"{case.number}-征求意见函.pdf",
                             content_type="application/pdf", size=stored.size, sha256=stored.sha256,
                             storage_path=stored.storage_path)
        scan = db.session.scalar(select(Attachment).where(Attachment.case_id == case.id))
        db.session.add_all([letter, consult])
        db.session.commit()
        return letter.id, consult.id, scan.id if scan else None


def test_answer_letter_download_for_an_electronic_route(app, client, world):
    data_extra = {"attachments": [file_tuple(png_bytes(), "身份证.png")]}
    r = client.post("/apply", data={**form_post(), **data_extra}, content_type="multipart/form-data")
    r = client.post("/apply/submit", data={"payload": payload_of(r.get_data(as_text=True)), "action": "submit"})
    html = r.get_data(as_text=True)
    number = re.search(r'id="number">([^<]+)<', html).group(1)
    code = re.search(r'id="query-code">([^<]+)<', html).group(1)
    letter_id, consult_id, scan_id = _answer_with_letter(app, world)
    # without a look-up in this browser: nothing
    assert app.test_client().get(f"/status/letters/{letter_id}").status_code == 404
    html = client.post("/status", data={"number": number, "code": code}).get_data(as_text=True)
    assert "已答复，办理完毕" in html and "政府信息公开申请答复书.pdf" in html
    assert "征求意见函" not in html                                  # a letter to a third party is not theirs
    with client.get(f"/status/letters/{letter_id}") as r:
        assert r.status_code == 200 and r.data.startswith(b"%PDF-")
        assert "attachment" in r.headers["Content-Disposition"]
    assert client.get(f"/status/letters/{consult_id}").status_code == 404
    assert client.get(f"/status/letters/{scan_id}").status_code == 404   # the applicant's own scan: not a letter


def test_no_letter_download_for_a_paper_route(app, client, world):
    _r, number, code = submit_form(client, form_wanted="paper", route_wanted="post")
    letter_id, _c, _s = _answer_with_letter(app, world)
    html = client.post("/status", data={"number": number, "code": code}).get_data(as_text=True)
    assert "已答复" in html and "答复书" not in html
    assert client.get(f"/status/letters/{letter_id}").status_code == 404


def test_a_flood_from_one_address_gets_429(make_app, world):
    other = make_app(RATELIMIT_ENABLED=True, PUBLIC_SUBMIT_RATE="3 per hour", PUBLIC_LOOKUP_RATE="4 per hour")
    client = other.test_client()
    statuses = []
    for i in range(4):
        r = client.post("/apply", data=form_post(items=[f"第{i}批"], name=f"申请人{i}", id_number="",
                                                 id_document=f"护照{i}"),
                        content_type="multipart/form-data")
        r = client.post("/apply/submit", data={"payload": payload_of(r.get_data(as_text=True)), "action": "submit"})
        statuses.append(r.status_code)
    assert statuses == [200, 200, 200, 429]
    assert "操作过于频繁" in r.get_data(as_text=True)
    # another address is not affected
    r = client.post("/apply", data=form_post(items=["别处"]), content_type="multipart/form-data",
                    environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert r.status_code == 200
    looks = [client.post("/status", data={"number": "X", "code": "Y"}).status_code for _ in range(5)]
    assert looks[:4] != [429] * 4 and looks[4] == 429


def test_csrf_is_required_on_the_form_but_not_on_the_api(make_app, world, api_token):
    other = make_app(WTF_CSRF_ENABLED=True)
    client = other.test_client()
    r = client.post("/apply", data=form_post(), content_type="multipart/form-data")
    assert r.status_code == 400
    r = client.post("/status", data={"number": "X", "code": "Y"})
    assert r.status_code == 400
    token = api_token("SWJ")
    r = client.post("/api/v1/applications", json={}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"   # schema, not CSRF
    # with the token from the page, the form goes through
    html = client.get("/apply").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    r = client.post("/apply", data={**form_post(), "csrf_token": csrf}, content_type="multipart/form-data")
    assert r.status_code == 200 and "请核对您的申请" in r.get_data(as_text=True)


def test_every_applicant_route_is_declared(app):
    mine = [r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in ("public", "queue", "api")]
    assert len(mine) >= 14
    for rule in mine:
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_action", None), rule.endpoint
    queue_actions = {app.view_functions[r.endpoint].required_action for r in mine if r.endpoint.startswith("queue.")}
    assert queue_actions == {"queue.view", "queue.confirm"}
    assert {app.view_functions[r.endpoint].required_action for r in mine
            if not r.endpoint.startswith("queue.")} == {"public"}
    assert count(app, Case) == 0
