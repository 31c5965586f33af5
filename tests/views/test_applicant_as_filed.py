"""Each case keeps its applicant as filed (issue #11.2): a later case with the same ID number never
rewrites an earlier one; an ID number on file under another name makes the desk clerk choose."""

from __future__ import annotations

import html
import json
import re
from datetime import date

from sqlalchemy import func, select

from tests.factories import id_number, person
from webapp.cases.services.interchange import export_document
from webapp.extensions import db
from webapp.models import Agency, AuditLog, Case, CaseEvent

from .helpers import flashes
from .test_intake import form

ID_X = id_number()   # 370305198506120017
P1, P2 = "13812345678", "13900001111"


def _cases(in_app):
    return in_app(lambda: [(c.number, c.applicant.name, c.applicant.id_number, c.applicant.phone,
                            c.applicant.address) for c in db.session.scalars(select(Case).order_by(Case.id))])


def _case_count(in_app) -> int:
    return in_app(lambda: db.session.scalar(select(func.count(Case.id))))


def _export_applicants(in_app, code="LZ-SWJ"):
    def go():
        agency = db.session.scalar(select(Agency).where(Agency.code == code))
        return [(c["ref"], c["applicant"]) for c in export_document(agency, date(2024, 6, 10))["cases"]]

    return in_app(go)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_later_case_under_another_name_asks_then_keeps_the_earlier_case(world, login, in_app):
    client = login(world.a.clerk)
    r = client.post("/intake/new", data=form(name="张三", id_number=ID_X, phone=P1, address="临淄区甲路1号",
                                             received_on="2024-06-03", arrived_on="2024-06-03"))
    assert r.status_code == 302
    case_a = in_app(lambda: db.session.scalar(select(Case.id)))

    # case B: the same ID number, another name and phone -- the desk asks, nothing is registered
    data_b = form(name="张三丰", id_number=ID_X, phone=P2, address="临淄区乙路2号")
    r = client.post("/intake/new", data=data_b)
    assert r.status_code == 422
    assert _case_count(in_app) == 1
    page = _text(r.text)
    assert "证件号码 3703**********0017 已在本机关登记为其他姓名或名称： 张三 （1件申请）" in page
    assert "本次填写的是 张三丰 。" in page
    assert 'name="identity_action" value="same_person"' in r.text and 'value="correct"' in r.text
    assert ID_X not in r.text.replace(f'value="{ID_X}"', "")   # the entered value stays in its field only
    assert flashes(r.text)[-1] == ("该身份证号码（3703**********0017）已在本机关登记为其他名称：张三。"
                                   "请选择：是同一申请人、本案按本次填写的信息登记；或填写有误，更正后再登记。申请尚未登记。")

    # the clerk chooses: the same person, new details for this case
    r = client.post("/intake/new", data={**data_b, "identity_action": "same_person"})
    assert r.status_code == 302
    case_b = in_app(lambda: db.session.scalar(select(func.max(Case.id))))
    assert _cases(in_app) == [("LZ-SWJ-2024-0001", "张三", ID_X, P1, "临淄区甲路1号"),
                              ("LZ-SWJ-2024-0002", "张三丰", ID_X, P2, "临淄区乙路2号")]

    # case A's page (masked and full), case B's history note, the audit row
    page_a = client.get(f"/cases/{case_a}").text
    assert "张三" in page_a and "张三丰" not in page_a and "138****5678" in page_a and "139****1111" not in page_a
    full_a = client.post(f"/cases/{case_a}/personal").text
    assert P1 in full_a and P2 not in full_a and "临淄区甲路1号" in full_a
    assert "张三丰" in client.get(f"/cases/{case_b}").text
    notes = in_app(lambda: [(e.type, e.payload) for e in db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_b).order_by(CaseEvent.seq))])
    assert notes[1] == ("note", {
        "note": "该证件号码此前在本机关登记的申请人名称为：张三。经办人确认为同一申请人，本案按本次填写的信息登记；"
                "此前案件的申请人信息不变。",
        "applicant_identity": {"choice": "same_person", "names_on_file": ["张三"], "corrected": []}})
    audit = in_app(lambda: [(a.action, a.target_id, a.detail) for a in db.session.scalars(
        select(AuditLog).where(AuditLog.action == "applicant.identity_choice"))])
    assert audit == [("applicant.identity_choice", "LZ-SWJ-2024-0002",
                      {"choice": "same_person", "identity": "3703**********0017", "names_on_file": ["张三"],
                       "corrected": []})]

    # the export returns each case's applicant as filed
    assert _export_applicants(in_app) == [
        ("2024-0001", {"kind": "natural_person", "name": "张三", "id_number": ID_X, "phone": P1,
                       "email": "lisi@example.com", "address": "临淄区甲路1号"}),
        ("2024-0002", {"kind": "natural_person", "name": "张三丰", "id_number": ID_X, "phone": P2,
                       "email": "lisi@example.com", "address": "临淄区乙路2号"})]

    # a third case under either name on file is not asked about again
    r = client.post("/intake/new", data=form(name="张三丰", id_number=ID_X, phone="13700000000"))
    assert r.status_code == 302
    assert _cases(in_app)[0] == ("LZ-SWJ-2024-0001", "张三", ID_X, P1, "临淄区甲路1号")
    # the look-up shows both names of the one person, each with the person's three applications
    found = client.get(f"/intake/applicants.json?q={ID_X}").get_json()["results"]
    assert sorted((f["name"], f["phone"], f["cases"]) for f in found) == [
        ("张三", "138****5678", 3), ("张三丰", "137****0000", 3)]


