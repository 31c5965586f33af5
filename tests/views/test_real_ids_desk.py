"""The intake desk registers real ID numbers (a district younger than its holder, a district abolished
since) and shows the clerk a hint for a district code outside the current table; one e-mail address."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Applicant, Case

from .test_intake import counts, form

PIDU_1980 = "510117198003151234"        # 郫都区 exists since 2016; python-stdnum refuses this number
SHUANGLIU_1990 = "51012219900101002X"   # 双流县, abolished 2015: valid, not in the current table
HINT = "身份证号码：地区码不在现行区划表中，请核对"


def test_desk_registers_a_number_from_a_district_younger_than_its_holder(world, login, in_app):
    client = login(world.a.clerk)
    r = client.post("/intake/new", data=form(id_number=PIDU_1980.lower()))
    assert r.status_code == 302, r.text
    assert in_app(lambda: db.session.scalar(select(Applicant.id_number))) == PIDU_1980
    page = client.get(r.headers["Location"]).text
    assert "已登记申请" in page and HINT not in page


def test_desk_shows_the_hint_for_a_district_no_longer_in_the_table(world, login, in_app):
    client = login(world.a.clerk)
    r = client.post("/intake/new", data=form(id_number=SHUANGLIU_1990))
    assert r.status_code == 302, r.text
    page = client.get(r.headers["Location"]).text
    assert page.count(HINT) == 1
    case_id = in_app(lambda: db.session.scalar(select(Case.id)))
    assert client.get(f"/cases/{case_id}").text.count(HINT) == 1       # each time the case is opened


def test_desk_refuses_two_addresses_in_one_field(world, login, in_app):
    r = login(world.a.clerk).post("/intake/new", data=form(email="a@b.com,root"))
    assert r.status_code == 422
    assert "电子邮箱格式不正确：请填写一个电子邮箱地址，如 zhangsan@example.com" in r.text
    assert counts(in_app) == (0, 0, 0, 0)


def test_desk_refuses_a_birth_date_after_today(world, login, in_app):
    from stdnum.cn import ric

    body = "11010520991231001"
    r = login(world.a.clerk).post("/intake/new", data=form(id_number=body + ric.calc_check_digit(body + "0")))
    assert r.status_code == 422 and "居民身份证号码中的出生日期晚于今天" in r.text
    assert counts(in_app) == (0, 0, 0, 0)
