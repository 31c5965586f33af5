"""SMS through a real Celery worker process on Redis and PostgreSQL: the worker's ``outbox.deliver``
sends an SMS row to the local Alibaba Cloud stand-in (signature checked there), backs off on the
provider's error, sends it on the next round, and never twice."""

from __future__ import annotations

import time

import pytest

from webapp.domain.states import MailStatus
from webapp.models import OutboxMail
from webapp.sms.outbox import queue_sms

from .conftest import KEY_ID, SECRET

pytestmark = [pytest.mark.worker, pytest.mark.pg, pytest.mark.slow]


def test_worker_delivers_sms_with_back_off(app, db_session, worker_factory, aliyun, redis_url):
    from tests.workers.conftest import client_for, run_task

    aliyun.answers.append((200, {"Code": "isp.SYSTEM_ERROR", "Message": "system error"}))
    row = queue_sms("13800138000", "answer", {"agency": "某区商务局", "number": "SWJ-2024-0001"},
                    dedupe_key="sms:worker:1")
    db_session.commit()
    worker = worker_factory(SMS_BACKEND="aliyun", SMS_ENDPOINT=aliyun.url, SMS_ACCESS_KEY_ID=KEY_ID,
                            SMS_ACCESS_KEY_SECRET=SECRET, SMS_SIGN_NAME="某区政务公开",
                            SMS_TEMPLATE_ANSWER="SMS_100002")
    worker.start()
    client = client_for(redis_url, worker.queue)
    assert run_task(client, "outbox.deliver") == {"sent": 0, "failed": 1}
    db_session.expire_all()
    got = db_session.get(OutboxMail, row.id)
    assert (got.status, got.attempts, got.last_error) == (MailStatus.FAILED, 1, "isp.SYSTEM_ERROR: system error")
    time.sleep(1.2)                                   # MAIL_RETRY_BASE_SECONDS=1 in the worker
    assert run_task(client, "outbox.deliver") == {"sent": 1, "failed": 0}
    assert run_task(client, "outbox.deliver") == {"sent": 0, "failed": 0}
    db_session.expire_all()
    got = db_session.get(OutboxMail, row.id)
    assert (got.status, got.attempts, got.provider_ref) == (MailStatus.SENT, 2, "biz-2")
    assert [(r["TemplateCode"], r["OutId"]) for r in aliyun.requests] == [("SMS_100002", f"outbox-{row.id}")] * 2
