"""Registering an application: applicant checks, receipt date, items, scans; refusals record nothing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from tests.factories import bad_id_number, id_number, person, uscc_code
from webapp.extensions import db
from webapp.models import Applicant, Attachment, AuditLog, Case, CaseEvent

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def form(**overrides):
    data = {
        "kind": "natural_person", "name": "李四", "id_number": id_number(), "uscc": "", "id_document": "",
        "phone": "13912345678", "email": "lisi@example.com", "address": "临淄区某某路1号",
        "channel": "in_person", "post_kind": "signed", "arrived_on": "2024-06-07", "received_on": "2024-06-07",
        "receipt_confirmed": "y", "items": "2023年度部门决算\n\n某某项目环评批复\n", "form_wanted": "paper",
        "route_wanted": "post", "assigned_to": "0", "note": "",
    }
    data.update(overrides)
    return data


def counts(in_app) -> tuple[int, int, int, int]:
    def go():
        return tuple(db.session.scalar(select(func.count(m.id))) for m in (Case, Applicant, CaseEvent, Attachment))

    return in_app(go)


def test_register_an_application(world, login, in_app, app):
    client = login(world.a.clerk)
    data = form(assigned_to=str(world.a.clerk2))
    data["scans"] = [(io.BytesIO(PDF), "申请表.pdf"), (io.BytesIO(PNG), "身份证.png")]
    r = client.post("/intake/new", data=data, content_type="multipart/form-data")
    assert r.status_code == 302

    def check():
        case = db.session.scalar(select(Case))
        return {"number": case.number, "status": case.status, "received_on": case.received_on,
                "arrived_on": case.arrived_on, "due_on": case.due_on, "channel": case.channel,
                "items": [it.text for it in case.items], "assigned": case.assigned_to_id,
                "applicant": (case.applicant.name, case.applicant.id_number, case.applicant.kind),
                "form": (case.form_wanted, case.route_wanted),
                "scans": sorted((a.filename, a.content_type, a.size, a.kind) for a in case.attachments),
                "events": [(e.type, e.on, e.payload, e.actor_name) for e in case.events]}

    got = in_app(check)
    assert got == {
        "number": "LZ-SWJ-2024-0001", "status": "registered", "received_on": date(2024, 6, 7),
        "arrived_on": date(2024, 6, 7), "due_on": date(2024, 7, 8), "channel": "in_person",
        "items": ["2023年度部门决算", "某某项目环评批复"], "assigned": world.a.clerk2,
        "applicant": ("李四", id_number(), "natural_person"), "form": ("paper", "post"),
        "scans": [("申请表.pdf", "application/pdf", len(PDF), "scan"), ("身份证.png", "image/png", len(PNG), "scan")],
        "events": [("received", date(2024, 6, 7), {"channel": "in_person"}, "临淄区商务局经办人")],
    }
    assert r.headers["Location"].startswith("/cases/")
    page = client.get(r.headers["Location"]).text
    assert "已登记申请，编号 LZ-SWJ-2024-0001，答复期限至 2024-07-08。" in page


def test_an_organisation_with_a_uscc(world, login, in_app):
    r = login(world.a.clerk).post("/intake/new", data=form(kind="commercial", name="某某建材有限公司",
                                                           id_number="", uscc=uscc_code()))
    assert r.status_code == 302
    assert in_app(lambda: db.session.scalar(select(Applicant.uscc))) == uscc_code()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"id_number": bad_id_number()}, "居民身份证号码校验位不正确，请核对号码"),
    ({"kind": "commercial", "id_number": "", "uscc": "91370305MA3C00000X"}, "统一社会信用代码校验位不正确，请核对代码"),
    ({"kind": "commercial", "uscc": ""}, "法人或其他组织不应填写身份证号码"),
    ({"name": ""}, "请填写申请人姓名或名称"),
    ({"received_on": "2024-06-11", "arrived_on": "2024-06-11"}, "日期晚于今天（2024-06-10）"),
    ({"channel": "online", "received_on": "2024-06-06"}, "收到申请之日不能早于申请送达之日"),
    ({"arrived_on": "2024-06-06"}, "当面提交的申请，以提交之日为收到申请之日（第三十一条第（一）项）："
                                   "收到申请之日应与送达之日（2024-06-06）相同。"),
    ({"channel": "post", "post_kind": "signed", "arrived_on": "2024-06-05"},
     "需签收的邮件，以本机关签收之日为收到申请之日（第三十一条第（二）项）：收到申请之日应与送达之日（2024-06-05）相同。"),
    ({"items": "\n  \n"}, "请至少填写一项申请内容"),
    ({"receipt_confirmed": ""}, "请核对并确认收到申请之日"),
    ({"received_on": ""}, "请填写收到申请之日"),
    ({"email": "not-an-address"}, "电子邮箱格式不正确"),
    ({"channel": "pigeon"}, "请从列表中选择。"),
])
def test_refusals_record_nothing(world, login, in_app, overrides, message):
    before = counts(in_app)
    r = login(world.a.clerk).post("/intake/new", data=form(**overrides))
    assert r.status_code == 422
    assert counts(in_app) == before == (0, 0, 0, 0)
    assert message in r.text
    # what the clerk typed is still there
    assert "2023年度部门决算" in r.text or overrides.get("items") is not None


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"hello, not a scan", "scan.pdf", "文件“scan.pdf”不是PDF、JPEG或PNG格式（按文件内容判断）。"),
    (b"", "empty.pdf", None),   # an empty file field is no file at all
    (b"%PDF-" + b"0" * (10 * 1024 * 1024), "big.pdf", "文件“big.pdf”超过10MB。"),
])
def test_scans_are_checked_by_content(world, login, in_app, content, name, message):
    data = form()
    data["scans"] = [(io.BytesIO(content), name)]
    # built by hand so that the test closes werkzeug's temporary file for the large body itself
    builder = EnvironBuilder(path="/intake/new", method="POST", data=data)
    environ = builder.get_environ()
    try:
        r = login(world.a.clerk).open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    if message is None:
        assert r.status_code == 422 and "文件“empty.pdf”为空。" in r.text
    else:
        assert r.status_code == 422
        assert message in r.text
    assert counts(in_app) == (0, 0, 0, 0)


def test_a_repeat_applicant_is_recognised(world, login, new_case, in_app):
    new_case(world.a, date(2024, 6, 3), applicant=person(name="李四"))
    client = login(world.a.clerk)
    applicant_id = in_app(lambda: db.session.scalar(select(Applicant.id)))
    found = client.get("/intake/applicants.json?q=李").get_json()
    assert found == {"results": [{"id": applicant_id, "name": "李四", "kind": "natural_person",
                                  "kind_label": "自然人", "identity": "3703**********0017",
                                  "phone": "138****5678", "cases": 1}]}
    # by the full ID number too, and the same search works without JavaScript
    assert client.get(f"/intake/applicants.json?q={id_number()}").get_json()["results"][0]["id"] == applicant_id
    page = client.get("/intake/new?q=李").text
    assert f'href="/intake/new?applicant_id={applicant_id}"' in page
    page = client.get(f"/intake/new?applicant_id={applicant_id}").text
    assert "已选用已有申请人" in page and id_number() not in page
    # the ID number field left blank keeps the stored one; each case keeps its own applicant as filed
    r = client.post("/intake/new", data=form(applicant_id=str(applicant_id), id_number="", phone=""))
    assert r.status_code == 302

    def check():
        return [(c.applicant_id == applicant_id, c.applicant.name, c.applicant.id_number, c.applicant.phone,
                 c.applicant.email) for c in db.session.scalars(select(Case).order_by(Case.id))]

    assert in_app(check) == [(True, "李四", id_number(), "13812345678", "zhangsan@example.com"),
                             (False, "李四", id_number(), "13812345678", "lisi@example.com")]
    # the look-up still finds one person, now with two applications
    assert [(r["name"], r["cases"]) for r in client.get("/intake/applicants.json?q=李").get_json()["results"]] \
        == [("李四", 2)]


def test_applicant_search_is_scoped_to_the_agency(world, login, new_case):
    new_case(world.b, date(2024, 6, 3), applicant=person(name="王五"))
    client = login(world.a.clerk)
    assert client.get("/intake/applicants.json?q=王五").get_json() == {"results": []}
    page = client.get("/intake/new?applicant_id=1").text
    assert "已选用已有申请人" not in page


def test_the_receipt_rule_is_shown(world, login):
    page = login(world.a.clerk).get("/intake/new").text
    assert "当面提交：以申请人提交政府信息公开申请之日为收到申请之日。" in page
    assert "邮寄（需签收）：以本机关签收之日为收到申请之日。" in page
    assert "平常信函：以本机关与申请人确认之日为收到申请之日" in page
    assert "互联网渠道：以双方确认之日为收到申请之日。" in page
    assert 'value="2024-06-10"' in page   # arrival and receipt proposed as today


@pytest.mark.parametrize("channel", ["post", "online", "fax", "other"])
def test_confirmation_day_receipt_may_follow_arrival(world, login, in_app, channel):
    """Ordinary post, online and fax: the day both sides confirm (rules.md §2), later than arrival."""
    r = login(world.a.clerk).post("/intake/new", data=form(channel=channel, post_kind="ordinary",
                                                           arrived_on="2024-06-05", received_on="2024-06-07"))
    assert r.status_code == 302
    got = in_app(lambda: [(c.arrived_on, c.received_on, c.channel) for c in db.session.scalars(select(Case))])
    assert got == [(date(2024, 6, 5), date(2024, 6, 7), channel)]


def test_auditor_cannot_register(world, login, in_app):
    r = login(world.a.auditor).post("/intake/new", data=form())
    assert r.status_code == 403
    assert counts(in_app) == (0, 0, 0, 0)
    assert in_app(lambda: [a.action for a in db.session.scalars(select(AuditLog))]) == ["access.refused"]


def test_missing_csrf_token_records_nothing(world, login, in_app, csrf_on):
    r = login(world.a.clerk).post("/intake/new", data=form())
    assert r.status_code == 400
    assert counts(in_app) == (0, 0, 0, 0)


def test_numbers_count_per_agency_and_year(world, login, in_app):
    client = login(world.a.clerk)
    for _ in range(2):
        assert client.post("/intake/new", data=form()).status_code == 302
    assert login(world.b.clerk).post("/intake/new", data=form()).status_code == 302
    numbers = in_app(lambda: sorted(db.session.scalars(select(Case.number))))
    assert numbers == ["LZ-JYJ-2024-0001", "LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002"]
