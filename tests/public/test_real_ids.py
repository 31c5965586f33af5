"""Real ID numbers and one e-mail address per field on the applicant's side: the public form, the API
and the clerks' queue (the district code is a hint there, never a refusal)."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models.submission import Submission

from .conftest import applicant, form_post
from .test_api import auth, body
from .test_public_views import submit_form
from .test_queue_views import submitted  # noqa: F401 - the fixture

PIDU_1980 = "510117198003151234"        # 郫都区 (since 2016), born 1980: python-stdnum refuses it
SHUANGLIU_1990 = "51012219900101002X"   # 双流县 (abolished 2015): valid, not in the current table
HINT = "身份证号码：地区码不在现行区划表中，请核对"
EMAIL_ZH = "电子邮箱格式不正确：请填写一个电子邮箱地址，如 zhangsan@example.com"


def submissions(app) -> list[dict]:
    with app.app_context():
        return [s.applicant for s in db.session.scalars(select(Submission).order_by(Submission.id))]


def test_the_check_characters_here_are_right():
    from stdnum.cn import ric

    assert ric.calc_check_digit(PIDU_1980) == PIDU_1980[-1] and not ric.is_valid(PIDU_1980)
    assert ric.calc_check_digit(SHUANGLIU_1990) == SHUANGLIU_1990[-1]


def test_public_form_accepts_a_district_younger_than_its_holder(app, client, world):
    r, number, code = submit_form(client, id_number=PIDU_1980)
    assert r.status_code == 200 and number and code
    assert submissions(app)[0]["id_number"] == PIDU_1980


def test_public_form_refuses_a_list_of_addresses(app, client, world):
    r = client.post("/apply", data=form_post(email="a@b.com,root"), content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and EMAIL_ZH in html
    assert submissions(app) == []


def test_api_accepts_a_district_younger_than_its_holder(app, client, world, api_token):
    token = api_token("SWJ")
    r = client.post("/api/v1/applications", json=body(applicant=applicant(id_number=PIDU_1980.lower())),
                    headers=auth(token))
    assert r.status_code == 201, r.get_json()
    assert submissions(app)[0]["id_number"] == PIDU_1980


def test_api_refuses_a_list_of_addresses_and_keeps_one_as_typed(app, client, world, api_token):
    token = api_token("SWJ")
    r = client.post("/api/v1/applications", json=body(applicant=applicant(email="a@b.com,root")), headers=auth(token))
    assert r.status_code == 422
    assert r.get_json()["message"] == EMAIL_ZH and r.get_json()["rule"] == "applicant.email"
    r = client.post("/api/v1/applications", json=body(applicant=applicant(email=" Zhang.San@Example.COM ")),
                    headers=auth(token))
    assert r.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1
    assert submissions(app)[0]["email"] == "Zhang.San@example.com"


def test_queue_shows_the_district_hint_to_the_clerk(app, client, world, login, submitted):  # noqa: F811
    old = submitted(id_number=SHUANGLIU_1990)
    new = submitted(id_number=PIDU_1980, name="李四")
    login(world.users["clerk"])
    html = client.get(f"/queue/{old}").get_data(as_text=True)
    assert html.count(HINT) == 1 and SHUANGLIU_1990 in html
    html = client.get(f"/queue/{new}").get_data(as_text=True)
    assert HINT not in html and PIDU_1980 in html