def test_new_contact_details_under_the_same_name_leave_the_earlier_case_alone(world, login, in_app):
    client = login(world.a.clerk)
    assert client.post("/intake/new", data=form(name="张三", id_number=ID_X, phone=P1)).status_code == 302
    r = client.post("/intake/new", data=form(name="张三", id_number=ID_X, phone=P2, address="新地址9号"))
    assert r.status_code == 302   # the same name: nothing to ask
    assert _cases(in_app) == [("LZ-SWJ-2024-0001", "张三", ID_X, P1, "临淄区某某路1号"),
                              ("LZ-SWJ-2024-0002", "张三", ID_X, P2, "新地址9号")]
    assert in_app(lambda: db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "applicant.identity_choice"))) == 0


def test_the_clerk_corrects_a_typo(world, login, new_case, in_app):
    new_case(world.a, date(2024, 6, 3), applicant=person(name="张三", phone=P1))
    client = login(world.a.clerk)
    data = form(name="张二", id_number=ID_X, phone=P2)
    assert client.post("/intake/new", data=data).status_code == 422
    # "mistyped": nothing registered, the choice logged, the form back for correction
    r = client.post("/intake/new", data={**data, "identity_action": "correct"})
    assert r.status_code == 200
    assert _case_count(in_app) == 1
    assert 'name="identity_choice" type="hidden" value="corrected"' in r.text
    entered = html.unescape(re.search(r'name="identity_entered" type="hidden" value="([^"]*)"', r.text).group(1))
    assert json.loads(entered) == {"name": "张二", "id_number": ID_X, "uscc": ""}
    data = {**data, "identity_choice": "corrected", "identity_entered": entered}
    assert "请更正申请人的姓名或证件号码后重新提交登记；申请尚未登记。" in flashes(r.text)
    assert in_app(lambda: [(a.action, a.target_id, a.detail) for a in db.session.scalars(
        select(AuditLog).where(AuditLog.action == "applicant.identity_choice"))]) == [
        ("applicant.identity_choice", "LZ-SWJ", {"choice": "correct", "entered_name": "张二",
                                                 "identity": "3703**********0017"})]
    # a "correction" that still names someone else asks again
    r = client.post("/intake/new", data={**data, "name": "张两"})
    assert r.status_code == 422 and _case_count(in_app) == 1
    assert "张三 （1件申请）" in _text(r.text)
    # corrected to the name on file: registered, the correction noted in the case history
    r = client.post("/intake/new", data={**data, "name": "张三"})
    assert r.status_code == 302
    assert _cases(in_app) == [("LZ-SWJ-2024-0001", "张三", ID_X, P1, "山东省淄博市临淄区某某路100号"),
                              ("LZ-SWJ-2024-0002", "张三", ID_X, P2, "临淄区某某路1号")]
    note = in_app(lambda: db.session.scalar(select(CaseEvent.payload).where(CaseEvent.type == "note")))
    assert note == {"note": "经办人核对后更正了申请人信息中的填写错误（姓名或名称由“张二”更正为“张三”）。",
                    "applicant_identity": {"choice": "corrected", "names_on_file": ["张三"], "corrected": ["name"]}}


def test_fees_per_month_count_the_same_person_across_names(world, login, new_case, in_app):
    """Fees per item (rules.md §6): the person's items this month count whatever name each case
    was filed under; another person's do not."""
    new_case(world.a, date(2024, 6, 3), applicant=person(name="张三", phone=P1),
             items=[f"第{i}项" for i in range(1, 10)])                       # 9 items
    new_case(world.a, date(2024, 6, 4), applicant=person(name="王五", body="37030519900101002"),
             items=["别人的1", "别人的2", "别人的3"])
    new_case(world.a, date(2024, 5, 31), applicant=person(name="张三"), items=["上月的"])
    client = login(world.a.clerk)
    r = client.post("/intake/new", data={**form(name="张三丰", id_number=ID_X, phone=P2, items="甲\n乙\n丙\n丁",
                                                received_on="2024-06-05", arrived_on="2024-06-05"),
                                         "identity_action": "same_person"})
    assert r.status_code == 302
    case_b = in_app(lambda: db.session.scalar(select(func.max(Case.id))))
    got = client.get(f"/cases/{case_b}/fee-preview?method=per_item&quantity=4").get_json()
    # items 10-13 of the month: the 10th free, 11-13 at 100 yuan
    assert got == {"earlier": 9, "amount": "300",
                   "basis": "按件计收：本月此前已申请9件，本次4件；每月1—10件免费，11—30件每件100元，"
                            "31件起每10件为一档、每档每件增加100元；应缴300元。"}


def test_an_applicant_without_identity_number_is_still_recognised(world, login, new_case, in_app):
    firm = {"kind": "research", "name": "某研究院", "phone": "0533-1234567", "address": "某路1号"}
    first = new_case(world.a, date(2024, 6, 3), applicant=firm, items=[f"项{i}" for i in range(12)])
    second = new_case(world.a, date(2024, 6, 4), applicant=firm | {"address": "新址2号"}, items=["再一项"])
    client = login(world.a.clerk)
    assert client.get(f"/cases/{second}/fee-preview?method=per_item&quantity=1").get_json()["earlier"] == 12
    assert client.get(f"/cases/{first}/fee-preview?method=per_item&quantity=12").get_json()["earlier"] == 0
    assert in_app(lambda: [c.applicant.address for c in db.session.scalars(select(Case).order_by(Case.id))]) \
        == ["某路1号", "新址2号"]
