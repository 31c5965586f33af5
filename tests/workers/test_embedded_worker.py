"""Embedded mode: `celery -A workers.celery_app worker` with no Redis and no PostgreSQL, on the SQLite
broker beside a SQLite database (what `make run` starts)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
from celery import Celery
from sqlalchemy import select

from config import TestConfig
from tests.factories import make_agency, make_staff, paper_case
from webapp import create_app
from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import OutboxMail

from .conftest import MailSink, WorkerProcess, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_embedded_mode_worker_on_the_sqlite_broker(tmp_path, smtp):
    data = f"sqlite:///{tmp_path / 'data.db'}"
    broker = f"sqla+sqlite:///{tmp_path / 'celery-broker.db'}"
    embedded = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=data)
    with embedded.app_context():
        db.create_all()
        agency = make_agency(contact=False)
        staff = make_staff(agency)
        case = paper_case(agency, staff["clerk"], date(2024, 6, 3))
        db.session.commit()
        case_number = case.number
        emails = sorted([staff["clerk"].email, staff["approver"].email])
        db.session.remove()
    env = worker_env(data, None, smtp.port, "disclosure", CELERY_BROKER_URL=broker,
                     CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'celery-results.db'}")
    worker = WorkerProcess(env, "disclosure", tmp_path / "worker.log")
    worker.start()
    try:
        client = Celery("tests", broker=broker, backend=f"db+sqlite:///{tmp_path / 'celery-results.db'}",
                        set_as_current=False)
        client.conf.update(task_serializer="json", accept_content=["json"], task_default_queue="disclosure")
        result = client.send_task("reminders.sweep", kwargs={"today": "2024-07-02"}, ignore_result=False)
        summary = result.get(timeout=60)
        assert (summary["notifications"], summary["mails"]) == (2, 2)
        mails = smtp.wait_for(2)
        assert sorted(m.to[0] for m in mails) == emails
        assert all(re.findall(r"】(SWJ-2024-\d{4})", m.body) == [case_number] for m in mails)
    finally:
        worker.stop()
    with embedded.app_context():
        assert Counter(db.session.scalars(select(OutboxMail.status))) == {MailStatus.SENT: 2}
        db.session.remove()
        db.engine.dispose()


def test_mail_sink_restarts_on_its_port():
    sink = MailSink()
    sink.start()
    port = sink.port
    sink.stop()
    sink.start()
    assert sink.port == port and sink.running
    sink.stop()
