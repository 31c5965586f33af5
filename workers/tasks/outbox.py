"""Mail delivery from the outbox (notify/outbox/)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from workers import schedule

from .reminders import IDEMPOTENT


@shared_task(name=schedule.DELIVER, **IDEMPOTENT)
def deliver_outbox_task(limit: int = 200) -> dict[str, Any]:
    """Send what is due; when the batch was full, enqueue the next one."""
    from webapp.notify.outbox import deliver_pending, enqueue_delivery

    result = deliver_pending(limit=int(limit))
    if len(result.sent) + len(result.failed) >= int(limit) and not result.failed:
        enqueue_delivery()
    return result.as_dict()
