"""The reminders end to end on the real parts: PostgreSQL, Redis, a Celery worker process and an SMTP
server. Each sweep runs in the worker as of a frozen day (the task's ``today``); the worker commits,
then enqueues delivery, which sends the outbox over SMTP.

Faults: the worker killed (SIGKILL) in the middle of a sweep, the SMTP server down during a sweep,
and the broker unreachable while the web service is used.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import date

import pytest
from flask import jsonify
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from config import TestConfig
from tests.factories import ID_NUMBER, PHONE, make_agency, make_staff, paper_case
from webapp import create_app
from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import Notification, OutboxMail
from webapp.notify.outbox import queue_mail, request_delivery
from webapp.security import public

from .conftest import BASE_URL, client_for, free_port, run_task

pytestmark = [pytest.mark.worker, pytest.mark.pg, pytest.mark.slow]

SWEEP = "reminders.sweep"
DELIVER = "outbox.deliver"
ID_RE = re.compile(r"\d{17}[\dXx]")


def _numbers(body: str) -> list[str]:
    return re.findall(r"】(SWJ-2024-\d{4})", body)


def _titles(body: str) -> list[str]:
    return re.findall(r"\d+\. 【(.+?)】SWJ", body)


def _check_private(mail) -> None:
    assert PHONE not in mail.body and ID_NUMBER not in mail.body
    assert not ID_RE.search(mail.body), "an ID number in a mail"


def _world(db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    a = paper_case(agency, staff["clerk"], date(2024, 6, 3), name="张三")
    b = paper_case(agency, staff["clerk"], date(2024, 6, 3), name="某某建材有限公司", kind="commercial")
    c = paper_case(agency, staff["clerk2"], date(2024, 6, 4), name="李四")
    db_session.commit()
    return agency, staff, a, b, c


def test_a_case_approaching_its_deadline_gets_each_reminder_once(app, db_session, worker_factory, smtp,
                                                                  redis_url):
    _agency, staff, a, b, c = _world(db_session)
    assert (a.number, a.due_on, a.correction_notice_due_on) == ("SWJ-2024-0001", date(2024, 7, 2),
                                                               date(2024, 6, 13))
    assert (c.number, c.due_on, c.correction_notice_due_on) == ("SWJ-2024-0003", date(2024, 7, 3),
                                                               date(2024, 6, 14))
    clerk, clerk2, approver = (staff[k].email for k in ("clerk", "clerk2", "approver"))
    worker = worker_factory()
    worker.start()
    client = client_for(redis_url, worker.queue)

    # day -> {recipient: [(title, case number), ...]} of the digest that sweep sends
    plan = [
        ("2024-06-07", {}),
        ("2024-06-11", {clerk: [("补正告知期限还剩2个工作日", a.number), ("补正告知期限还剩2个工作日", b.number)]}),
        ("2024-06-12", {clerk2: [("补正告知期限还剩2个工作日", c.number)]}),
        ("2024-06-12", {}),
        ("2024-06-25", {clerk: [("答复期限还剩5个工作日", a.number), ("答复期限还剩5个工作日", b.number)]}),
        ("2024-06-26", {clerk2: [("答复期限还剩5个工作日", c.number)]}),
        ("2024-06-27", {clerk: [("答复期限还剩3个工作日", a.number), ("答复期限还剩3个工作日", b.number)]}),
        ("2024-07-01", {clerk: [("答复期限还剩1个工作日", a.number), ("答复期限还剩1个工作日", b.number)],
                        clerk2: [("答复期限还剩2个工作日", c.number)]}),
        ("2024-07-02", {clerk: [("答复期限今日届满", a.number), ("答复期限今日届满", b.number)],
                        approver: [("答复期限今日届满", a.number), ("答复期限今日届满", b.number)],
                        clerk2: [("答复期限还剩1个工作日", c.number)]}),
        ("2024-07-03", {clerk: [("答复已逾期1个工作日", a.number), ("答复已逾期1个工作日", b.number)],
                        approver: [("答复已逾期1个工作日", a.number), ("答复已逾期1个工作日", b.number),
                                   ("答复期限今日届满", c.number)],
                        clerk2: [("答复期限今日届满", c.number)]}),
        ("2024-07-03", {}),
        ("2024-07-04", {clerk: [("答复已逾期2个工作日", a.number), ("答复已逾期2个工作日", b.number)],
                        approver: [("答复已逾期2个工作日", a.number), ("答复已逾期2个工作日", b.number),
                                   ("答复已逾期1个工作日", c.number)],
                        clerk2: [("答复已逾期1个工作日", c.number)]}),
    ]
    seen = 0
    for day, expected in plan:
        summary = run_task(client, SWEEP, today=day)
        assert summary["mails"] == len(expected), (day, summary)
        mails = smtp.wait_for(seen + len(expected))[seen:]
        assert len(mails) == len(expected), (day, [m.subject for m in mails])
        got = {m.to[0]: list(zip(_titles(m.body), _numbers(m.body), strict=True)) for m in mails}
        assert got == expected, day
        for m in mails:
            assert m.subject == f"【政府信息公开】期限提醒：{len(expected[m.to[0]])}件申请需要处理（{day}）"
            _check_private(m)
        seen += len(expected)

    everything = smtp.snapshot()
    assert len(everything) == 16
    first = everything[0]
    assert first.to == (clerk,)
    assert first.body == (
        "王经办，您好：\n\n"
        "截至2024-06-11，以下政府信息公开申请需要您处理：\n\n"
        f"1. 【补正告知期限还剩2个工作日】{a.number}\n"
        "   申请人：张三\n"
        "   期限：2024-06-13（还剩2个工作日）\n"
        "   处理：申请内容不明确需要补正的，请在期限内一次性告知申请人（第三十条）。\n"
        f"   查看：{BASE_URL}/cases/{a.id}\n\n"
        f"2. 【补正告知期限还剩2个工作日】{b.number}\n"
        "   申请人：某某建材有限公司\n"
        "   期限：2024-06-13（还剩2个工作日）\n"
        "   处理：申请内容不明确需要补正的，请在期限内一次性告知申请人（第三十条）。\n"
        f"   查看：{BASE_URL}/cases/{b.id}\n\n"
        "每项提醒只发送一次；期限变动（延期、暂停）后将按新期限重新提醒。全部提醒也显示在系统右上角的通知中。\n"
        "本邮件由系统自动发送，请勿直接回复。\n")
    # Every notification belongs to exactly one sent mail; nothing is left in the outbox.
    db_session.expire_all()
    assert db_session.scalar(select(func.count(Notification.id))) == 28
    assert db_session.scalar(select(func.count(Notification.id)).where(Notification.outbox_id.is_(None))) == 0
    assert [s for (s,) in db_session.execute(select(OutboxMail.status).distinct())] == ["sent"]
    assert len({m.message_id for m in everything}) == 16


def _wait_for_lock_wait(engine, timeout: float = 30) -> str:
    """Wait until a backend of the test database waits on a lock; return its query."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            # One transaction per look: pg_stat_activity is a snapshot taken once per transaction.
            with conn.begin():
                row = conn.execute(text(
                    "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).first()
            if row is not None:
                return row[0]
            time.sleep(0.05)
    raise AssertionError("the sweep never reached the outbox")


def test_worker_killed_in_the_middle_of_a_sweep_every_reminder_arrives_once(
        app, db_session, database_url, worker_factory, smtp, redis_url):
    _agency, staff, a, b, c = _world(db_session)
    # Redis hands an unacknowledged task out again after 3 s (production: an hour).
    worker = worker_factory(CELERY_VISIBILITY_TIMEOUT="3")
    worker.start()
    client = client_for(redis_url, worker.queue)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        # Another transaction holds (uncommitted) the reminder that sorts last among this sweep's six:
        # the sweep writes its digests and five reminders, then waits on the sixth. Kill it there.
        clerk, clerk2, approver = (staff[k].id for k in ("clerk", "clerk2", "approver"))
        keys = sorted([f"answer_overdue:{a.id}:2024-07-02:2024-07-03:{clerk}",
                       f"answer_overdue:{a.id}:2024-07-02:2024-07-03:{approver}",
                       f"answer_overdue:{b.id}:2024-07-02:2024-07-03:{clerk}",
                       f"answer_overdue:{b.id}:2024-07-02:2024-07-03:{approver}",
                       f"answer_due_today:{c.id}:2024-07-03:{clerk2}",
                       f"answer_due_today:{c.id}:2024-07-03:{approver}"])
        blocker = engine.connect()
        tx = blocker.begin()
        blocker.execute(text("INSERT INTO notification (dedupe_key, kind, title, body, link, created_at) "
                             "VALUES (:k, 'blocker', '', '', '', now())"), {"k": keys[-1]})
        sent_at = time.monotonic()
        killed_task = client.send_task(SWEEP, kwargs={"today": "2024-07-03"}).id
        query = _wait_for_lock_wait(engine)
        assert query.startswith("INSERT INTO \"notification\"")
        with engine.connect() as look:   # what the sweep wrote so far is uncommitted: invisible
            assert look.execute(text("SELECT count(*) FROM notification")).scalar() == 0
        worker.kill()
        tx.rollback()
        blocker.close()
        # Nothing of the killed sweep was committed.
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM notification")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM outbox_mail")).scalar() == 0
        assert smtp.snapshot() == []
        # Restart once the task is due again: the new worker runs the killed sweep from the start.
        time.sleep(max(0.0, 3.5 - (time.monotonic() - sent_at)))
        worker.start()
        mails = smtp.wait_for(3, timeout=60)
        assert sorted(m.to[0] for m in mails) == sorted(staff[k].email for k in ("clerk", "clerk2", "approver"))
        by_to = {m.to[0]: _numbers(m.body) for m in mails}
        assert by_to == {staff["clerk"].email: [a.number, b.number], staff["clerk2"].email: [c.number],
                         staff["approver"].email: [a.number, b.number, c.number]}
        # The beat comes round again (and a second beat with it): nothing new.
        assert run_task(client, SWEEP, today="2024-07-03")["notifications"] == 0
        assert run_task(client, SWEEP, today="2024-07-03")["notifications"] == 0
        assert len(smtp.wait_for(3)) == 3
        # It was the killed task itself, handed out again, that the new worker ran to the end.
        assert f"Task reminders.sweep[{killed_task}] succeeded" in worker.log_text()
    finally:
        engine.dispose()
    db_session.expire_all()
    assert db_session.scalar(select(func.count(Notification.id))) == 6
    assert Counter(db_session.scalars(select(OutboxMail.status))) == {MailStatus.SENT: 3}


