"""The Celery wiring without a worker process: settings, the beat schedule, tasks run in an app
context (eagerly, through the same Task class), and the `flask reminders` / `flask outbox` commands."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

from celery.schedules import crontab
from sqlalchemy import func, select

from config import TestConfig
from tests.factories import make_agency, make_staff, paper_case
from webapp import create_app
from webapp.models import Notification, OutboxMail, ReportVersion
from workers import schedule
from workers.celery_app import celery_for, celery_settings


def test_settings_json_only_shanghai_and_broker_from_config(app):
    conf = celery_settings(app)
    assert (conf["task_serializer"], conf["result_serializer"]) == ("json", "json")
    assert conf["accept_content"] == ["json"] and conf["result_accept_content"] == ["json"]
    assert conf["timezone"] == "Asia/Shanghai"
    assert conf["broker_url"] == app.config["CELERY"]["broker_url"]
    assert conf["task_default_queue"] == "disclosure"
    assert conf["include"] == ["workers.tasks.reminders", "workers.tasks.outbox", "workers.tasks.applicants",
                               "workers.tasks.reports"]
    redis_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://",
                           CELERY={**TestConfig.CELERY, "broker_url": "redis://127.0.0.1:6379/5"})
    opts = celery_settings(redis_app)["broker_transport_options"]
    assert (opts["visibility_timeout"], opts["max_retries"], opts["socket_connect_timeout"]) == (3600, 1, 3)


def test_embedded_defaults_use_the_sqlite_broker():
    from config import INSTANCE_DIR, _celery_settings

    conf = _celery_settings(None)
    assert conf["broker_url"] == f"sqla+sqlite:///{INSTANCE_DIR / 'celery-broker.db'}"
    assert _celery_settings("redis://127.0.0.1:6379/0")["broker_url"] == "redis://127.0.0.1:6379/0"


def test_importing_the_worker_module_builds_nothing():
    module = importlib.import_module("workers.celery_app")
    assert module._worker_app is None   # built only when `celery -A` asks for .app


def test_the_whole_beat_schedule():
    s = schedule.beat_schedule()
    assert {k: v["task"] for k, v in s.items()} == {
        "reminders-sweep": "reminders.sweep", "reminders-morning-digest": "reminders.morning_digest",
        "outbox-deliver": "outbox.deliver", "year-close": "year.close",
        "annual-report-reminder": "reports.final_reminder", "holiday-notice-watch": "calendar.holiday_watch",
        "applicant-notices": "applicants.notices", "public-housekeeping": "applicants.housekeeping",
        "report-refresh": "reports.refresh",
    }
    sweep_ = s["reminders-sweep"]["schedule"]
    assert isinstance(sweep_, crontab) and sweep_.minute == {0, 15, 30, 45} and len(sweep_.hour) == 24
    digest = s["reminders-morning-digest"]["schedule"]
    assert (digest.hour, digest.minute) == ({8}, {30})
    assert len(s["outbox-deliver"]["schedule"].minute) == 60
    close = s["year-close"]["schedule"]
    assert (close.month_of_year, close.hour, close.minute) == ({1}, {0}, {10})     # 00:10 every day of January
    assert len(close.day_of_month) == 31 and s["year-close"]["kwargs"] == {"missing_only": True}
    for key in ("annual-report-reminder", "holiday-notice-watch"):   # daily; weekly by their keys
        assert len(s[key]["schedule"].day_of_week) == 7
    assert s["applicant-notices"]["schedule"].minute == {0, 10, 20, 30, 40, 50}
    housekeeping = s["public-housekeeping"]["schedule"]
    assert (housekeeping.hour, housekeeping.minute) == ({3}, {20})
    assert s["report-refresh"]["schedule"] == timedelta(seconds=30)      # REPORT_REFRESH_SECONDS's default
    assert s["report-refresh"]["options"] == {"expires": 25}
    assert all("expires" in v["options"] for v in s.values())
    every_minute = schedule.beat_schedule({"REPORT_REFRESH_SECONDS": 60})["report-refresh"]
    assert (every_minute["schedule"], every_minute["options"]) == (timedelta(seconds=60), {"expires": 55})
    assert "report-refresh" not in schedule.beat_schedule({"REPORT_REFRESH_SECONDS": 0})     # off


def test_every_scheduled_task_is_registered(app):
    celery = celery_for(app)
    celery.loader.import_default_modules()
    for entry in schedule.beat_schedule().values():
        assert entry["task"] in celery.tasks


def test_public_housekeeping_task_forgets_old_lookup_failures(app, db_session):
    from datetime import datetime, timedelta

    from webapp.models import LookupFailure

    old = datetime.now() - timedelta(days=2)  # noqa: DTZ005 - stored naive UTC-ish, only its age matters
    db_session.add(LookupFailure(number="WS-X-1", remote_addr="127.0.0.1", at=old))
    db_session.commit()
    db_session.remove()
    out = _eager(app, "applicants.housekeeping")
    assert out["lookup_failures"] == 1
    assert db_session.scalar(select(func.count(LookupFailure.id))) == 0


def _eager(app, name: str, **kwargs):
    celery = celery_for(app)
    celery.loader.import_default_modules()
    return celery.tasks[name].apply(kwargs=kwargs).get()


def test_sweep_task_runs_in_an_app_context_and_commits(app, db_session):
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    paper_case(agency, staff["clerk"], date(2024, 6, 3))
    db_session.commit()
    db_session.remove()
    out = _eager(app, "reminders.sweep", today="2024-07-02")
    assert (out["notifications"], out["mails"], out["by_kind"]) == (2, 2, {"answer_due_today": 2})
    assert _eager(app, "reminders.sweep", today="2024-07-02")["notifications"] == 0
    assert db_session.scalar(select(func.count(Notification.id))) == 2
    assert db_session.scalar(select(func.count(OutboxMail.id))) == 2


def test_report_refresh_task_computes_a_viewed_report_after_a_change(app, db_session):
    """The beat's task runs the refresh (reporting/services/report_refresh.py) in an app context."""
    from webapp.reporting.services.report_cache import cached_report

    gov = make_agency("WG", "某区人民政府", kind="government", contact=False)
    dept = make_agency("WD", "某区商务局", parent_id=gov.id, contact=False)
    cached_report([gov, dept], 2024, per_agency={})
    db_session.commit()
    paper_case(dept, None, date(2024, 6, 3))
    db_session.commit()
    db_session.remove()
    assert _eager(app, "reports.refresh") == {"viewed": 1, "refreshed": 1}
    assert _eager(app, "reports.refresh", limit=5) == {"viewed": 1, "refreshed": 0}


