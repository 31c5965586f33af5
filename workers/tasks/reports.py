"""The report cache kept warm (reporting/services/report_refresh.py)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from workers import schedule

from .reminders import IDEMPOTENT


@shared_task(name=schedule.REPORT_REFRESH, **IDEMPOTENT)
def refresh_reports_task(limit: int | None = None) -> dict[str, Any]:
    """Compute the recently viewed reports whose agencies changed, ahead of their next view (each
    committed on its own; idempotent, safe beside another run)."""
    from webapp.reporting.services.report_refresh import DEFAULT_LIMIT, refresh_viewed

    return refresh_viewed(int(limit) if limit is not None else DEFAULT_LIMIT)
