"""Reminder, report and calendar tasks. Each: one service call, commit, then (only after the commit
succeeded) enqueue delivery of the mail it wrote; an enqueue failure is logged, and the beat safety
net delivers the mail later."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from celery import shared_task
from sqlalchemy.exc import OperationalError

from webapp.extensions import db
from webapp.timeutil import today_shanghai
from workers import schedule

log = logging.getLogger(__name__)

# Idempotent tasks: acknowledged after they ran, so a task whose worker died is run again.
IDEMPOTENT: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True,
                              "autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 3}


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else today_shanghai()


def _commit_then_deliver(wrote_mail: bool) -> None:
    db.session.commit()
    if wrote_mail:
        from webapp.notify.outbox import enqueue_delivery

        enqueue_delivery()


@shared_task(name=schedule.SWEEP, **IDEMPOTENT)
def sweep_task(today: str | None = None) -> dict[str, Any]:
    """The reminder sweep as of ``today`` (ISO date; default: today in Asia/Shanghai)."""
    from webapp.notify.reminders import sweep

    result = sweep(_day(today))
    _commit_then_deliver(result.mails > 0)
    log.info("sweep %s: %s new notifications, %s mails", result.key, result.notifications, result.mails)
    return result.as_dict()


@shared_task(name=schedule.MORNING_DIGEST, **IDEMPOTENT)
def morning_digest_task(today: str | None = None) -> dict[str, Any]:
    from webapp.notify.reminders import morning_digest

    n = morning_digest(_day(today))
    _commit_then_deliver(n > 0)
    return {"mails": n}


@shared_task(name=schedule.REPORT_REMINDER, **IDEMPOTENT)
def report_reminder_task(today: str | None = None) -> dict[str, Any]:
    from webapp.notify.reminders import annual_report_reminders

    n = annual_report_reminders(_day(today))
    _commit_then_deliver(n > 0)
    return {"notifications": n}


@shared_task(name=schedule.HOLIDAY_WATCH, **IDEMPOTENT)
def holiday_watch_task(today: str | None = None) -> dict[str, Any]:
    from webapp.notify.holiday_watch import holiday_watch

    n = holiday_watch(_day(today))
    _commit_then_deliver(n > 0)
    return {"notifications": n}


@shared_task(name=schedule.YEAR_CLOSE, **IDEMPOTENT)
def close_year_task(year: int | None = None, today: str | None = None, missing_only: bool = False) -> dict[str, Any]:
    """Close ``year`` (default: the year that just ended) for every agency; idempotent.
    ``missing_only`` (the daily January run): only the agencies not closed yet, so a missed
    1 January is caught up the next day a worker runs, and a mend made since never makes a version
    by itself (re-closing after a mend is the owner's ``flask year close``)."""
    from webapp.reporting.services.closeout import close_missing_years, close_year

    day = _day(today)
    year = int(year) if year is not None else day.year - 1
    versions = close_missing_years(year, today=day) if missing_only else close_year(year, today=day)
    db.session.commit()
    log.info("year %s closed: %s new report versions", year, len(versions))
    return {"year": year, "versions": len(versions)}
