"""bench/province.py's report pages: the report cache emptied, one agency's change, the view after it
with and without the background refresh's run (reporting/services/report_refresh.py)."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

from sqlalchemy import text

#: The report pages' "after one agency's change": the agencies whose stamp is raised before each view
#: (the consolidated report: a small department and the largest; an agency's report: its own).
CHANGED = {"consolidated report": ("PV050", "PV001")}


def empty_report_cache(app) -> None:
    """The report cache emptied (reporting/services/report_cache.py): the next report view computes.
    Then vacuumed: autovacuum is off on the bench server, and the dead rows every emptying leaves made
    the cache's own statements slower run after run (5,800 dead rows for 67 live ones)."""
    from webapp.extensions import db
    from webapp.models import ReportCache

    with app.app_context():
        db.session.execute(ReportCache.__table__.delete())
        db.session.commit()
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM report_cache"))


def bump_stamp(app, code: str) -> None:
    """One agency's change as the report cache sees it: its change stamp raised (report_stamp, what the
    triggers do at the commit of any change to a row its report reads; reporting/services/stamps.py).
    No figure changes: only the keys of the cached reports (and parts) of that agency."""
    from webapp.extensions import db

    with app.app_context():
        db.session.execute(text("INSERT INTO report_stamp (agency_id, stamp) SELECT id, 1 FROM agency WHERE code = :c "
                                "ON CONFLICT (agency_id) DO UPDATE SET stamp = report_stamp.stamp + 1"), {"c": code})
        db.session.commit()
        db.session.remove()


def run_refresh(app) -> float:
    """The background refresh's run, in process as the worker runs it (reports.refresh); its ms. Then
    its garbage collected: the worker is another process, whose collections never fall in a view."""
    from webapp.extensions import db
    from webapp.reporting.services.report_refresh import refresh_viewed

    with app.app_context():
        t0 = time.perf_counter()
        refresh_viewed()
        dt = (time.perf_counter() - t0) * 1000
        db.session.remove()
    gc.collect()
    return dt


def after_change(time_view: Callable[[object, str], float], demo, demo_client, demo_code: str, base_url: str,
                 province, client, url: str, changed: str, rounds: int, refreshed: bool = False) -> tuple[float, ...]:
    """Medians over ``rounds`` of the view right after one agency's change: the demo agency's stamp and
    ``changed``'s raised, then (``refreshed``) the refresh job run on each database, then the page timed
    on each. Returns (demo ms, province ms) and with ``refreshed`` the job's (demo ms, province ms)."""
    a, b, ja, jb = [], [], [], []
    for _ in range(rounds):
        bump_stamp(demo, demo_code)
        bump_stamp(province, changed)
        if refreshed:
            ja.append(run_refresh(demo))
            jb.append(run_refresh(province))
        a.append(time_view(demo_client, base_url))
        b.append(time_view(client, url))
    out = (statistics.median(a), statistics.median(b))
    return (*out, statistics.median(ja), statistics.median(jb)) if refreshed else out


def after_change_text(*args, **kwargs) -> str:
    """The printed figures of the view after each agency's change of CHANGED (or the page's own agency):
    without the refresh (the first view computes what the change needs) and after the refresh's run."""
    name, code = kwargs.pop("name"), kwargs.pop("code")
    out = ""
    for changed in CHANGED.get(name, (code,)):
        x, y = after_change(*args, changed=changed, **kwargs)
        out += f"  (after {changed}'s change: demo {x:.1f} ms, province {y:.1f} ms, {y / x:.2f}x)"
        x, y, jx, jy = after_change(*args, changed=changed, refreshed=True, **kwargs)
        out += (f"  (after {changed}'s change and the refresh job's run: demo {x:.1f} ms, province {y:.1f} ms, "
                f"{y / x:.2f}x; the job: demo {jx:.1f} ms, province {jy:.1f} ms)")
    return out
