"""One API token implementation: a token issued on the admin page or by `flask tokens create` is the
one the API accepts (a real request with ``Authorization: Bearer ...``); revoked, it is refused."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from tests.conftest import sign_in
from tests.public.conftest import applicant
from webapp.extensions import db
from webapp.models import Agency, ApiToken, AuditLog

BODY = {"applicant": applicant(), "items": ["2023年度部门预算"], "form_wanted": "email", "route_wanted": "email"}


def _submit(client, token: str):
    return client.post("/api/v1/applications", json=BODY, headers={"Authorization": f"Bearer {token}"})


def _code(app, agency_id: int) -> str:
    with app.app_context():
        code = db.session.get(Agency, agency_id).code
        db.session.remove()
    return code


def test_token_issued_on_the_admin_page_works_on_the_api(app, client, world):
    sign_in(client, world.a.users["admin"])
    r = client.post(f"/admin/agencies/{world.a.agency_id}/tokens", data={"name": "区政府门户网站", "note": ""})
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"          # the token is on this page once
    raw = re.search(r'id="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert raw.startswith("gkapi_") and len(raw) == len("gkapi_") + 43
    api = app.test_client()
    r = _submit(api, raw)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["agency"]["code"] == _code(app, world.a.agency_id)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    r = _submit(api, raw)
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_tokens_issued_before_in_the_dsk_shape_stay_valid(app, world):
    raw = "dsk_" + "A" * 43                                    # what the admin page issued before
    with app.app_context():
        db.session.add(ApiToken(agency_id=world.a.agency_id, name="旧令牌",
                                token_hash=hashlib.sha256(raw.encode()).hexdigest()))
        db.session.commit()
    api = app.test_client()
    assert _submit(api, raw).status_code == 201
    assert _submit(api, "dsk_" + "B" * 43).status_code == 401


def test_flask_tokens_create_list_revoke(app, cli, world):
    code = _code(app, world.a.agency_id)
    result = cli.invoke(args=["tokens", "create", "--agency", code, "--name", "门户网站"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert raw.startswith("gkapi_")
    api = app.test_client()
    assert _submit(api, raw).status_code == 201

    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        token_id = row.id
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("admin.token%"))))
        assert actions == ["admin.token_created"]
    listing = cli.invoke(args=["tokens", "list"])
    assert listing.exit_code == 0
    fields = listing.output.strip().split("\t")
    assert (fields[0], fields[1], fields[2], fields[4]) == (str(token_id), code, "门户网站", "valid")
    assert raw not in listing.output

    result = cli.invoke(args=["tokens", "revoke", str(token_id)])
    assert result.exit_code == 0 and result.output == f"revoked token {token_id} (门户网站)\n"
    r = _submit(api, raw)
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
    assert "revoked" in cli.invoke(args=["tokens", "list"]).output


def test_flask_tokens_refusals(cli, world):
    result = cli.invoke(args=["tokens", "create", "--agency", "NOPE", "--name", "x"])
    assert result.exit_code == 1 and "no agency with code 'NOPE'" in result.output
    result = cli.invoke(args=["tokens", "revoke", "999"])
    assert result.exit_code == 1 and "no token 999" in result.output
