"""The JSON API v1: tokens, submissions like the form's, look-ups with the query code, JSON errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import ApiToken, Attachment, User
from webapp.models.submission import Submission
from webapp.public.services import confirm_submission

from .conftest import EXE_BYTES, applicant, bad_id_number, pdf_bytes, png_bytes


def body(**over):
    data = {"applicant": applicant(), "items": ["2023年度部门预算"], "form_wanted": "email", "route_wanted": "email"}
    data.update(over)
    return data


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(r, status: int, code: str, contains: str = ""):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    data = r.get_json()
    assert data["error"] == code and data["message"]
    assert contains in data["message"]
    assert "Set-Cookie" not in r.headers
    return data


def test_openapi_document(client, world):
    r = client.get("/api/v1/openapi.json")
    doc = r.get_json()
    assert r.status_code == 200 and doc["openapi"] == "3.0.3"
    assert set(doc["paths"]) == {"/api/v1/applications", "/api/v1/applications/{number}",
                                 "/api/v1/applications/{number}/letters/{letter_id}", "/api/v1/openapi.json"}
    post = doc["paths"]["/api/v1/applications"]["post"]
    assert set(post["responses"]) == {"200", "201", "400", "401", "403", "413", "415", "422", "429"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["error", "message"]
    assert "Set-Cookie" not in r.headers


def test_create_and_look_up(app, client, world, api_token):
    token = api_token("SWJ")
    r = client.post("/api/v1/applications", json=body(), headers=auth(token))
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert data["number"].startswith("WS-SWJ-20240610-") and data["duplicate"] is False
    assert data["status"] == "submitted" and data["agency"] == {"code": "SWJ", "name": "示范市商务局"}
    assert "Set-Cookie" not in r.headers and r.headers["Cache-Control"] == "no-store"
    code = data["query_code"]
    with app.app_context():
        sub = db.session.scalar(select(Submission))
        assert sub.source == "api" and sub.api_token_id is not None
    r = client.get(f"/api/v1/applications/{data['number']}", headers={**auth(token), "X-Query-Code": code})
    assert r.status_code == 200
    got = r.get_json()
    assert got["status"] == "submitted" and got["status_text"].startswith("已提交") and got["letters"] == []
    r = client.get(f"/api/v1/applications/{data['number']}", headers={**auth(token), "X-Query-Code": code.lower()})
    assert r.status_code == 200
    # the same submission again within ten minutes: the earlier number, no new code
    r = client.post("/api/v1/applications", json=body(), headers=auth(token))
    assert r.status_code == 200
    again = r.get_json()
    assert again["duplicate"] is True and again["number"] == data["number"] and again["query_code"] is None
    assert "未重复登记" in again["message"]


@pytest.mark.parametrize("via", ["email", "sms", "both"])
def test_the_applicants_choice_of_notices_through_the_api(app, client, world, api_token, via):
    token = api_token("SWJ")
    r = client.post("/api/v1/applications", json=body(notify_via=via, applicant=applicant(phone="13912345678")),
                    headers=auth(token))
    assert r.status_code == 201, r.get_json()
    with app.app_context():
        assert db.session.scalar(select(Submission.notify_via)) == via


def test_a_government_token_may_submit_to_its_departments(client, world, api_token):
    token = api_token("SZF")
    r = client.post("/api/v1/applications", json=body(agency="JYJ"), headers=auth(token))
    assert r.status_code == 201 and r.get_json()["agency"]["code"] == "JYJ"
    assert_error(client.post("/api/v1/applications", json=body(agency="QT"), headers=auth(token)), 403, "forbidden")
    dept = api_token("SWJ")
    assert_error(client.post("/api/v1/applications", json=body(agency="SZF"), headers=auth(dept)), 403, "forbidden")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "Bearer gkapi_" + "x" * 43])
def test_missing_or_wrong_token(client, world, header):
    headers = {"Authorization": header} if header else {}
    r = client.post("/api/v1/applications", json=body(), headers=headers)
    assert_error(r, 401, "unauthorized", "令牌")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.get("/api/v1/applications/WS-1", headers={**headers, "X-Query-Code": "x"}), 401,
                 "unauthorized")


def test_a_revoked_token_is_refused(app, client, world, api_token):
    token = api_token("SWJ")
    with app.app_context():
        db.session.scalar(select(ApiToken)).revoked_at = datetime(2024, 6, 1, tzinfo=UTC).replace(tzinfo=None)
        db.session.commit()
    assert_error(client.post("/api/v1/applications", json=body(), headers=auth(token)), 401, "unauthorized")


@pytest.mark.parametrize(("kwargs", "status", "code", "contains"), [
    ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json", "JSON"),
    ({"data": b"\xff\xfe", "content_type": "application/json"}, 400, "invalid_json", "JSON"),
    ({"data": "a=b", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", "json"),
    ({"json": []}, 400, "invalid_request", "对象"),
    ({"json": body(items=[])}, 400, "invalid_request", "至少1项"),
    ({"json": body(items="一项")}, 400, "invalid_request", "数组"),
    ({"json": body(extra=1)}, 400, "invalid_request", "extra"),
    ({"json": body(form_wanted="fax")}, 400, "invalid_request", "取值无效"),
    ({"json": body(applicant={"kind": "natural_person"})}, 400, "invalid_request", "name"),
    ({"json": body(applicant=applicant(id_number=bad_id_number()))}, 422, "validation_failed", "校验位不正确"),
    ({"json": body(applicant=applicant(email=""))}, 422, "validation_failed", "电子邮箱"),
    ({"json": body(items=["含\u0000控制字符"])}, 422, "validation_failed", "控制字符"),
    ({"json": body(notify_via="fax")}, 400, "invalid_request", "取值无效"),
    ({"json": body(notify_via="sms", applicant=applicant(phone="010-12345678"))}, 422, "validation_failed",
     "手机号码"),
])
def test_refusals_are_json_with_a_chinese_message(app, client, world, api_token, kwargs, status, code, contains):
    token = api_token("SWJ")
    r = client.post("/api/v1/applications", headers=auth(token), **kwargs)
    data = assert_error(r, status, code, contains)
    if status == 422:
        assert data["rule"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 0


@pytest.mark.parametrize(("content", "name", "status", "rule"), [
    (png_bytes(), "扫描件.pdf", 422, "file.disguised"),
    (EXE_BYTES, "setup.pdf", 422, "file.type"),
    (b"%PDF-" + b"0" * (10 * 1024 * 1024 - 4), "big.pdf", 422, "file.too_large"),   # 10 MB + 1 byte
    (b"%PDF-" + b"0" * (10 * 1024 * 1024), "bigger.pdf", 400, "schema"),    # 10 MB + 5: past the schema's maxLength
])
def test_bad_attachments(app, client, world, api_token, content, name, status, rule):
    token = api_token("SWJ")
    att = {"filename": name, "content_base64": base64.b64encode(content).decode()}
    r = client.post("/api/v1/applications", json=body(attachments=[att]), headers=auth(token))
    data = assert_error(r, status, "validation_failed" if status == 422 else "invalid_request")
    assert data["rule"] == rule


def test_attachments_and_bad_base64(app, client, world, api_token):
    token = api_token("SWJ")
    bad = {"filename": "a.pdf", "content_base64": "%%%not base64"}
    assert assert_error(client.post("/api/v1/applications", json=body(attachments=[bad]), headers=auth(token)),
                        422, "validation_failed")["rule"] == "file.base64"
    good = {"filename": "证明.pdf", "content_base64": base64.b64encode(pdf_bytes()).decode()}
    r = client.post("/api/v1/applications", json=body(attachments=[good]), headers=auth(token))
    assert r.status_code == 201
    with app.app_context():
        assert [f.filename for f in db.session.scalar(select(Submission)).files] == ["证明.pdf"]


def test_exactly_ten_megabytes_is_accepted(app, client, world, api_token):
    token = api_token("SWJ")
    content = b"%PDF-" + b"0" * (10 * 1024 * 1024 - 5)
    att = {"filename": "整十兆.pdf", "content_base64": base64.b64encode(content).decode()}
    r = client.post("/api/v1/applications", json=body(attachments=[att]), headers=auth(token))
    assert r.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(Submission)).files[0].size == 10 * 1024 * 1024


def test_too_large_a_body(client, world, api_token):
    token = api_token("SWJ")
    r = client.post("/api/v1/applications", data=b"{" + b" " * (21 * 1024 * 1024) + b"}",
                    content_type="application/json", headers=auth(token))
    assert_error(r, 413, "payload_too_large")


def test_lookup_no_leak_and_throttled(app, client, world, api_token):
    token = api_token("SWJ")
    created = client.post("/api/v1/applications", json=body(), headers=auth(token)).get_json()
    number, code = created["number"], created["query_code"]
    wrong = client.get(f"/api/v1/applications/{number}", headers={**auth(token), "X-Query-Code": "AAAA-BBBB-CCCC"})
    unknown = client.get("/api/v1/applications/WS-SWJ-20240610-000000",
                         headers={**auth(token), "X-Query-Code": "AAAA-BBBB-CCCC"})
    assert wrong.get_json() == unknown.get_json() == {"error": "not_found", "message": "申请编号或查询码不正确"}
    assert_error(client.get(f"/api/v1/applications/{number}", headers=auth(token)), 400, "invalid_request", "查询码")
    for _ in range(4):
        client.get(f"/api/v1/applications/{number}", headers={**auth(token), "X-Query-Code": "AAAA"})
    r = client.get(f"/api/v1/applications/{number}", headers={**auth(token), "X-Query-Code": "BBBB"})
    assert_error(r, 429, "rate_limited", "查询失败次数过多")
    # failures by others never lock the applicant out: the right code still answers
    r = client.get(f"/api/v1/applications/{number}", headers={**auth(token), "X-Query-Code": code})
    assert r.status_code == 200 and r.get_json()["number"] == number


def test_the_query_code_is_never_taken_from_the_url(app, client, world, api_token):
    """A code in the URL would end up in access and proxy logs: only the header counts."""
    token = api_token("SWJ")
    created = client.post("/api/v1/applications", json=body(), headers=auth(token)).get_json()
    r = client.get(f"/api/v1/applications/{created['number']}?code={created['query_code']}", headers=auth(token))
    assert_error(r, 400, "invalid_request", "X-Query-Code")


def test_the_rate_limit_counts_the_token_however_the_header_is_written(app, world, api_token, make_app):
    token = api_token("SWJ")
    client = make_app(RATELIMIT_ENABLED=True, API_RATE="2 per hour").test_client()
    codes = [client.get("/api/v1/applications/WS-1", headers={"Authorization": f"{scheme} {token}",
                                                               "X-Query-Code": "x"}).status_code
             for scheme in ("Bearer", "bearer", "BEARER ", "Bearer  ")]
    assert codes == [404, 404, 429, 429], codes


def test_another_agencys_portal_cannot_look_up(app, client, world, api_token):
    created = client.post("/api/v1/applications", json=body(), headers=auth(api_token("SWJ"))).get_json()
    other = api_token("QT")
    r = client.get(f"/api/v1/applications/{created['number']}",
                   headers={**auth(other), "X-Query-Code": created["query_code"]})
    assert_error(r, 404, "not_found")
    gov = api_token("SZF")                                   # the government's portal sees its departments'
    r = client.get(f"/api/v1/applications/{created['number']}",
                   headers={**auth(gov), "X-Query-Code": created["query_code"]})
    assert r.status_code == 200


def test_status_after_confirmation_and_the_letter(app, client, world, api_token):
    from webapp.cases.services import record_event
    from webapp.domain.outcomes import Outcome
    from webapp.domain.workflow import Event, EventType
    from webapp.public.services import store_file

    token = api_token("SWJ")
    created = client.post("/api/v1/applications", json=body(), headers=auth(token)).get_json()
    with app.app_context():
        clerk = db.session.get(User, world.users["clerk"])
        case = confirm_submission(db.session.scalar(select(Submission)), clerk)
        record_event(case, Event(type=EventType.ANSWERED, on=case.received_on, outcome=Outcome.DISCLOSED), clerk)
        stored = store_file("x.pdf", pdf_bytes("letter"))
        letter = Attachment(case_id=case.id, kind="letter", filename=f"{case.number}-政府信息公开申请答复书.pdf",
                            content_type="application/pdf", size=stored.size, sha256=stored.sha256,
                            storage_path=stored.storage_path)
        db.session.add(letter)
        db.session.commit()
        letter_id, case_number = letter.id, case.number
    headers = {**auth(token), "X-Query-Code": created["query_code"]}
    got = client.get(f"/api/v1/applications/{created['number']}", headers=headers).get_json()
    assert got["status"] == "closed" and got["status_text"] == "已答复，办理完毕"
    assert got["case_number"] == case_number and got["received_on"] == "2024-06-10"
    assert [n["title"] for n in got["notices"]] == ["确认受理", "答复"]
    assert got["letters"] == [{"id": letter_id, "filename": f"{case_number}-政府信息公开申请答复书.pdf",
                               "size": len(pdf_bytes("letter")),
                               "url": f"/api/v1/applications/{created['number']}/letters/{letter_id}"}]
    with client.get(got["letters"][0]["url"], headers=headers) as r:
        assert r.status_code == 200 and r.data.startswith(b"%PDF-")
    assert_error(client.get(f"/api/v1/applications/{created['number']}/letters/999999", headers=headers),
                 404, "not_found")


def test_routing_errors_under_the_api_are_json(client, world):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    r = client.put("/api/v1/applications")
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]
    assert client.get("/not-the-api").mimetype == "text/html"      # the rest of the site keeps its pages


def test_identity_flood_through_the_api(client, world, api_token):
    token = api_token("SWJ")
    statuses = [client.post("/api/v1/applications", json=body(items=[f"第{i}项"]), headers=auth(token)).status_code
                for i in range(6)]
    assert statuses == [201] * 5 + [429]
