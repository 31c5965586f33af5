"""The case page: masked applicant and the logged reveal, deadlines with explanations and the
provisional badge, the timeline, letters (.docx in 仿宋, admin overrides) and attachments."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlalchemy import select

from tests.factories import id_number
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType, Party
from webapp.extensions import db
from webapp.models import Attachment, AuditLog, Case
from webapp.models.letters import LetterTemplate
from webapp.timeutil import SHANGHAI

from .helpers import post_action

E = EventType
PDF = b"%PDF-1.4\n%%EOF\n"


def test_applicant_is_masked_until_revealed_and_the_reveal_is_logged(world, new_case, login, in_app):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    page = client.get(f"/cases/{cid}").text
    assert "3703**********0017" in page and "138****5678" in page
    assert id_number() not in page and "13812345678" not in page and "zhangsan@example.com" not in page
    assert "显示完整信息" in page
    r = client.post(f"/cases/{cid}/personal")
    assert r.status_code == 200
    assert id_number() in r.text and "13812345678" in r.text and "山东省淄博市临淄区某某路100号" in r.text
    assert r.headers["Cache-Control"] == "no-store"
    logged = in_app(lambda: [(a.action, a.user_id, a.target_type, a.detail)
                             for a in db.session.scalars(select(AuditLog))])
    assert logged == [("personal_data.viewed", world.a.clerk, "applicant",
                       {"case": "LZ-SWJ-2024-0001", "case_id": cid})]


def test_reveal_needs_a_post_with_csrf(world, new_case, login, in_app, csrf_on):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    assert client.get(f"/cases/{cid}/personal").status_code == 405
    assert client.post(f"/cases/{cid}/personal").status_code == 400
    assert in_app(lambda: db.session.scalars(select(AuditLog.action)).all()) == []


def test_other_agencys_case_is_not_shown(world, new_case, login):
    cid = new_case(world.b, date(2024, 6, 3))
    client = login(world.a.clerk)
    assert client.get(f"/cases/{cid}").status_code == 404
    assert client.post(f"/cases/{cid}/personal").status_code == 404
    assert client.get(f"/cases/{cid}/letters/answer").status_code == 404


def test_deadlines_with_days_left_and_explanation(world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3))
    page = login(world.a.clerk).get(f"/cases/{cid}").text
    rows = re.findall(r'<tr class="deadline deadline-(\w+)">\s*<td>(.*?)</td>\s*<td class="mono">([\d-]+)', page)
    assert rows == [("response", "答复期限", "2024-07-02"), ("correction_notice", "补正告知期限", "2024-06-13")]
    # working days left on 2024-06-10 (a holiday): response 20 - 4 used; notice 06-11..06-13
    assert re.findall(r'<td class="num">(\d+)</td>\s*<td><details class="explain">', page) == ["16", "3"]
    assert "<summary>计算说明</summary>" in page
    assert ("自2024-06-03次日起算20个工作日，答复期限至2024-07-02届满。"
            "其间不计周末8天、法定节假日1天（端午节）。") in page
    assert "暂定" not in re.sub(r"<details.*?</details>", "", page.split('id="deadlines"')[1].split("</section>")[0],
                                flags=re.S)


@pytest.mark.time_machine(datetime(2026, 12, 15, 10, 0, tzinfo=SHANGHAI), tick=False)
def test_a_deadline_reaching_into_a_year_without_notice_is_provisional(world, new_case, login, today):
    assert today == date(2026, 12, 15)
    cid = new_case(world.a, date(2026, 12, 10))
    page = login(world.a.clerk).get(f"/cases/{cid}").text
    deadlines = page.split('id="deadlines"')[1].split("</section>")[0]
    assert 'badge badge-provisional' in deadlines and ">暂定</span>" in deadlines
    assert "注意：2027年放假安排尚未发布" in deadlines
    assert 'id="holiday-warning"' in login(world.a.clerk).get("/").text


def test_timeline_shows_labels_actors_and_changes(world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3), [
        Event(E.CONSULTATION_STARTED, date(2024, 6, 4), party=Party.THIRD_PARTY),
        Event(E.CONSULTATION_ENDED, date(2024, 6, 5)),
        Event(E.EXTENDED, date(2024, 6, 6), days=10),
        Event(E.ANSWERED, date(2024, 6, 7), outcome=Outcome.DISCLOSED),
    ])
    client = login(world.a.clerk)
    post_action(client, cid, "appeal", None, kind="review", filed_on="2024-06-07", result="pending")
    page = client.get(f"/cases/{cid}").text
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    labels = re.findall(r'<strong class="tl-type">(.*?)</strong>', timeline)
    assert labels == ["收到申请", "征求意见", "征求意见结束", "延期答复", "答复"]
    assert "状态：办理中 → 征求意见中" in timeline
    assert "状态：办理中 → 已办结" in timeline
    assert "<dt>批准人</dt><dd>临淄区商务局负责人</dd>" in timeline
    assert "<dt>办理结果</dt><dd>予以公开</dd>" in timeline
    assert '<span class="tl-who">临淄区商务局经办人</span>' in timeline
    assert "记录于 2024-06-10 10:00" in timeline


def test_timeline_labels_record_keeping_events(world, new_case, login, state):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    post_action(client, cid, "assign", state(cid)[2], assigned_to=world.a.clerk2)
    post_action(client, cid, "appeal", state(cid)[2], kind="litigation_direct", filed_on="2024-06-07",
                result="pending")
    timeline = client.get(f"/cases/{cid}").text.split('id="timeline"')[1].split("</section>")[0]
    assert re.findall(r'<strong class="tl-type">(.*?)</strong>', timeline) == ["收到申请", "分配", "复议诉讼"]
    assert "<dt>现承办人</dt><dd>临淄区商务局经办人二</dd>" in timeline
    assert "<dt>类型</dt><dd>未经复议直接起诉</dd>" in timeline


# --- letters ----------------------------------------------------------------------------------------------

def _docx(data: bytes) -> Document:
    return Document(io.BytesIO(data))


def _text(doc: Document) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def test_each_letter_has_the_case_data_in_fangsong(world, new_case, login, state):
    cid = new_case(world.a, date(2024, 6, 3), items=["2023年度部门预算", "某某项目批复"])
    client = login(world.a.clerk)
    post_action(client, cid, "correction", state(cid)[2], on="2024-06-04", what="请说明“某某项目”的名称或文号")
    post_action(client, cid, "correction_received", state(cid)[2], on="2024-06-05")
    post_action(client, cid, "consultation", state(cid)[2], on="2024-06-06", party="agency", addressee="临淄区财政局",
                text="部门预算是否可以公开")
    post_action(client, cid, "consultation_end", state(cid)[2], on="2024-06-07")
    post_action(login(world.a.approver), cid, "extension", state(cid)[2], on="2024-06-07", days=15,
                reason="需要会商有关部门")
    post_action(login(world.a.clerk), cid, "fee_notice", state(cid)[2], on="2024-06-07", method="per_page",
                quantity=150)
    post_action(client, cid, "fee_paid", state(cid)[2], on="2024-06-07")
    r = post_action(client, cid, "answer", state(cid)[2], on="2024-06-07",
                    outcomes=["disclosed", "withheld.process_info"], text="所公开信息见附件。")
    assert r.status_code == 302
    expected = {
        "correction": ["补正告知书", "LZ-SWJ-2024-0001", "张三：", "本机关于2024年6月3日收到", "1．2023年度部门预算",
                       "请说明“某某项目”的名称或文号", "请于2024年6月26日前", "临淄区商务局", "2024年6月4日"],
        "consultation": ["征求意见函", "临淄区财政局：", "部门预算是否可以公开", "第三十四条", "视为同意公开",
                         "2024年6月28日前"],
        "extension": ["延期答复告知书", "因需要会商有关部门，", "答复期限延长15个工作日", "第三十三条第二款"],
        "fee": ["收费通知书", "按量计收", "应缴金额：人民币1700元", "共150页", "20个工作日内"],
        "answer": ["政府信息公开申请答复书",
                   "1．关于“2023年度部门预算”：予以公开。依据：《中华人民共和国政府信息公开条例》第三十六条第（一）（二）项。",
                   "2．关于“某某项目批复”：不予公开（属于四类过程性信息）。依据：《中华人民共和国政府信息公开条例》第十六条。",
                   "所公开信息见附件。", "六十日内依法申请行政复议"],
    }
    for kind, parts in expected.items():
        r = client.get(f"/cases/{cid}/letters/{kind}")
        assert r.status_code == 200, kind
        assert r.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        assert r.headers["Content-Disposition"].startswith("attachment;")
        doc = _docx(r.data)
        text = _text(doc)
        for part in parts:
            assert part in text, (kind, part, text)
        title = doc.paragraphs[0]
        assert title.runs[0].bold is True
        for p in doc.paragraphs:
            for run in p.runs:
                assert run._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    page = client.get(f"/cases/{cid}").text
    for title in ("补正告知书", "征求意见函", "延期答复告知书", "收费通知书", "政府信息公开申请答复书"):
        assert f">{title}</a>" in page


def test_letter_of_a_kind_not_sent_is_not_found(world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    assert client.get(f"/cases/{cid}/letters/answer").status_code == 404
    assert client.get(f"/cases/{cid}/letters/nonsense").status_code == 404


def test_an_admins_template_overrides_the_file(world, new_case, login, in_app, app):
    from webapp.letters import letter_template_source

    cid = new_case(world.a, date(2024, 6, 3), [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4))])
    with app.app_context():
        shipped = letter_template_source("correction")
    assert shipped.startswith("{# 补正告知书")
    in_app(lambda: db.session.add(LetterTemplate(kind="correction", body="补正通知\n= {{ applicant.name }}：\n"
                                                 "请于{{ reply_by }}前补正。\n> {{ agency.name }}")))
    r = login(world.a.clerk).get(f"/cases/{cid}/letters/correction")
    assert [p.text for p in _docx(r.data).paragraphs] == ["补正通知", "张三：", "请于2024年6月26日前补正。",
                                                           "临淄区商务局"]


def test_an_override_cannot_reach_python_internals(world, new_case, login, in_app, caplog):
    cid = new_case(world.a, date(2024, 6, 3), [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4))])
    in_app(lambda: db.session.add(LetterTemplate(
        kind="correction", body="标题\n{{ case.__class__.__mro__ }}{{ ''.__class__.__subclasses__() }}")))
    r = login(world.a.clerk).get(f"/cases/{cid}/letters/correction")
    # the sandbox refuses; the shipped template is used and the failure is logged
    assert r.status_code == 200
    assert _text(_docx(r.data)).startswith("补正告知书\n")
    assert "letter template override 'correction' failed" in caplog.text


def test_template_problem():
    from webapp.letters import template_problem

    assert template_problem("标题\n{{ applicant.name }}") is None
    assert template_problem("标题\n{% if %}").startswith("模板第2行有语法错误：")


def test_letters_are_stored_when_the_action_is_recorded(world, new_case, login, state, in_app):
    cid = new_case(world.a, date(2024, 6, 3))
    post_action(login(world.a.clerk), cid, "fee_notice", state(cid)[2], on="2024-06-04", method="per_page",
                quantity=40)
    stored = in_app(lambda: [(a.kind, a.filename, a.content_type) for a in db.session.scalars(select(Attachment))])
    assert stored == [("letter", "LZ-SWJ-2024-0001-收费通知书.docx",
                       "application/vnd.openxmlformats-officedocument.wordprocessingml.document")]
    assert in_app(lambda: db.session.get(Case, cid).fee_amount) == Decimal("100")


# --- attachments -------------------------------------------------------------------------------------------

def test_upload_and_download_a_scan(world, new_case, login, in_app):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    r = client.post(f"/cases/{cid}/attachments", data={"files": [(io.BytesIO(PDF), "补正材料.pdf")]},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    att_id = in_app(lambda: db.session.scalar(select(Attachment.id)))
    r = client.get(f"/cases/{cid}/attachments/{att_id}")
    assert r.status_code == 200
    assert r.data == PDF
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "attachment.downloaded" in in_app(lambda: db.session.scalars(select(AuditLog.action)).all())


def test_a_scan_that_is_not_one_is_refused(world, new_case, login, in_app):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    r = client.post(f"/cases/{cid}/attachments", data={"files": [(io.BytesIO(b"MZ\x90\x00"), "scan.png")]},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "文件“scan.png”不是PDF、JPEG或PNG格式（按文件内容判断）。" in r.text
    assert in_app(lambda: db.session.scalars(select(Attachment)).all()) == []


def test_attachments_of_another_agency_are_not_served(world, new_case, login, in_app):
    cid = new_case(world.b, date(2024, 6, 3))
    client = login(world.b.clerk)
    client.post(f"/cases/{cid}/attachments", data={"files": [(io.BytesIO(PDF), "a.pdf")]},
                content_type="multipart/form-data")
    att_id = in_app(lambda: db.session.scalar(select(Attachment.id)))
    assert login(world.a.clerk).get(f"/cases/{cid}/attachments/{att_id}").status_code == 404
    own = new_case(world.a, date(2024, 6, 3))
    # an attachment id of another case under one's own case number
    assert login(world.a.clerk).get(f"/cases/{own}/attachments/{att_id}").status_code == 404


def test_auditor_may_read_but_not_upload(world, new_case, login, in_app):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.auditor)
    assert client.get(f"/cases/{cid}").status_code == 200
    r = client.post(f"/cases/{cid}/attachments", data={"files": [(io.BytesIO(PDF), "a.pdf")]},
                    content_type="multipart/form-data")
    assert r.status_code == 403
