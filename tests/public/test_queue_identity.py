"""Accepting an online submission whose ID number is on file under another name (issue #11.2): the
clerk chooses -- the same person with new details for this case, or a typo corrected -- and nothing is
registered before; earlier cases keep their applicant as filed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Agency, AuditLog, Case, CaseEvent
from webapp.models.submission import Submission
from webapp.public.services import clean_submission, create_submission

from .conftest import ID_NUMBER, applicant

ID_X = ID_NUMBER   # 11010519491231002X


@pytest.fixture
def submitted(in_app, world):
    def make(items: list[str], **over) -> int:
        def go() -> int:
            agency = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
            clean = clean_submission(applicant(**over), items, "email", "email", [])
            return create_submission(agency, clean).submission.id

        return in_app(go)

    return make


def _version(in_app, sid: int) -> int:
    return in_app(lambda: db.session.get(Submission, sid).version)


def _cases(in_app):
    return in_app(lambda: [(c.applicant.name, c.applicant.id_number, c.applicant.phone)
                           for c in db.session.scalars(select(Case).order_by(Case.id))])


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def first_case(client, world, login, submitted, in_app):
    """Case A: 张三, ID X, phone 13800000000, confirmed from the queue."""
    login(world.users["clerk"])
    sid = submitted(["2023年度部门预算"])
    assert client.post(f"/queue/{sid}/confirm", data={"version": _version(in_app, sid)}).status_code == 302
    return in_app(lambda: db.session.scalar(select(Case.id)))


def test_the_queue_asks_then_registers_the_same_person(client, world, submitted, in_app, first_case):
    sid = submitted(["2024年度部门预算"], name="张三丰", phone="13911112222")
    page = client.get(f"/queue/{sid}").text
    text = _text(page)
    assert "申请人的居民身份证号码 1101**********002X 已在本机关登记为其他姓名或名称： 张三 （1件申请）" in text
    assert "本次提交的是 张三丰 。" in text
    assert 'id="confirm-same-person"' in page and 'id="confirm-corrected"' in page and 'id="confirm"' not in page

    # confirming without a choice registers nothing
    r = client.post(f"/queue/{sid}/confirm", data={"version": _version(in_app, sid)})
    assert r.status_code == 302 and r.location.endswith(f"/queue/{sid}")
    assert _cases(in_app) == [("张三", ID_X, "13800000000")]
    assert in_app(lambda: db.session.get(Submission, sid).status) == "submitted"

    r = client.post(f"/queue/{sid}/confirm", data={"version": _version(in_app, sid),
                                                   "identity_choice": "same_person"})
    assert r.status_code == 302
    assert _cases(in_app) == [("张三", ID_X, "13800000000"), ("张三丰", ID_X, "13911112222")]
    page_a = client.post(f"/cases/{first_case}/personal").text
    assert "13800000000" in page_a and "13911112222" not in page_a and "张三丰" not in page_a
    note = in_app(lambda: db.session.scalar(select(CaseEvent.payload).where(CaseEvent.type == "note")))
    assert note["applicant_identity"] == {"choice": "same_person", "names_on_file": ["张三"], "corrected": []}
    assert in_app(lambda: [(a.action, a.detail["choice"]) for a in db.session.scalars(
        select(AuditLog).where(AuditLog.action == "applicant.identity_choice"))]) == [
        ("applicant.identity_choice", "same_person")]


def test_the_queue_corrects_a_typo(client, world, submitted, in_app, first_case):
    sid = submitted(["2024年度部门预算"], name="张山", phone="13911112222")
    base = {"version": _version(in_app, sid), "identity_choice": "corrected", "id_number": ID_X}
    # nothing corrected, or corrected into an invalid ID number: refused, nothing registered
    r = client.post(f"/queue/{sid}/confirm", data={**base, "name": "张山"}, follow_redirects=True)
    assert "请更正申请人的姓名或证件号码（与提交的内容相同，未作更正）" in r.text
    r = client.post(f"/queue/{sid}/confirm", data={**base, "name": "张三", "id_number": "110105194912310021"},
                    follow_redirects=True)
    assert "居民身份证号码校验位不正确，请核对号码" in r.text
    # still another name: asked again
    r = client.post(f"/queue/{sid}/confirm", data={**base, "name": "张四"}, follow_redirects=True)
    assert "已在本机关登记为其他名称：张三" in r.text
    assert len(_cases(in_app)) == 1

    r = client.post(f"/queue/{sid}/confirm", data={**base, "name": "张三"})
    assert r.status_code == 302
    assert _cases(in_app) == [("张三", ID_X, "13800000000"), ("张三", ID_X, "13911112222")]
    note = in_app(lambda: db.session.scalar(select(CaseEvent.payload).where(CaseEvent.type == "note")))
    assert note == {"note": "经办人核对后更正了申请人信息中的填写错误（姓名或名称由“张山”更正为“张三”）。",
                    "applicant_identity": {"choice": "corrected", "names_on_file": ["张三"],
                                           "corrected": ["name"]}}
    # the submission keeps what the applicant sent
    assert in_app(lambda: db.session.get(Submission, sid).applicant["name"]) == "张山"


def test_no_question_for_the_same_name(client, world, submitted, in_app, first_case):
    sid = submitted(["2024年度部门预算"], phone="13911112222")
    assert 'id="identity-conflict"' not in client.get(f"/queue/{sid}").text
    assert client.post(f"/queue/{sid}/confirm", data={"version": _version(in_app, sid)}).status_code == 302
    assert _cases(in_app) == [("张三", ID_X, "13800000000"), ("张三", ID_X, "13911112222")]