def test_close_year_task_calls_the_close_out_idempotently(app, db_session):
    agency = make_agency(contact=False)
    agency.created_at = agency.created_at.replace(year=2023)
    db_session.commit()
    db_session.remove()
    assert _eager(app, "year.close", year=2024, today="2025-01-01") == {"year": 2024, "versions": 1}
    assert _eager(app, "year.close", today="2025-01-01") == {"year": 2024, "versions": 0}
    assert db_session.scalar(select(func.count(ReportVersion.id))) == 1


def test_the_daily_january_run_catches_up_a_missed_close_out(app, db_session):
    """No worker ran on 1 January: the run of 3 January closes the year; the agencies already
    closed are left as they are."""
    make_agency(contact=False)
    make_agency("JYJ", "某区教育局", contact=False)
    db_session.commit()
    db_session.remove()
    assert _eager(app, "year.close", today="2025-01-03", missing_only=True) == {"year": 2024, "versions": 2}
    assert _eager(app, "year.close", today="2025-01-04", missing_only=True) == {"year": 2024, "versions": 0}
    assert db_session.scalar(select(func.count(ReportVersion.id))) == 2


def test_cli_sweep_and_deliver(app, cli, db_session, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    agency = make_agency(contact=False)
    staff = make_staff(agency)
    paper_case(agency, staff["clerk"], date(2024, 6, 3))
    db_session.commit()
    result = cli.invoke(args=["reminders", "sweep", "--date", "2024-07-02"])
    assert result.exit_code == 0, result.output
    assert "1 items, 2 new notifications, 2 mails" in result.output
    assert "answer_due_today: 2" in result.output
    again = cli.invoke(args=["reminders", "sweep", "--date", "2024-07-02"])
    assert "0 new notifications, 0 mails" in again.output
    result = cli.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0 and "outbox: 2 sent, 0 failed" in result.output
    assert sorted(m.to[0] for m in smtp.wait_for(2)) == [staff["approver"].email, staff["clerk"].email]
    assert cli.invoke(args=["outbox", "failed"]).output.strip() == "0 undelivered"
    bad = cli.invoke(args=["reminders", "sweep", "--date", "2024-13-01"])
    assert bad.exit_code == 1 and "--date must be a date" in bad.output
    assert cli.invoke(args=["reminders", "digest", "--date", "2024-07-02"]).output.startswith("morning digest: 2 mails")
    assert "holiday notice watch: 0" in cli.invoke(args=["reminders", "holiday-watch", "--date", "2024-07-02"]).output


def test_cli_deliver_reports_failures(app, cli, db_session, monkeypatch):
    from .conftest import free_port

    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    from webapp.notify.outbox import queue_mail

    queue_mail("a@example.com", "s", "b")
    db_session.commit()
    result = cli.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 1 and "outbox: 0 sent, 1 failed" in result.output
    assert "1 undelivered" in cli.invoke(args=["outbox", "failed"]).output
