"""Who wants what: the applicant's choice (e-mail, SMS or both) on the public form, kept on the
submission and on the case as filed, and honoured by the notices; a staff member's choice in their
profile page; the SMS length limits; the admin outbox page explains an SMS error."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.public.conftest import form_post
from tests.public.test_public_views import submit_form
from webapp.domain.kinds import MailChannel, NotifyVia
from webapp.domain.states import MailStatus
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, OutboxMail, User
from webapp.models.submission import Submission
from webapp.notify.applicant_notices import install
from webapp.public.services import confirm_submission
from webapp.sms.outbox import CHOICES, notify_choice, wants
from webapp.sms.settings import set_staff_choice
from webapp.sms.texts import MAX_SEGMENTS, PARAM_MAX, SMS_KINDS, check_text, segments


def _check_kind(kind: str, sign_name: str = "") -> str | None:
    """The kind's text checked with its sample, and with every variable at PARAM_MAX characters (the
    worst case a real notice can reach): within MAX_SEGMENTS, no SMS of this kind is ever longer."""
    spec = SMS_KINDS[kind]
    worst = dict.fromkeys(spec["sample"], "字" * PARAM_MAX)
    return check_text(spec["text"], spec["sample"], sign_name) or check_text(spec["text"], worst, sign_name)


def _rows(in_app):
    return in_app(lambda: [(r.channel, r.to_addr, r.dedupe_key) for r in
                           db.session.scalars(select(OutboxMail).order_by(OutboxMail.id))])


def test_the_form_offers_the_choice(client, world):
    html = client.get("/apply?agency=SWJ").get_data(as_text=True)
    assert re.findall(r'name="notify_via" value="(\w+)"', html) == ["email", "sms", "both"]
    assert 'name="notify_via" value="email" checked' in html


@pytest.mark.parametrize("via, expected", [
    ("sms", [("sms", "13800000000", "sms:submission:{}:submitted")]),
    ("both", [("sms", "13800000000", "sms:submission:{}:submitted"),
              ("email", "zhangsan@example.com", "submission:{}:submitted")]),
    ("email", [("email", "zhangsan@example.com", "submission:{}:submitted")]),
])
def test_choice_on_the_form_is_stored_and_honoured(client, world, in_app, via, expected):
    install()
    r, number, code = submit_form(client, notify_via=via)
    assert r.status_code == 200 and number
    sub_id, stored = in_app(lambda: db.session.execute(
        select(Submission.id, Submission.notify_via).where(Submission.number == number)).one())
    assert stored == via
    assert _rows(in_app) == [(c, t, k.format(sub_id)) for c, t, k in expected]

    # the case keeps the choice as filed, and its notices follow it
    def confirm():
        sub = db.session.get(Submission, sub_id)
        clerk = db.session.get(User, world.users["clerk"])
        case = confirm_submission(sub, clerk)
        db.session.commit()
        return case.id, case.notify_via

    case_id, case_via = in_app(confirm)
    assert case_via == via
    confirmation = [row for row in _rows(in_app) if ":confirmation:" in row[2]]
    want = {"sms": ["sms"], "email": ["email"], "both": ["email", "sms"]}[via]
    assert [c for c, _, _ in confirmation] == want
    assert all(k.endswith(f"applicant:{case_id}:confirmation:1") for _, _, k in confirmation)
    # the applicant's status page names the channel of the notice
    status = client.post("/status", data={"number": number, "code": code}).get_data(as_text=True)
    assert ("短信待发送" if via == "sms" else "邮件待发送") in status


def test_sms_without_a_mobile_number_is_refused_in_chinese(client, world, in_app):
    r = client.post("/apply", data=form_post(notify_via="sms", phone="010-12345678"),
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "选择短信通知的，请填写11位手机号码" in html
    assert in_app(lambda: db.session.scalar(select(Submission.id))) is None


def test_staff_profile_choice(client, world, login, in_app):
    uid = world.users["clerk"]
    login(uid)
    page = client.get("/account/notify")
    assert page.status_code == 200 and 'name="notify_via"' in page.get_data(as_text=True)
    r = client.post("/account/notify", data={"notify_via": "sms", "mobile": ""})
    assert r.status_code == 422
    assert "选择短信提醒的，请填写手机号码" in r.get_data(as_text=True)
    assert in_app(lambda: (db.session.get(User, uid).notify_via, db.session.get(User, uid).mobile)) == ("email", "")
    r = client.post("/account/notify", data={"notify_via": "both", "mobile": "+86 139 0000 1111"})
    assert r.status_code == 302
    assert in_app(lambda: (db.session.get(User, uid).notify_via, db.session.get(User, uid).mobile)) \
        == ("both", "13900001111")


def test_staff_choice_service_refusals(db_session, world):
    user = db.session.get(User, world.users["clerk"])
    with pytest.raises(ServiceError) as e:
        set_staff_choice(user, "sms", "12345")
    assert (e.value.rule, e.value.message_zh) == ("user.mobile", "手机号码应为11位（以1开头）")
    with pytest.raises(ServiceError) as e:
        set_staff_choice(user, "fax", "")
    assert e.value.message_zh == "请选择接收提醒的方式"
    assert (user.notify_via, user.mobile) == ("email", "")


def test_the_choice_is_an_enum(db_session, world):
    """NotifyVia is the one list: what a channel wants, the forms' choices, the column's reads."""
    assert [(v, v.wants(MailChannel.EMAIL), v.wants(MailChannel.SMS)) for v in NotifyVia] == [
        ("email", True, False), ("sms", False, True), ("both", True, True)]
    assert CHOICES == {"email": "电子邮件", "sms": "短信", "both": "电子邮件和短信"}
    assert (notify_choice("both"), notify_choice("fax"), notify_choice(None)) == (NotifyVia.BOTH, None, None)
    assert (wants("fax", MailChannel.EMAIL), wants("fax", MailChannel.SMS)) == (True, False)
    user = db.session.get(User, world.users["clerk"])
    assert set_staff_choice(user, "both", "13900001111") is True
    db.session.flush()
    db.session.expire(user)
    assert type(user.notify_via) is NotifyVia and user.notify_via is NotifyVia.BOTH


def test_length_limits():
    assert [segments("字" * n) for n in (70, 71, 134, 135, 201, 202)] == [1, 2, 2, 3, 3, 4]
    assert MAX_SEGMENTS == 3
    assert check_text("{{ a }}" * 5, {"a": "字" * 40}) is None            # params cut to 35: 175 = 3 parts
    problem = check_text("{{ a }}" * 6, {"a": "字" * 35})                 # 210 characters: 4 parts
    assert problem == "短信过长：示例内容210个字，需分4条发送，超过3条的上限（单条70字，长短信每条67字）"
    # the signature counts: 【某区政务公开】 (8) + 175 = 183 characters, 3 parts; 21 more (204) make 4
    assert check_text("{{ a }}" * 5, {"a": "字" * 35}, sign_name="某区政务公开") is None
    longer = "{{ a }}" * 5 + "请及时登录系统查看办理进度并按期答复申请人"
    assert check_text(longer, {"a": "字" * 35}, sign_name="某区政务公开") \
        == "短信过长：示例内容204个字，需分4条发送，超过3条的上限（单条70字，长短信每条67字）"
    assert check_text("{{ missing }}", {}) is not None                  # every name defined
    assert all(_check_kind(k, "某某市某某区人民政府") is None for k in
               ("reminder", "submitted", "rejected", "confirmation", "correction", "extension", "fee", "answer"))


def test_admin_outbox_explains_an_sms_error(client, world, login, in_app):
    def make():
        agency = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
        db.session.add(OutboxMail(channel=MailChannel.SMS, to_addr="13800138000", subject="已答复", body="x",
                                  status=MailStatus.FAILED, attempts=2,
                                  last_error="isv.AMOUNT_NOT_ENOUGH: 账户余额不足", agency_id=agency.id,
                                  dedupe_key="sms:t"))
        db.session.commit()

    in_app(make)
    admin = in_app(lambda: db.session.scalar(select(User.id).where(User.role == "admin", User.agency_id.is_not(None))))
    login(admin)
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert "短信账户余额不足，请充值" in html
    assert "isv.AMOUNT_NOT_ENOUGH: 账户余额不足" in html          # raw, behind <details>
    assert "138****8000" in html and "13800138000" not in html


def test_admin_sets_quiet_hours_on_the_agency_page(client, world, login, in_app):
    admin = in_app(lambda: db.session.scalar(select(User.id).where(User.role == "admin",
                                                                   User.agency_id == world.dept)))
    c = login(admin)
    page = c.get(f"/admin/agencies/{world.dept}").get_data(as_text=True)
    assert 'id="quiet-hours"' in page and 'value="20:00"' in page
    r = c.post(f"/admin/agencies/{world.dept}/quiet-hours",
               data={"start": "21:30", "end": "07:30", "days_off": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/agencies/{world.dept}#quiet-hours")
    saved = {"start": "21:30", "end": "07:30", "days_off": True, "applicant_mail": False}
    assert in_app(lambda: db.session.get(Agency, world.dept).quiet_hours) == saved
    r = c.post(f"/admin/agencies/{world.dept}/quiet-hours", data={"start": "24:61", "end": "07:30"},
               follow_redirects=True)
    assert "免打扰时段设置无效：" in r.get_data(as_text=True)
    assert in_app(lambda: db.session.get(Agency, world.dept).quiet_hours) == saved
    # another agency's administrator: not found
    assert c.post(f"/admin/agencies/{world.other}/quiet-hours", data={"start": "20:00", "end": "08:00"}).status_code \
        == 404


def test_timeline_shows_the_sms_notice(db_session, world):
    from tests.public.conftest import applicant
    from webapp.cases.view import timeline
    from webapp.public.services import clean_submission, create_submission

    install()
    agency = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
    sub = create_submission(agency, clean_submission(applicant(), ["2023年度部门预算"], "email", "email",
                                                     notify_via="sms")).submission
    case = confirm_submission(sub, db.session.get(User, world.users["clerk"]))
    db.session.commit()
    (row,) = [r for r in timeline(case) if r.label == "通知申请人"]
    assert row.summary == [("通知", "受理通知"), ("短信号码", "138****0000"), ("短信状态", "待发送")]
