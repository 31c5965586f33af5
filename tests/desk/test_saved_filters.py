"""Saved filters: per user, name + query string; list, apply, delete."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.views.helpers import flashes
from webapp.extensions import db
from webapp.models import SavedFilter


def _rows(app):
    with app.app_context():
        return [(f.user_id, f.name, f.query) for f in db.session.scalars(select(SavedFilter).order_by(SavedFilter.id))]


def test_save_list_apply_delete(app, world, new_case, login):
    new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    resp = client.post("/cases/filters", data={"name": "我的逾期", "query":
                                               "page=3&list=overdue&mine=y&evil=1&sort=due&number="})
    assert resp.status_code == 302 and resp.headers["Location"] == "/cases?mine=y&list=overdue&sort=due"
    # the same name again overwrites
    client.post("/cases/filters", data={"name": "我的逾期", "query": "mine=y&list=overdue"})
    client.post("/cases/filters", data={"name": "六月", "query": "date_from=2024-06-01&date_to=2024-06-30"})
    assert _rows(app) == [(world.a.clerk, "我的逾期", "mine=y&list=overdue"),
                          (world.a.clerk, "六月", "date_from=2024-06-01&date_to=2024-06-30")]
    html = client.get("/cases").get_data(True)
    assert '<a href="/cases?date_from=2024-06-01&amp;date_to=2024-06-30">六月</a>' in html
    assert '<a href="/cases?mine=y&amp;list=overdue">我的逾期</a>' in html
    # another user sees none of them and cannot delete them
    other = _rows(app)
    with app.app_context():
        fid = db.session.scalar(select(SavedFilter.id).where(SavedFilter.name == "六月"))
    client2 = login(world.a.clerk2)
    assert "六月" not in client2.get("/cases").get_data(True)
    assert client2.post(f"/cases/filters/{fid}/delete").status_code == 404
    assert _rows(app) == other
    client = login(world.a.clerk)
    assert client.post(f"/cases/filters/{fid}/delete").status_code == 302
    assert _rows(app) == [(world.a.clerk, "我的逾期", "mine=y&list=overdue")]


def test_bad_filter_reports_every_error(app, world, login):
    client = login(world.a.clerk)
    client.post("/cases/filters", data={"name": "", "query": "page=2"})
    assert flashes(client.get("/cases").get_data(True)) == ["请填写筛选条件的名称；当前没有任何查询条件可保存。"]
    assert _rows(app) == []
