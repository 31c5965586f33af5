"""The outbox (notify/outbox/) against a real SMTP server in the test process: delivery, failure
with back-off, claims (lease on SQLite, SKIP LOCKED on PostgreSQL), attachments, the admin's view,
and enqueueing only after the commit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from tests.factories import make_agency, make_staff, paper_case
from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import Attachment, OutboxMail
from webapp.notify.outbox import (
    backoff,
    deliver_pending,
    failed_mail,
    queue_mail,
    request_delivery,
    retry_mail,
)
from webapp.notify.outbox import delivery as outbox

T0 = datetime(2024, 7, 2, 1, 0, tzinfo=UTC)   # 09:00 in Shanghai


@pytest.fixture
def mailer(app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    monkeypatch.setitem(app.config, "MAIL_FROM", "gongkai@example.gov.cn")
    return smtp


def _naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


def test_delivers_pending_mail_once(db_session, mailer):
    a = queue_mail("a@example.com", "答复期限提醒", "您好：\n请于今日答复。\n", dedupe_key="k:a")
    b = queue_mail("b@example.com", "第二封", "正文")
    db_session.commit()
    result = deliver_pending(now=T0)
    assert (result.sent, result.failed) == ([a.id, b.id], [])
    got = mailer.wait_for(2)
    assert [(m.to, m.subject, m.body) for m in got] == [
        (("a@example.com",), "答复期限提醒", "您好：\n请于今日答复。\n"),
        (("b@example.com",), "第二封", "正文\n"),
    ]
    assert got[0].message_id.startswith(f"<outbox-{a.id}.") and got[0].message_id.endswith("@example.gov.cn>")
    db_session.expire_all()
    assert [(m.status, m.attempts, m.sent_at) for m in db_session.scalars(select(OutboxMail).order_by(OutboxMail.id))] \
        == [(MailStatus.SENT, 1, _naive(T0)), (MailStatus.SENT, 1, _naive(T0))]
    assert deliver_pending(now=T0 + timedelta(hours=1)).sent == []
    assert len(mailer.wait_for(2)) == 2


def test_queue_mail_dedupes_and_refuses_bad_addresses(db_session):
    assert queue_mail("a@example.com", "s", "b", dedupe_key="once") is not None
    assert queue_mail("a@example.com", "s", "b", dedupe_key="once") is None
    with pytest.raises(ValueError):
        queue_mail("a@example.com\r\nBcc: x@example.com", "s", "b")
    with pytest.raises(ValueError):
        queue_mail("", "s", "b")
    assert queue_mail("a@example.com", "多行\n主题", "b").subject == "多行 主题"


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8), (6, 32), (7, 60), (12, 60)])
def test_backoff_doubles_up_to_an_hour(attempts, minutes):
    assert backoff(attempts) == timedelta(minutes=minutes)


def test_smtp_down_fails_with_backoff_and_stays_visible_until_sent(db_session, mailer):
    mail = queue_mail("a@example.com", "提醒", "正文")
    db_session.commit()
    mailer.stop()
    r = deliver_pending(now=T0)
    assert (r.sent, r.failed) == ([], [mail.id])
    db_session.expire_all()
    row = db_session.get(OutboxMail, mail.id)
    assert (row.status, row.attempts, row.next_attempt_at) == (MailStatus.FAILED, 1, _naive(T0 + timedelta(minutes=1)))
    assert "ConnectionRefusedError" in row.last_error
    assert [m.id for m in failed_mail()] == [mail.id]
    # Not due before its back-off ends; the second failure waits twice as long.
    assert deliver_pending(now=T0 + timedelta(seconds=30)).failed == []
    r = deliver_pending(now=T0 + timedelta(minutes=1))
    assert r.failed == [mail.id]
    db_session.expire_all()
    assert (row.attempts, row.next_attempt_at) == (2, _naive(T0 + timedelta(minutes=3)))
    mailer.start()
    assert deliver_pending(now=T0 + timedelta(minutes=2)).sent == []
    assert deliver_pending(now=T0 + timedelta(minutes=3)).sent == [mail.id]
    assert len(mailer.wait_for(1)) == 1
    db_session.expire_all()
    assert (row.status, row.attempts) == (MailStatus.SENT, 3)
    assert failed_mail() == []


def test_a_refused_recipient_fails_alone(db_session, mailer):
    mailer.refuse.add("nobody@example.com")
    bad = queue_mail("nobody@example.com", "s", "b")
    good = queue_mail("someone@example.com", "s", "b")
    db_session.commit()
    r = deliver_pending(now=T0)
    assert (r.sent, r.failed) == ([good.id], [bad.id])
    assert "550" in r.errors[bad.id]
    assert [m.to for m in mailer.wait_for(1)] == [("someone@example.com",)]


def test_retry_now(db_session, mailer):
    mail = queue_mail("a@example.com", "s", "b")
    db_session.commit()
    mailer.stop()
    deliver_pending(now=T0)
    mailer.start()
    assert deliver_pending(now=T0).sent == []            # backing off
    assert retry_mail(mail.id).next_attempt_at is None
    db_session.commit()
    assert deliver_pending(now=T0).sent == [mail.id]
    assert retry_mail(mail.id) is None                     # sent: nothing to retry


def test_a_claimed_mail_is_left_alone_until_its_lease_ends(db_session, mailer):
    """A deliverer that died while sending leaves its row 'sending' with a lease: another one takes
    it over only after the lease (10 minutes)."""
    mail = queue_mail("a@example.com", "s", "b")
    db_session.flush()
    mail.status, mail.next_attempt_at = MailStatus.SENDING, _naive(T0 + timedelta(minutes=10))
    db_session.commit()
    assert deliver_pending(now=T0 + timedelta(minutes=9)).sent == []
    assert deliver_pending(now=T0 + timedelta(minutes=10)).sent == [mail.id]
    assert len(mailer.wait_for(1)) == 1


@pytest.mark.committed   # another connection locks the row
@pytest.mark.pg
def test_postgresql_skips_rows_locked_by_another_deliverer(db_session, mailer, database_url):
    first = queue_mail("first@example.com", "s", "b")
    second = queue_mail("second@example.com", "s", "b")
    db_session.commit()
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as other:
        other.execute(text("SELECT id FROM outbox_mail WHERE id = :id FOR UPDATE"), {"id": first.id})
        r = deliver_pending(now=T0)
        assert r.sent == [second.id]
        other.rollback()
    engine.dispose()
    assert deliver_pending(now=T0).sent == [first.id]
    assert sorted(m.to[0] for m in mailer.wait_for(2)) == ["first@example.com", "second@example.com"]


def test_sends_attachments(app, db_session, mailer):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    case = paper_case(agency, staff["clerk"], date(2024, 6, 3))
    folder = Path(app.config["UPLOAD_FOLDER"])
    (folder / "answer-letter.pdf").write_bytes(b"%PDF-1.4 test letter")
    att = Attachment(case_id=case.id, kind="letter", filename="答复书.pdf", content_type="application/pdf",
                     size=20, sha256="0" * 64, storage_path="answer-letter.pdf")
    db_session.add(att)
    db_session.flush()
    mail = queue_mail("applicant@example.com", "政府信息公开申请答复", "请查收附件。", attachment_ids=[att.id])
    db_session.commit()
    assert deliver_pending(now=T0).sent == [mail.id]
    from email import message_from_bytes
    from email.policy import default

    msg = message_from_bytes(mailer.wait_for(1)[0].raw, policy=default)
    files = [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()]
    assert files == [("答复书.pdf", b"%PDF-1.4 test letter")]


def test_enqueues_delivery_only_after_commit(app, db_session, monkeypatch):
    calls = []
    monkeypatch.setattr(outbox, "enqueue_delivery", lambda app=None: calls.append(app) or True)
    queue_mail("a@example.com", "s", "b")
    request_delivery()
    assert calls == []
    db_session.commit()
    assert len(calls) == 1
    queue_mail("b@example.com", "s", "b")
    request_delivery()
    db_session.rollback()
    db_session.commit()
    assert len(calls) == 1                  # rolled back: nothing to deliver
    request_delivery()                      # outside a transaction: at once
    assert len(calls) == 2


def test_enqueue_failure_is_logged_never_raised(app, caplog, monkeypatch):
    dead = {**app.config["CELERY"], "broker_url": "redis://127.0.0.1:1/5"}
    from config import TestConfig
    from webapp import create_app

    other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], CELERY=dead)
    with other.app_context():
        assert outbox.enqueue_delivery() is False
        db.session.remove()
        db.engine.dispose()     # close its pool now, not whenever the app is garbage-collected
    assert "could not enqueue mail delivery" in caplog.text


def test_a_digest_is_composed_when_delivered_and_keeps_its_text(db_session, mailer):
    """The sweep writes a reminder digest as what it is (kind, reader, day, the reminders pointing
    at it); the delivery composes it with the template in force, sends it and stores the text."""
    from webapp.models import EmailTemplate, Notification
    from webapp.notify.reminders import sweep

    agency = make_agency(contact=False)
    staff = make_staff(agency)
    case = paper_case(agency, staff["clerk"], date(2024, 6, 3))
    db_session.commit()
    r = sweep(date(2024, 6, 25))          # answer due 2024-07-02: 5 working days left
    db_session.commit()
    assert (r.notifications, r.mails) == (1, 1)
    mail = db_session.get(OutboxMail, r.mail_ids[0])
    assert (mail.compose, mail.subject, mail.body) == ("reminder_digest", "", "")
    note = db_session.scalar(select(Notification))
    assert (note.outbox_id, note.ref_date, note.days_left) == (mail.id, date(2024, 7, 2), 5)
    # An administrator edits the template after the sweep: the mail goes out in the new text.
    db_session.add(EmailTemplate(kind="reminder_digest", subject="提醒{{ items|length }}件（{{ today }}）",
                                 body="{% for i in items %}{{ i.case_number }}|{{ i.deadline }}|{{ i.days_text }}\n"
                                      "{% endfor %}"))
    db_session.commit()
    assert deliver_pending(now=T0).sent == [mail.id]
    got = mailer.wait_for(1)
    assert [(m.to, m.subject, m.body) for m in got] == [
        ((staff["clerk"].email,), "提醒1件（2024-06-25）", f"{case.number}|2024-07-02|还剩5个工作日\n")]
    db_session.expire_all()
    mail = db_session.get(OutboxMail, mail.id)
    assert (mail.status, mail.subject, mail.body) == (MailStatus.SENT, "提醒1件（2024-06-25）",
                                                      f"{case.number}|2024-07-02|还剩5个工作日\n")


def test_a_digest_that_cannot_be_composed_fails_visibly(db_session, mailer):
    good = queue_mail("a@example.com", "s", "b")
    bad = OutboxMail(to_addr="b@example.com", subject="", body="", compose="reminder_digest",
                     compose_args='{"user_id": 1, "today": "2024-06-25"}', status=MailStatus.PENDING)
    db_session.add(bad)
    db_session.commit()
    result = deliver_pending(now=T0)
    assert (result.sent, result.failed) == ([good.id], [bad.id])
    assert result.errors[bad.id] == f"LookupError: digest {bad.id} carries no reminders"
    assert [m.to for m in mailer.wait_for(1)] == [("a@example.com",)]
    db_session.expire_all()
    row = db_session.get(OutboxMail, bad.id)
    assert (row.status, row.attempts, row.body) == (MailStatus.FAILED, 1, "")
    assert [m.id for m in failed_mail()] == [bad.id]


def test_secrets_are_masked_in_the_outbox_once_sent(app, db_session, mailer, monkeypatch):
    """A query code goes to the applicant, but the outbox does not keep it once the mail is sent;
    until then (e.g. while the SMTP server is down) it must stay, or the mail could not be sent."""
    mail = queue_mail("zhangsan@example.com", "申请已提交 WS-1", "编号：WS-1\n查询码：ABCD-EFGH-JKMN\n",
                      secrets=["ABCD-EFGH-JKMN"])
    db_session.commit()
    assert mail.redact_after_send == "ABCD-EFGH-JKMN"
    monkeypatch.setitem(app.config, "MAIL_PORT", 1)          # nothing listens there: the attempt fails
    assert deliver_pending(now=T0).failed == [mail.id]
    db_session.expire_all()
    assert "ABCD-EFGH-JKMN" in db_session.get(OutboxMail, mail.id).body
    monkeypatch.setitem(app.config, "MAIL_PORT", mailer.port)
    assert deliver_pending(now=T0 + timedelta(hours=2)).sent == [mail.id]
    assert mailer.wait_for(1)[0].body == "编号：WS-1\n查询码：ABCD-EFGH-JKMN\n"
    db_session.expire_all()
    row = db_session.get(OutboxMail, mail.id)
    assert (row.status, row.body, row.redact_after_send) == (
        MailStatus.SENT, "编号：WS-1\n查询码：（已发送，系统不保留）\n", "")


def test_a_template_failing_on_real_data_falls_back_and_a_broken_mail_never_blocks_the_rest(
        db_session, mailer, monkeypatch):
    """An administrator's digest template that passes the check but fails on real data (days_left 0:
    a division by zero) falls back to the shipped text; a mail that cannot be built at all fails
    visibly with its error, and the mails after it still go."""
    from webapp.models import EmailTemplate
    from webapp.notify import reminders
    from webapp.notify.outbox import check_email_template

    body = "{% for i in items %}{{ 100 // i.days_left }}\n{% endfor %}"
    assert check_email_template("reminder_digest", "提醒", body) is None
    db_session.add(EmailTemplate(kind="reminder_digest", subject="提醒", body=body))
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    paper_case(agency, staff["clerk"], date(2024, 6, 3))
    db_session.commit()
    r = reminders.sweep(date(2024, 7, 2))                  # due today: days_left 0
    db_session.commit()
    assert deliver_pending(now=T0).sent == r.mail_ids
    got = mailer.wait_for(len(r.mail_ids))
    assert all(m.subject == "【政府信息公开】期限提醒：1件申请需要处理（2024-07-02）" for m in got)
    mailer.clear()

    bad = queue_mail("a@example.com", "s", "b")
    good = queue_mail("b@example.com", "s", "b")
    db_session.commit()
    real = outbox._message

    def explode(row, config):
        if row.id == bad.id:
            raise ValueError("cannot build")
        return real(row, config)

    monkeypatch.setattr(outbox, "_message", explode)
    result = deliver_pending(now=T0)
    assert (result.sent, result.failed) == ([good.id], [bad.id])
    assert result.errors[bad.id] == "ValueError: cannot build"
    assert [m.to for m in mailer.wait_for(1)] == [("b@example.com",)]
    assert [m.id for m in failed_mail()] == [bad.id]
