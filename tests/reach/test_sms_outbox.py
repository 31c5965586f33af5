"""SMS through the one outbox: the Alibaba Cloud adapter against a local stand-in that checks the
signature independently, exactly once (twice delivered, a row left 'sending' by a killed worker),
back-off on provider errors, the admin page's explanation, and the log adapter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from webapp.domain.kinds import MailChannel
from webapp.domain.states import MailStatus
from webapp.models import OutboxMail
from webapp.notify.outbox import deliver_pending
from webapp.sms.errors import explain
from webapp.sms.outbox import normalize_mobile, queue_sms
from webapp.sms.providers import AliyunProvider, SmsError

from .conftest import KEY_ID, SECRET

T0 = datetime(2024, 7, 2, 1, 0, tzinfo=UTC)   # 09:00 in Shanghai


def _naive(dt):
    return dt.astimezone(UTC).replace(tzinfo=None)


def test_adapter_signs_as_documented_and_gets_the_biz_id(aliyun):
    p = AliyunProvider(KEY_ID, SECRET, "某区政务公开", endpoint=aliyun.url)
    assert p.send("13800138000", "SMS_1", {"name": "张 三*~", "n": "3"}, "outbox-7") == "biz-1"
    (req,) = aliyun.requests
    assert {k: req[k] for k in ("Action", "Version", "SignatureMethod", "SignatureVersion", "Format",
                                "PhoneNumbers", "SignName", "TemplateCode", "TemplateParam", "OutId")} == {
        "Action": "SendSms", "Version": "2017-05-25", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
        "Format": "JSON", "PhoneNumbers": "13800138000", "SignName": "某区政务公开", "TemplateCode": "SMS_1",
        "TemplateParam": '{"name":"张 三*~","n":"3"}', "OutId": "outbox-7"}


def test_adapter_wrong_secret_is_the_providers_error(aliyun):
    p = AliyunProvider(KEY_ID, "wrong", "某区政务公开", endpoint=aliyun.url)
    with pytest.raises(SmsError) as e:
        p.send("13800138000", "SMS_1", {}, "outbox-1")
    assert (e.value.code, e.value.message) == ("SignatureDoesNotMatch", "Specified signature is not matched.")


def test_known_signature_vector():
    """A fixed request (nonce and time given): the signature the independent computation gives."""
    from .conftest import independent_signature

    p = AliyunProvider("testid", "testsecret", "阿里云短信测试", endpoint="http://x/")
    params = p.signed_params("15300000001", "SMS_154950909", {"code": "123456"}, "123",
                             nonce="45e25e9b-0a6f-4070-8c85-2956eda1b466", timestamp="2017-07-12T02:42:19Z")
    assert params["Signature"] == independent_signature(params, "testsecret")


def test_delivers_sms_once_with_out_id_the_row(db_session, sms_aliyun):
    row = queue_sms("+86 138-0013-8000", "answer", {"agency": "某区商务局", "number": "SWJ-2024-0001"},
                    dedupe_key="sms:k1", agency_id=None)
    assert queue_sms("13800138000", "answer", {}, dedupe_key="sms:k1") is None
    db_session.commit()
    assert deliver_pending(now=T0).sent == [row.id]
    assert deliver_pending(now=T0 + timedelta(hours=1)).sent == []
    (req,) = sms_aliyun.requests
    assert (req["PhoneNumbers"], req["TemplateCode"], req["OutId"]) == ("13800138000", "SMS_100002", f"outbox-{row.id}")
    assert json.loads(req["TemplateParam"]) == {"agency": "某区商务局", "number": "SWJ-2024-0001"}
    db_session.expire_all()
    got = db_session.get(OutboxMail, row.id)
    assert (got.status, got.attempts, got.provider_ref, got.channel, got.sent_at) == \
        (MailStatus.SENT, 1, "biz-1", MailChannel.SMS, _naive(T0))
    assert got.body == "【某区政务公开】某区商务局已对您的申请（编号SWJ-2024-0001）作出答复，请查收答复书或凭编号查询。"


def test_row_left_sending_by_a_killed_worker_is_sent_again_with_the_same_out_id(db_session, sms_aliyun):
    row = queue_sms("13800138000", "reminder", {"name": "李四", "count": 2, "deadline": "2024-07-05",
                                                "case_number": "SWJ-2024-0002"}, dedupe_key="sms:k2")
    db_session.commit()
    # a worker claimed it (lease until T0 + 10 min), sent it, and was killed before the "sent" mark
    row.status, row.next_attempt_at = MailStatus.SENDING, _naive(T0 + timedelta(minutes=10))
    db_session.commit()
    if db_session.get_bind().dialect.name == "sqlite":
        assert deliver_pending(now=T0 + timedelta(minutes=5)).sent == []      # the lease still runs
    assert deliver_pending(now=T0 + timedelta(minutes=11)).sent == [row.id]
    assert deliver_pending(now=T0 + timedelta(minutes=30)).sent == []
    assert [r["OutId"] for r in sms_aliyun.requests] == [f"outbox-{row.id}"]


def test_provider_error_backs_off_and_is_explained(db_session, sms_aliyun):
    sms_aliyun.answers += [(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}),
                           (200, {"Code": "isp.SYSTEM_ERROR", "Message": "system error"})]
    row = queue_sms("13800138000", "confirmation", {"agency": "某区商务局", "number": "N1", "due_on": "2024-07-30"},
                    dedupe_key="sms:k3")
    db_session.commit()
    r1 = deliver_pending(now=T0)
    assert (r1.sent, r1.failed) == ([], [row.id])
    db_session.expire_all()
    got = db_session.get(OutboxMail, row.id)
    assert (got.status, got.attempts, got.next_attempt_at) == (MailStatus.FAILED, 1, _naive(T0 + timedelta(seconds=60)))
    assert got.last_error == "isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控Permits:1"
    assert explain(got.last_error).startswith("触发短信平台的发送频率限制")
    assert deliver_pending(now=T0 + timedelta(seconds=59)).failed == []        # not due yet
    assert deliver_pending(now=T0 + timedelta(seconds=60)).failed == [row.id]
    db_session.expire_all()
    got = db_session.get(OutboxMail, row.id)
    assert (got.attempts, got.next_attempt_at) == (2, _naive(T0 + timedelta(seconds=180)))
    assert deliver_pending(now=T0 + timedelta(seconds=180)).sent == [row.id]
    assert len(sms_aliyun.requests) == 3


def test_unconfigured_template_fails_visibly(db_session, sms_aliyun):
    row = queue_sms("13800138000", "fee", {"agency": "某区商务局", "number": "N1", "amount": "100"},
                    dedupe_key="sms:k4")
    db_session.commit()
    assert deliver_pending(now=T0).failed == [row.id]
    db_session.expire_all()
    assert db_session.get(OutboxMail, row.id).last_error == "no_template: SMS_TEMPLATE_FEE is not set"
    assert sms_aliyun.requests == []


def test_log_backend_writes_a_line_and_marks_sent(db_session, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "log")
    monkeypatch.setitem(app.config, "SMS_LOG_DIR", str(tmp_path))
    row = queue_sms("13800138000", "submitted", {"agency": "某区商务局", "number": "WS-1"}, dedupe_key="sms:k5")
    db_session.commit()
    assert deliver_pending(now=T0).sent == [row.id]
    (line,) = (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()
    got = json.loads(line)
    assert (got["phone"], got["template"], got["id"]) == ("13800138000", "LOG_SUBMITTED", f"log-outbox-{row.id}")
    assert got["text"] == "您向某区商务局提交的政府信息公开申请已收到，编号WS-1，可凭编号和查询码查询办理进度。"
    assert db_session.scalar(select(OutboxMail.provider_ref)) == f"log-outbox-{row.id}"


def test_not_a_mobile_number_writes_nothing(db_session):
    assert normalize_mobile("010-12345678") == ""
    assert normalize_mobile("8613800138000") == "13800138000"
    assert queue_sms("010-12345678", "answer", {}, dedupe_key="sms:k6") is None
