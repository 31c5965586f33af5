"""A government's desk sees its departments' cases but acts only on its own; a government-level
account (no agency) registers for the agency it picks."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.factories import make_agency, make_user
from webapp.extensions import db
from webapp.models import Agency, Case

from .helpers import post_action
from .test_intake import form


def _government(in_app, world):
    def go():
        gov = make_agency("LZ-ZFB", "临淄区人民政府办公室")
        gov.kind = "government"
        db.session.get(Agency, world.a.agency_id).parent_id = gov.id
        return make_user(gov, "clerk", "zfb_clerk", "区政府经办人").id, make_user(None, "admin", "root", "总管理员").id

    return in_app(go)


def test_government_clerk_sees_a_department_case_read_only(world, new_case, login, in_app, state):
    gov_clerk, _ = _government(in_app, world)
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(gov_clerk)
    page = client.get(f"/cases/{cid}").text
    assert "本案件由临淄区商务局办理，您可以查看，不能操作。" in page
    assert 'id="action-' not in page
    assert "LZ-SWJ-2024-0001" in client.get("/cases").text
    before = state(cid)
    r = post_action(client, cid, "withdrawal", before[2], on="2024-06-05")
    assert r.status_code == 404
    assert state(cid) == before
    # another agency outside the government stays invisible
    other = new_case(world.b, date(2024, 6, 3))
    assert client.get(f"/cases/{other}").status_code == 404


def test_government_level_admin_registers_for_a_chosen_agency(world, login, in_app):
    _, root = _government(in_app, world)
    client = login(root)
    page = client.get("/intake/new").text
    assert '<select class="" id="agency_id"' in page or 'id="agency_id"' in page
    assert client.post("/intake/new", data=form()).status_code == 422   # no agency chosen
    r = client.post("/intake/new", data=form(agency_id=str(world.b.agency_id)))
    assert r.status_code == 302
    assert in_app(lambda: [(c.number, c.agency_id) for c in db.session.scalars(select(Case))]) == [
        ("LZ-JYJ-2024-0001", world.b.agency_id)]


def test_too_large_a_request_gets_a_chinese_page(world, login, app):
    client = login(world.a.clerk)
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        r = client.post("/intake/new", data={"note": "x" * 2000})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert r.status_code == 413
    assert "上传内容过大" in r.text
