"""The built report, cached in the database (``report_cache``) under its agencies' change stamps.

The key: the sorted agency ids each with its stamp (reporting/services/stamps.py: raised by the
database on every change of what the agency's report reads) and with the agency's own values as this
request read them (every column: build_report reads its code, name, kind and report policies from
the Agency rows loaded before the stamps are read, so a change committed between the two reads gives
a key of its own, not the new stamp's), the year, whether the per-agency summary was asked for,
REPORT_FORMAT and CACHE_VERSION (which includes a digest of the counting code: the modules of
reporting/services and domain/, so that a deployment that changes a counting rule never serves the
old code's figures). A change to any of the agencies gives a new key, so an
entry is never invalidated, only left behind: entries older than REPORT_CACHE_SECONDS are neither read
nor kept, and at most REPORT_CACHE_ROWS are kept (the oldest go first), pruned when an entry is stored.

A consolidated report (several agencies) that is not stored is assembled from per-agency **parts**
(parts.py: an agency's figures, from which the consolidated report follows exactly as build_report
computes it), each an entry of its own keyed by its agency's stamp and row alone (``part_key``): after
one agency's change the next view computes that agency's part (one report statement over its cases
only), reads the others' and adds them up; all missing parts are computed together in one statement
(after the cache was emptied or the code changed: all of them, about build_report's cost). A
consolidated report so keeps one entry per agency besides its own.

The stamps are read before the figures: an entry holds figures at least as new as its key's stamps.
The entry is written in the request's own transaction, so it is committed (or rolled back) with
whatever that transaction changed, and a table shared by every process of the service (several
gunicorn workers) without another server to run. Storing is best-effort: a failure (inside a
savepoint) is logged and the report is served as computed.

**Views are marked, and a background job keeps what was viewed ready** (report_refresh.py): a view
reads, with its entry, the report's *mark*, an entry of its own whose key is ``MARK`` and a digest of
the report's agencies, year and summary flag alone (no stamps), whose data names them and whose
created_at is when the report was last viewed; a view writes it when it is missing or older than half
of REPORT_REFRESH_VIEWED_SECONDS (so a report viewed all day writes it twice an hour at most). The
periodic job finds the reports marked within REPORT_REFRESH_VIEWED_SECONDS whose entries are missing
under their agencies' current stamps and computes them here, through ``cached_report`` (unmarked), so
that the first view after a change finds the report stored. REPORT_REFRESH_SECONDS = 0: no marks.

The value is build_report's JSON as text (a JSON column of PostgreSQL would reorder the keys, and
the JSON download must be byte for byte what build_report gives). ``flask report`` and the backup
do not use the cache (their outputs are build_report's, computed); the report pages and their
downloads do.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.models import Agency, ReportCache
from webapp.timeutil import now_utc

from .build import build_report
from .parts import compute_parts, merge
from .stamps import stamps_of
from .tables import REPORT_FORMAT

log = logging.getLogger(__name__)

WEBAPP = Path(__file__).resolve().parents[2]


def _code_digest(root: Path = WEBAPP) -> str:
    """A digest of the counting code's source under ``root`` (webapp/): reporting/services and domain/
    (a deployment that changes either keys every report anew)."""
    h = hashlib.sha256()
    for path in sorted([*(root / "reporting" / "services").glob("*.py"), *(root / "domain").glob("*.py")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


#: The format of an entry (raise when what is stored changes shape) and the counting code's digest.
CACHE_VERSION = f"1-{_code_digest()}"
DEFAULT_SECONDS = 86400
DEFAULT_ROWS = 2000
#: The background refresh (report_refresh.py): its period (0: off, no marks) and how long after its
#: last view a report is kept ready.
DEFAULT_REFRESH_SECONDS = 30
DEFAULT_VIEWED_SECONDS = 8 * 3600
#: A mark's key begins so (a report's or part's key is 64 hex digits: never this).
MARK = "seen-"


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def _as_read(agency: Agency) -> list:
    """The agency row itself as this request loaded it (build_report reads its code, name, kind and
    policies; every column is in the key, so that none is missed)."""
    return [agency.id, *(getattr(agency, c.key) for c in Agency.__mapper__.column_attrs if c.key != "id")]


def cache_key(agencies: Sequence[Agency], year: int, with_summary: bool,
              stamps: dict[int, list[int]] | None = None, read: dict[int, list] | None = None) -> str:
    """The entry's key: the stamps are read here (before the figures) unless given (``read``: the
    agencies' rows by _as_read, if already taken)."""
    stamps = stamps_of([a.id for a in agencies]) if stamps is None else stamps
    rows = sorted((read[a.id] if read else _as_read(a) for a in agencies), key=lambda r: r[0])
    raw = json.dumps([CACHE_VERSION, REPORT_FORMAT, year, with_summary, sorted(stamps.items()), rows],
                     sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def part_key(row: list, year: int, stamp: list[int]) -> str:
    """The key of one agency's part of a consolidated report (parts.py): its row (_as_read) and stamp."""
    raw = json.dumps([CACHE_VERSION, REPORT_FORMAT, "part", year, stamp, row],
                     sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def scope_of(agencies: Sequence[Agency], year: int, with_summary: bool) -> dict[str, Any]:
    """What a mark names: the report's agencies (ids, sorted), year and summary flag."""
    return {"agencies": sorted({a.id for a in agencies}), "year": year, "summary": with_summary}


def mark_key(scope: dict[str, Any]) -> str:
    """The key of a report's mark (the report whatever its stamps)."""
    raw = json.dumps(["seen", scope["year"], scope["summary"], scope["agencies"]])
    return MARK + hashlib.sha256(raw.encode()).hexdigest()[:64 - len(MARK)]


def cached_report(agencies: Sequence[Agency], year: int,
                  per_agency: dict[int, dict[str, int]] | None = None, mark: bool = True) -> dict[str, Any]:
    """build_report(agencies, year, per_agency), from the cache when the agencies have not changed since
    it was stored; computed and stored otherwise. Equal to build_report's, value for value. A
    consolidated report that is not stored is assembled from its agencies' parts (parts.py), each
    read from the cache under its own agency's stamp or computed (all missing ones in one statement)
    and stored. ``mark``: the view is recorded in the report's mark (the background refresh does not)."""
    seconds = _setting("REPORT_CACHE_SECONDS", DEFAULT_SECONDS)
    if seconds <= 0:
        return build_report(agencies, year, per_agency=per_agency)
    stamps = stamps_of([a.id for a in agencies])
    read = {a.id: _as_read(a) for a in agencies}
    key = cache_key(agencies, year, per_agency is not None, stamps, read)
    now = now_utc().replace(tzinfo=None)     # stored naive, in UTC (models/_types.utcnow)
    fresh = ReportCache.created_at >= now - timedelta(seconds=seconds)
    viewed = _setting("REPORT_REFRESH_VIEWED_SECONDS", DEFAULT_VIEWED_SECONDS)
    scope = scope_of(agencies, year, per_agency is not None)
    marked = mark and _setting("REPORT_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS) > 0 and viewed > 0
    keys = [key, mark_key(scope)] if marked else [key]
    rows = {k: (data, at) for k, data, at in db.session.execute(
        select(ReportCache.key, ReportCache.data, ReportCache.created_at).where(ReportCache.key.in_(keys), fresh))}
    renew = None    # the mark, when missing or older than half the window
    if marked and (keys[1] not in rows or rows[keys[1]][1] < now - timedelta(seconds=viewed / 2)):
        renew = (keys[1], json.dumps(scope))
    if key in rows:
        if renew:
            _store([], year, now, seconds, renew)
        stored = json.loads(rows[key][0])
        if per_agency is not None:
            per_agency.update({int(k): v for k, v in stored["per_agency"].items()})
        return stored["report"]
    counted: dict[int, dict[str, int]] | None = {} if per_agency is not None else None
    entries: list[tuple[str, str]] = []
    if len(stamps) > 1:
        report = _from_parts(agencies, year, stamps, read, counted, fresh, entries)
    else:
        report = build_report(agencies, year, per_agency=counted)
    if counted is not None:
        per_agency.update(counted)
    entries.append((key, json.dumps({"report": report, "per_agency": counted}, ensure_ascii=False)))
    _store(entries, year, now, seconds, renew)
    return report


def _from_parts(agencies: Sequence[Agency], year: int, stamps: dict[int, list[int]], read: dict[int, list],
                per_agency: dict[int, dict[str, int]] | None, fresh, entries: list[tuple[str, str]]) -> dict[str, Any]:
    """The consolidated report from its agencies' parts: those stored under the stamps read (one
    statement), the others computed (one report statement for all of them) and added to ``entries``."""
    rows = {a.id: a for a in agencies}
    keys = {aid: part_key(read[aid], year, stamps[aid]) for aid in rows}
    found = dict(db.session.execute(select(ReportCache.key, ReportCache.data)
                                    .where(ReportCache.key.in_(sorted(keys.values())), fresh)).all())
    parts = {aid: json.loads(found[k]) for aid, k in keys.items() if k in found}
    missing = [a for aid, a in rows.items() if aid not in parts]
    if missing:
        computed = compute_parts(missing, year)
        parts.update(computed)
        entries += [(keys[aid], json.dumps(part, ensure_ascii=False)) for aid, part in sorted(computed.items())]
    return merge(agencies, year, parts, per_agency)


def _store(entries: list[tuple[str, str]], year: int, now, seconds: int, mark: tuple[str, str] | None = None) -> None:
    """``entries`` inserted (an existing key is left as it is: the same figures), ``mark`` inserted or
    its time moved to ``now``; the expired and the oldest beyond REPORT_CACHE_ROWS pruned."""
    from sqlalchemy.dialects import postgresql, sqlite

    rows = _setting("REPORT_CACHE_ROWS", DEFAULT_ROWS)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    try:
        with db.session.begin_nested():
            # pruning takes only entries no other request is pruning (SKIP LOCKED on PostgreSQL; SQLite
            # has one writer): concurrent misses neither queue behind each other's locks until their
            # commits nor deadlock on overlapping sets of old entries
            expired = (select(ReportCache.key).where(ReportCache.created_at < now - timedelta(seconds=seconds))
                       .with_for_update(skip_locked=True))
            db.session.execute(delete(ReportCache).where(ReportCache.key.in_(expired)))
            if entries:
                db.session.execute(*_insert(insert, dialect, entries, year, now))
            if mark is not None:
                stmt = insert(ReportCache).values(key=mark[0], year=year, data=mark[1], created_at=now)
                db.session.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                                              set_={"created_at": stmt.excluded.created_at}))
            oldest = (select(ReportCache.key).order_by(ReportCache.created_at.desc(), ReportCache.key)
                      .offset(max(rows, 1)).with_for_update(skip_locked=True))
            db.session.execute(delete(ReportCache).where(ReportCache.key.in_(oldest)))
    except SQLAlchemyError as e:     # the report is served as computed
        log.warning("report cache: entry not stored: %s", e)


def _insert(insert, dialect: str, entries: list[tuple[str, str]], year: int, now) -> tuple:
    """The statement storing ``entries`` (a report and any parts), and its parameters. PostgreSQL: one
    statement of the same text for any number of entries, the entries as one JSON text (a VALUES list
    of 52 rows costs ~5 ms to compile, executemany a round trip each, a text[] array ~4 ms of quoting)."""
    if dialect == "postgresql" and len(entries) > 1:
        return (text("INSERT INTO report_cache (key, year, data, created_at) "
                     "SELECT e ->> 0, :year, e ->> 1, :now FROM json_array_elements(CAST(:entries AS json)) AS e "
                     "ON CONFLICT (key) DO NOTHING"),
                {"year": year, "now": now, "entries": json.dumps(entries, ensure_ascii=False)})
    return (insert(ReportCache).values([{"key": key, "year": year, "data": data, "created_at": now}
                                        for key, data in entries]).on_conflict_do_nothing(index_elements=["key"]),)