def test_smtp_down_during_a_sweep_every_mail_arrives_once_later(app, db_session, worker_factory, smtp,
                                                                 redis_url):
    _agency, staff, *_cases = _world(db_session)
    worker = worker_factory()   # retries back off from 1 s in this test (production: 1 min)
    worker.start()
    client = client_for(redis_url, worker.queue)
    smtp.stop()
    summary = run_task(client, SWEEP, today="2024-07-02")
    assert (summary["notifications"], summary["mails"]) == (5, 3)
    # The delivery the sweep enqueued has failed; the mails wait, visible with their error.
    deadline = time.monotonic() + 30
    while True:
        db_session.expire_all()
        rows = db_session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        if rows and all(r.attempts >= 1 for r in rows[:1]):
            break
        assert time.monotonic() < deadline, "delivery was never attempted"
        time.sleep(0.1)
    from webapp.notify.outbox import failed_mail

    failed = failed_mail()
    assert failed and all(m.status == MailStatus.FAILED and "Connection refused" in m.last_error for m in failed)
    assert all(r.status != MailStatus.SENT for r in rows)
    # A second sweep while SMTP is down adds nothing (the reminders exist).
    assert run_task(client, SWEEP, today="2024-07-02")["mails"] == 0
    smtp.start()
    # The beat's safety net comes round: deliver until the outbox is empty.
    for _ in range(20):
        run_task(client, DELIVER)
        db_session.expire_all()
        if all(s == "sent" for s in db_session.scalars(select(OutboxMail.status))):
            break
        time.sleep(1.1)   # the back-off of this test
    mails = smtp.wait_for(3)
    assert len(mails) == 3
    assert sorted(m.to[0] for m in mails) == sorted(staff[k].email for k in ("clerk", "clerk2", "approver"))
    assert Counter(db_session.scalars(select(OutboxMail.status))) == {MailStatus.SENT: 3}
    # Another delivery round sends nothing again.
    assert run_task(client, DELIVER) == {"sent": 0, "failed": 0}
    assert len(smtp.wait_for(3)) == 3


