"""Ids past the integer range are 404s in every route (one converter, webapp/params.py IdConverter), JSON
under /api/v1/; a 200,000-deep JSON document gets a one-line Chinese reason (API and `flask cases
import`); every API error is JSON, a fault of ours (500) too."""

from __future__ import annotations

import pytest

from webapp.params import MAX_ID

from .conftest import PASSWORD

HUGE = 10**20          # past 64 bits: overflows SQLite as well as PostgreSQL
DEEP = "[" * 200_000 + "]" * 200_000


@pytest.mark.parametrize("path,method", [
    ("/cases/1/attachments/{n}", "get"),
    ("/cases/{n}", "get"),
    ("/queue/{n}", "get"),
    ("/queue/{n}/files/1", "get"),
    ("/queue/{n}/confirm", "post"),
    ("/notifications/{n}/open", "post"),
    ("/status/letters/{n}", "get"),
    ("/admin/tokens/{n}/revoke", "post"),
])
@pytest.mark.parametrize("n", [HUGE, MAX_ID + 1])
def test_ids_past_the_integer_range_are_404(client, world, path, method, n):
    username = "admin" if path.startswith("/admin") else "clerk"
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    r = getattr(client, method)(path.format(n=n))
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "页面不存在" in r.get_data(as_text=True)


def test_the_largest_id_still_routes(client, world):
    assert client.post("/login", data={"username": "clerk", "password": PASSWORD}).status_code == 302
    assert client.get(f"/queue/{MAX_ID}").status_code == 404          # no such row, but no overflow


def test_api_letter_id_past_the_range_is_a_json_404(client, world, api_token):
    r = client.get(f"/api/v1/applications/WS-1/letters/{HUGE}",
                   headers={"Authorization": f"Bearer {api_token('SWJ')}", "X-Query-Code": "x"})
    assert r.status_code == 404 and r.mimetype == "application/json"
    assert r.get_json() == {"error": "not_found", "message": "申请编号或查询码不正确"}


def test_a_200k_deep_api_body_is_a_json_400(client, world, api_token):
    r = client.post("/api/v1/applications", data=DEEP, content_type="application/json",
                    headers={"Authorization": f"Bearer {api_token('SWJ')}"})
    assert r.status_code == 400 and r.mimetype == "application/json"
    assert r.get_json() == {"error": "invalid_json", "message": "请求内容的 JSON 嵌套层数过多"}


def test_a_200k_deep_import_file_is_refused_in_one_line(cli, world, tmp_path):
    f = tmp_path / "deep.json"
    f.write_text(DEEP, encoding="utf-8")
    result = cli.invoke(args=["cases", "import", str(f)])
    assert result.exit_code == 1
    assert result.output == f"error: {f}：JSON 嵌套层数过多，无法导入（nothing imported）\n"
    assert "Traceback" not in result.output


def test_a_fault_in_the_api_is_a_json_500(client, world, monkeypatch):
    import webapp.api.routes as api_routes

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(api_routes, "openapi_document", broken)
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 500 and r.mimetype == "application/json"
    assert r.get_json() == {"error": "internal_error", "message": "服务器内部错误，请稍后再试"}
    assert r.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in r.headers


def test_security_headers(client, make_app, world):
    csp = client.get("/apply").headers["Content-Security-Policy"]
    assert "form-action 'self'" in csp and "base-uri 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "Strict-Transport-Security" not in client.get("/apply").headers      # http://127.0.0.1:5000
    https = make_app(BASE_URL="https://gk.example.gov.cn").test_client()
    assert https.get("/apply").headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_query_code_or_token_shown_once_is_not_cached(client, world):
    from .test_public_views import submit_form

    r, number, code = submit_form(client)
    assert number and code and r.headers["Cache-Control"] == "no-store"
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    r = client.post(f"/admin/agencies/{world.dept}/tokens", data={"name": "门户"})
    assert r.status_code == 200 and 'id="new-token"' in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"


def test_a_password_shown_once_is_not_cached(client, world):
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    r = client.post(f"/admin/users/{world.users['clerk']}/reset-password")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
