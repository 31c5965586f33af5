"""The applicant side's housekeeping (notify/applicant_notices.py, public/services/)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from webapp.extensions import db
from workers import schedule

from .reminders import IDEMPOTENT


@shared_task(name=schedule.APPLICANT_NOTICES, **IDEMPOTENT)
def applicant_notices_task() -> dict[str, Any]:
    """Write the applicant notices still missing (e.g. a hook that failed); delivery follows."""
    from webapp.notify.applicant_notices import sweep_applicant_notices
    from webapp.notify.outbox import request_delivery

    n = sweep_applicant_notices()
    db.session.commit()
    if n:
        request_delivery()
    return {"notices": n}


@shared_task(name=schedule.PUBLIC_HOUSEKEEPING, **IDEMPOTENT)
def public_housekeeping_task() -> dict[str, Any]:
    """Forget failed status look-ups older than a day and past days' upload counts; delete files
    under UPLOAD_FOLDER that no row holds (public/services/uploads.clean_orphans)."""
    from webapp.public.services import purge_lookup_failures, purge_unreferenced_files
    from webapp.public.services.uploads import purge_usage

    failures = purge_lookup_failures()
    purge_usage()
    db.session.commit()
    files = purge_unreferenced_files()
    return {"lookup_failures": failures, "files": files}