def test_broker_down_the_web_keeps_working_and_the_next_sweep_catches_up(
        app, db_session, database_url, worker_factory, smtp, redis_url, caplog):
    _agency, staff, a, b, c = _world(db_session)
    # The web service with its broker on a closed port (Redis down).
    dead = f"redis://127.0.0.1:{free_port()}/5"
    web = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                     CELERY={**TestConfig.CELERY, "broker_url": dead, "result_backend": dead})

    @web.post("/_test/notify-applicant")
    @public
    def notify_applicant():
        queue_mail("applicant@example.com", "收件通知", "您的申请已收到。", dedupe_key="receipt:test")
        request_delivery()   # enqueued after the commit; fails quietly while Redis is down
        db.session.commit()
        return jsonify(ok=True)

    with web.app_context():
        db.session.remove()
    client = web.test_client()
    started = time.monotonic()
    response = client.post("/_test/notify-applicant")
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"ok": True, "status": "degraded", "db": True, "redis": None, "broker": False}
    assert time.monotonic() - started < 3   # no hanging on the dead broker
    assert any("could not enqueue mail delivery" in r.getMessage() for r in caplog.records)
    with web.app_context():
        assert db.session.scalar(select(OutboxMail.status).where(OutboxMail.dedupe_key == "receipt:test")) \
            == "pending"
        db.session.remove()
        db.engine.dispose()     # close its pool now, not whenever the app is garbage-collected

    # Meanwhile no sweep ran (no broker). Redis is back: the next sweep, days later, sends what became
    # due (the 3-day reminders, not the 5-day ones it missed), and the delivery takes the waiting mail too.
    worker = worker_factory()
    worker.start()
    tasks = client_for(redis_url, worker.queue)
    summary = run_task(tasks, SWEEP, today="2024-06-28")
    assert summary["by_kind"] == {"answer_due_3": 3}
    mails = smtp.wait_for(3)
    got = {m.to[0]: (m.subject, _numbers(m.body)) for m in mails}
    assert got == {
        "applicant@example.com": ("收件通知", []),
        staff["clerk"].email: ("【政府信息公开】期限提醒：2件申请需要处理（2024-06-28）", [a.number, b.number]),
        staff["clerk2"].email: ("【政府信息公开】期限提醒：1件申请需要处理（2024-06-28）", [c.number]),
    }
    assert "还剩2个工作日" in next(m.body for m in mails if m.to[0] == staff["clerk"].email)
