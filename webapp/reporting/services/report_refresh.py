"""The report cache kept warm: the periodic job (workers/tasks/reports.py, every REPORT_REFRESH_SECONDS)
that computes, ahead of their next view, the reports viewed recently whose agencies have changed.

A report view leaves a mark in ``report_cache`` (report_cache.py: the report's agencies, year and
summary flag, the time of its last view). ``refresh_viewed`` reads the marks of the last
REPORT_REFRESH_VIEWED_SECONDS, most recent first (at most REPORT_CACHE_ROWS: they are rows of the
cache); reads their agencies' rows
and stamps (one statement each, for all of them) and the entries their keys name (one statement); and
computes each report whose entry is missing, at most ``limit`` a run, through ``cached_report`` itself
(unmarked: the job's own work never keeps a report marked), each in a transaction of its own. After
one department's change that is the department's part and the consolidated sum (report_cache.py), so
the first view after the job's run reads the report as any later view does, whatever the department's
size.

Idempotent: a second run finds every entry present and computes nothing. Two runs at once (two
workers, a second beat) may compute the same report: the entries are inserted ``ON CONFLICT DO
NOTHING`` (the second waits for the first's commit, then inserts nothing) and the prune skips rows
another transaction holds, so neither fails and no entry is doubled. Without a worker or a broker
nothing is refreshed and the views compute as before.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.models import Agency, ReportCache
from webapp.timeutil import now_utc

from .report_cache import (
    DEFAULT_REFRESH_SECONDS,
    DEFAULT_SECONDS,
    DEFAULT_VIEWED_SECONDS,
    MARK,
    _as_read,
    _setting,
    cache_key,
    cached_report,
)
from .stamps import stamps_of

log = logging.getLogger(__name__)

#: The most reports one run looks at (the most recently viewed first).
DEFAULT_LIMIT = 20


def refresh_viewed(limit: int = DEFAULT_LIMIT) -> dict[str, int]:
    """Compute the recently viewed reports missing under their agencies' current stamps; commits after
    each. Returns how many reports were looked at (``viewed``) and computed (``refreshed``)."""
    seconds = _setting("REPORT_CACHE_SECONDS", DEFAULT_SECONDS)
    viewed = min(_setting("REPORT_REFRESH_VIEWED_SECONDS", DEFAULT_VIEWED_SECONDS), seconds)
    if seconds <= 0 or viewed <= 0 or _setting("REPORT_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS) <= 0:
        return {"viewed": 0, "refreshed": 0}
    now = now_utc().replace(tzinfo=None)
    marks = db.session.scalars(select(ReportCache.data)
                               .where(ReportCache.key.startswith(MARK, autoescape=True),
                                      ReportCache.created_at >= now - timedelta(seconds=viewed))
                               .order_by(ReportCache.created_at.desc(), ReportCache.key)).all()
    scopes: list[dict[str, Any]] = [json.loads(m) for m in marks]
    ids = sorted({i for s in scopes for i in s["agencies"]})
    if not ids:
        db.session.commit()
        return {"viewed": 0, "refreshed": 0}
    rows = {a.id: a for a in db.session.scalars(select(Agency).where(Agency.id.in_(ids)))}
    stamps = stamps_of(ids)
    wanted: list[tuple[str, list[Agency], dict[str, Any]]] = []
    for scope in scopes:
        if not all(i in rows for i in scope["agencies"]):      # an agency deleted since: not viewable as it was
            continue
        chosen = [rows[i] for i in scope["agencies"]]
        key = cache_key(chosen, scope["year"], scope["summary"], {i: stamps[i] for i in scope["agencies"]},
                        {a.id: _as_read(a) for a in chosen})
        wanted.append((key, chosen, scope))
    fresh = ReportCache.created_at >= now - timedelta(seconds=seconds)
    present = set(db.session.scalars(select(ReportCache.key)
                                     .where(ReportCache.key.in_([k for k, _, _ in wanted]), fresh)))
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False    # the rows stay loaded across commits
    refreshed = 0
    try:
        db.session.commit()     # the reads' transaction ended; each report computed in one of its own
        for key, chosen, scope in wanted:
            if key in present:
                continue
            if refreshed >= limit:      # the rest at the next run (the most recently viewed first)
                break
            try:
                cached_report(chosen, scope["year"], per_agency={} if scope["summary"] else None, mark=False)
                db.session.commit()
            except SQLAlchemyError as e:     # this report waits for its next view; the others go on
                db.session.rollback()
                log.warning("report refresh: %s %s not computed: %s", scope["year"], scope["agencies"], e)
                continue
            refreshed += 1
    finally:
        session.expire_on_commit = expire
    return {"viewed": len(wanted), "refreshed": refreshed}
