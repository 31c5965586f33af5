"""Bulk assignment from the case list: one service function, all or nothing, audited, CSRF."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.views.helpers import csrf_token, flashes
from webapp.extensions import db
from webapp.models import AuditLog, Case, CaseEvent


def _assignees(app, ids):
    with app.app_context():
        return [db.session.get(Case, i).assigned_to_id for i in ids]


def _assigned_events(app, ids):
    with app.app_context():
        return [(e.case_id, e.payload["to_id"]) for e in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id.in_(ids), CaseEvent.type == "assigned").order_by(CaseEvent.id))]


def test_bulk_assign_to_a_colleague(app, world, new_case, login):
    ids = [new_case(world.a, date(2024, 6, 3)), new_case(world.a, date(2024, 6, 4)),
           new_case(world.a, date(2024, 6, 5))]
    client = login(world.a.clerk)
    page = client.get("/cases").get_data(True)
    assert 'id="bulk-form"' in page and f'value="{world.a.clerk2}"' in page
    resp = client.post("/cases/bulk-assign", data={"case_ids": [str(ids[0]), str(ids[2])],
                                                   "assigned_to": str(world.a.clerk2), "query": "status=registered"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases?status=registered"
    assert _assignees(app, ids) == [world.a.clerk2, world.a.clerk, world.a.clerk2]
    assert _assigned_events(app, ids) == [(ids[0], world.a.clerk2), (ids[2], world.a.clerk2)]
    html = client.get("/cases").get_data(True)
    assert flashes(html) == ["已将2件案件分配给临淄区商务局经办人二。"]
    with app.app_context():
        log = db.session.scalars(select(AuditLog).where(AuditLog.action == "case.bulk_assigned")).one()
        numbers = sorted(db.session.get(Case, i).number for i in (ids[0], ids[2]))
        assert log.user_id == world.a.clerk and log.target_id == str(world.a.clerk2)
        assert sorted(log.detail["cases"]) == numbers and log.detail["unchanged"] == 0


def test_bulk_assign_refused_across_agencies(app, world, new_case, login):
    own = [new_case(world.a, date(2024, 6, 3)), new_case(world.a, date(2024, 6, 4))]
    foreign = new_case(world.b, date(2024, 6, 3))
    client = login(world.a.clerk)
    # a case of another agency in the selection: nothing is assigned
    client.post("/cases/bulk-assign", data={"case_ids": [str(own[0]), str(foreign)],
                                            "assigned_to": str(world.a.clerk2)})
    assert flashes(client.get("/cases").get_data(True)) == ["所选案件中有不存在或无权分配的案件，未作任何分配。"]
    # a clerk of another agency as the assignee: refused, nothing assigned
    client.post("/cases/bulk-assign", data={"case_ids": [str(i) for i in own], "assigned_to": str(world.b.clerk)})
    with app.app_context():
        numbers = "、".join(sorted(db.session.get(Case, i).number for i in own))
    assert flashes(client.get("/cases").get_data(True)) == [
        f"承办人须为本机关在职的经办人或负责人；以下案件不属于临淄区教育局经办人所在机关，未作任何分配：{numbers}"]
    assert _assignees(app, own) == [world.a.clerk, world.a.clerk]
    assert _assignees(app, [foreign]) == [world.b.clerk]
    assert _assigned_events(app, own + [foreign]) == []


def test_bulk_assign_needs_the_role_and_csrf(app, world, new_case, login, csrf_on):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.auditor)
    token = csrf_token(client.get("/cases").get_data(True))
    assert client.post("/cases/bulk-assign", data={"csrf_token": token, "case_ids": [str(cid)],
                                                   "assigned_to": str(world.a.clerk2)}).status_code == 403
    client = login(world.a.clerk)
    assert client.post("/cases/bulk-assign", data={"case_ids": [str(cid)],
                                                   "assigned_to": str(world.a.clerk2)}).status_code == 400
    token = csrf_token(client.get("/cases").get_data(True))
    assert client.post("/cases/bulk-assign", data={"csrf_token": token, "case_ids": [str(cid)],
                                                   "assigned_to": str(world.a.clerk2)}).status_code == 302
    assert _assignees(app, [cid]) == [world.a.clerk2]
