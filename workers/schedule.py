"""The whole beat schedule, in one place. Crontabs are read in the app's time zone, Asia/Shanghai.

Every periodic task is idempotent (notifications and mails are keyed), so a second beat, a missed
tick caught up later, or a manual run never sends anything twice. ``expires`` drops ticks that
waited in the queue longer than their interval (e.g. while no worker ran): the next tick does the
same work from the clock.

The weekly reminders (the holiday notice from 1 November, the annual report until it is final) run
daily and carry the week in their key: one reminder a week, counted from their start day, and a
missed day is caught up the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from celery.schedules import crontab

SWEEP = "reminders.sweep"
MORNING_DIGEST = "reminders.morning_digest"
DELIVER = "outbox.deliver"
YEAR_CLOSE = "year.close"
REPORT_REMINDER = "reports.final_reminder"
HOLIDAY_WATCH = "calendar.holiday_watch"
APPLICANT_NOTICES = "applicants.notices"
PUBLIC_HOUSEKEEPING = "applicants.housekeeping"
REPORT_REFRESH = "reports.refresh"
#: REPORT_REFRESH_SECONDS's default (config.py; reporting/services/report_cache.py)
REPORT_REFRESH_DEFAULT = 30


def beat_schedule(config: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The schedule; ``config`` (the Flask config) gives REPORT_REFRESH_SECONDS (0: no refresh)."""
    refresh = int((config or {}).get("REPORT_REFRESH_SECONDS", REPORT_REFRESH_DEFAULT))
    return {
        # Deadline reminders, from the clock (issue 4).
        "reminders-sweep": {"task": SWEEP, "schedule": crontab(minute="*/15"),
                            "options": {"expires": 14 * 60}},
        # Each person's agenda of the day.
        "reminders-morning-digest": {"task": MORNING_DIGEST, "schedule": crontab(hour=8, minute=30),
                                     "options": {"expires": 2 * 3600}},
        # Safety net: delivery is enqueued after every commit that wrote mail; this catches up when
        # enqueueing failed (Redis down) or a mail is due for a retry.
        "outbox-deliver": {"task": DELIVER, "schedule": crontab(minute="*"), "options": {"expires": 55}},
        # Year close-out for every agency, 1 January 00:10 (report.md, "Year close-out"); again each
        # day of January for the agencies not closed yet, so a 1 January without a worker is caught up.
        "year-close": {"task": YEAR_CLOSE,
                       "schedule": crontab(minute=10, hour=0, month_of_year=1),
                       "kwargs": {"missing_only": True}, "options": {"expires": 20 * 3600}},
        # Weekly to the report owners while last year's report is not final (due 31 January).
        "annual-report-reminder": {"task": REPORT_REMINDER, "schedule": crontab(hour=9, minute=0),
                                   "options": {"expires": 6 * 3600}},
        # Weekly from 1 November while next year's holiday notice is missing (rules.md §1).
        "holiday-notice-watch": {"task": HOLIDAY_WATCH, "schedule": crontab(hour=9, minute=5),
                                 "options": {"expires": 6 * 3600}},
        # Applicant notices whose hook failed or waited for the letter (exactly once, keyed).
        "applicant-notices": {"task": APPLICANT_NOTICES, "schedule": crontab(minute="*/10"),
                              "options": {"expires": 9 * 60}},
        # Failed status look-ups older than a day; files under UPLOAD_FOLDER no row holds (a day old).
        "public-housekeeping": {"task": PUBLIC_HOUSEKEEPING, "schedule": crontab(hour=3, minute=20),
                                "options": {"expires": 6 * 3600}},
        # The report cache kept warm: the reports viewed recently whose agencies changed are computed
        # ahead of their next view (reporting/services/report_refresh.py).
        **({"report-refresh": {"task": REPORT_REFRESH, "schedule": timedelta(seconds=refresh),
                               "options": {"expires": max(refresh - 5, 1)}}} if refresh > 0 else {}),
    }
