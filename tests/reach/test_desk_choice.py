"""The desk records the applicant's choice of notices on the case (kept as filed); SMS without a
mobile number is refused in Chinese and nothing is registered."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import make_world
from tests.views.test_intake import form
from webapp.extensions import db
from webapp.models import Case


def _desk(app):
    with app.app_context():
        w = make_world()
        db.session.remove()
    return w


def test_desk_records_the_choice(app, client, login, today):
    w = _desk(app)
    c = login(w.a.clerk)
    r = c.post("/intake/new", data=form(notify_via="sms", phone="010-88886666"), content_type="multipart/form-data")
    assert r.status_code == 422
    assert "选择短信通知的，请填写11位手机号码" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 0
    r = c.post("/intake/new", data=form(notify_via="both"), content_type="multipart/form-data")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Case.notify_via)) == "both"
