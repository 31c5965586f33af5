"""The report cache kept warm (reporting/services/report_refresh.py, the beat's "reports.refresh"): a
view marks its report; after a change in one of its agencies the job computes the report under the
new stamps, so that the next view reads it; a second run does nothing; two runs at once on PostgreSQL
neither fail nor double an entry; reports not viewed within the window and the job's own work are
not refreshed."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from tests import factories
from tests.factories import make_case
from webapp.extensions import db
from webapp.models import Agency, ReportCache
from webapp.reporting.services import build_report, report_cache
from webapp.reporting.services.report_cache import MARK, cache_key, mark_key, scope_of
from webapp.reporting.services.report_docs import render_report
from webapp.reporting.services.report_refresh import refresh_viewed
from webapp.reporting.services.stamps import stamps_of

TODAY = date(2026, 1, 6)
PERSON = {"kind": "natural_person", "name": "张三", "phone": "13800000001"}
LONG_AGO = datetime(2020, 1, 1)  # noqa: DTZ001 - stored naive, in UTC


def _case(agency: Agency, received: date):
    return make_case(agency, None, received, applicant=PERSON, items=["预算"], channel="in_person", today=TODAY)


def _government() -> list[Agency]:
    gov = factories.make_agency("RF-G", "某区人民政府", kind="government")
    a = factories.make_agency("RF-A", "甲局", parent_id=gov.id)
    b = factories.make_agency("RF-B", "乙局", parent_id=gov.id)
    db.session.flush()
    for agency, day in ((gov, 3), (a, 4), (b, 5), (b, 6)):
        _case(agency, date(2025, 3, day))
    db.session.flush()
    return [gov, a, b]


def _key_now(agencies: list[Agency], year: int, summary: bool) -> str:
    return cache_key(agencies, year, summary, stamps_of([a.id for a in agencies]))


def _keys() -> set[str]:
    return set(db.session.scalars(select(ReportCache.key)))


def _marks() -> dict[str, datetime]:
    return dict(db.session.execute(select(ReportCache.key, ReportCache.created_at)
                                   .where(ReportCache.key.startswith(MARK))).all())


def _no_computing(monkeypatch) -> None:
    fail = lambda *a, **k: pytest.fail("computed in the view")     # noqa: E731
    monkeypatch.setattr(report_cache, "build_report", fail)
    monkeypatch.setattr(report_cache, "compute_parts", fail)


def test_after_a_change_the_job_stores_the_viewed_consolidated_report_under_the_new_stamps(db_session, monkeypatch):
    world = _government()
    counted: dict = {}
    report_cache.cached_report(world, 2025, per_agency=counted)          # the page's view: marked
    assert list(_marks()) == [mark_key(scope_of(world, 2025, True))]
    assert refresh_viewed() == {"viewed": 1, "refreshed": 0}             # nothing changed
    _case(world[2], date(2025, 7, 1))                                    # a change in 乙局
    db.session.flush()
    key = _key_now(world, 2025, True)
    assert key not in _keys()                                            # what the next view would compute
    assert refresh_viewed() == {"viewed": 1, "refreshed": 1}
    assert key in _keys()
    stored = json.loads(db.session.scalar(select(ReportCache.data).where(ReportCache.key == key)))
    want_counted: dict = {}
    want = build_report(world, 2025, per_agency=want_counted)
    assert json.dumps(stored["report"], ensure_ascii=False) == json.dumps(want, ensure_ascii=False)
    assert {int(k): v for k, v in stored["per_agency"].items()} == want_counted
    assert want["applications"]["new"]["natural_person"] == 5
    before = _keys()
    assert refresh_viewed() == {"viewed": 1, "refreshed": 0}             # a second run: nothing
    assert _keys() == before
    _no_computing(monkeypatch)                                           # the view reads it
    got: dict = {}
    assert report_cache.cached_report(world, 2025, per_agency=got) == want and got == want_counted


def test_an_annual_report_is_refreshed_and_each_scope_is_its_own(db_session):
    world = _government()
    report_cache.cached_report([world[1]], 2025)                         # 甲局's page
    report_cache.cached_report(world, 2025)                              # the consolidated report without summary
    render_report(world, 2025, "json", cached=True)                      # a download: no mark of its own
    render_report([world[2]], 2025, "json", cached=True)
    assert set(_marks()) == {mark_key(scope_of([world[1]], 2025, False)), mark_key(scope_of(world, 2025, False))}
    _case(world[1], date(2025, 8, 1))
    db.session.flush()
    assert refresh_viewed() == {"viewed": 2, "refreshed": 2}
    assert {_key_now([world[1]], 2025, False), _key_now(world, 2025, False)} <= _keys()
    assert _key_now(world, 2025, True) not in _keys()                    # the page (with its summary) was not viewed


def test_the_limit_caps_the_reports_computed_not_the_marks_read(db_session):
    """Three viewed reports, the two most recently viewed unchanged and the oldest changed: a run with
    limit=1 computes the oldest (a cap on the marks read would never reach it); with two changed, one
    run computes the more recently viewed and the next run the other."""
    world = _government()
    scopes = [[world[1]], [world[2]], [world[0]]]           # 甲局, 乙局, the government alone
    for i, scope in enumerate(scopes):
        report_cache.cached_report(scope, 2025)
        db.session.execute(update(ReportCache).where(ReportCache.key == mark_key(scope_of(scope, 2025, False)))
                           .values(created_at=datetime.now() - timedelta(minutes=10 - i)))  # noqa: DTZ005
    _case(world[1], date(2025, 8, 1))                       # 甲局, the least recently viewed
    db.session.flush()
    assert refresh_viewed(limit=1) == {"viewed": 3, "refreshed": 1}
    assert _key_now([world[1]], 2025, False) in _keys()
    _case(world[2], date(2025, 8, 2))
    _case(world[0], date(2025, 8, 3))
    db.session.flush()
    assert refresh_viewed(limit=1) == {"viewed": 3, "refreshed": 1}
    assert _key_now([world[0]], 2025, False) in _keys()    # the most recently viewed first
    assert _key_now([world[2]], 2025, False) not in _keys()
    assert refresh_viewed(limit=1) == {"viewed": 3, "refreshed": 1}
    assert _key_now([world[2]], 2025, False) in _keys()
    assert refresh_viewed(limit=1) == {"viewed": 3, "refreshed": 0}


def test_marks_are_renewed_by_views_only_and_age_out(app, db_session, monkeypatch):
    world = _government()
    report_cache.cached_report(world, 2025)
    (mark, first), = _marks().items()
    report_cache.cached_report(world, 2025)                              # a view soon after: left as it is
    assert _marks() == {mark: first}
    _case(world[0], date(2025, 9, 1))
    db.session.flush()
    assert refresh_viewed()["refreshed"] == 1
    assert _marks() == {mark: first}                                     # the job never marks
    # older than half the window: the next view (a hit) renews it
    db.session.execute(update(ReportCache).where(ReportCache.key == mark)
                       .values(created_at=first - timedelta(seconds=5 * 3600)))
    report_cache.cached_report(world, 2025)
    assert _marks()[mark] > first - timedelta(seconds=60)
    # not viewed within REPORT_REFRESH_VIEWED_SECONDS: not refreshed
    monkeypatch.setitem(app.config, "REPORT_REFRESH_VIEWED_SECONDS", 3600)
    db.session.execute(update(ReportCache).where(ReportCache.key == mark)
                       .values(created_at=datetime.utcnow() - timedelta(seconds=3700)))  # noqa: DTZ003
    _case(world[0], date(2025, 9, 2))
    db.session.flush()
    assert refresh_viewed() == {"viewed": 0, "refreshed": 0}
    assert _key_now(world, 2025, False) not in _keys()


def test_after_a_deployment_that_changed_the_counting_code_the_job_computes_the_viewed_reports(db_session,
                                                                                             monkeypatch):
    """The marks do not name the code's version: the job computes the reports viewed before a deployment
    under the new one's keys (all their parts), ahead of their first view."""
    world = _government()
    report_cache.cached_report(world, 2025, per_agency={})
    monkeypatch.setattr(report_cache, "CACHE_VERSION", "1-another-code")
    assert _key_now(world, 2025, True) not in _keys()
    assert refresh_viewed() == {"viewed": 1, "refreshed": 1}
    assert _key_now(world, 2025, True) in _keys()


def test_a_report_that_fails_to_compute_is_left_to_its_view_and_the_others_are_refreshed(db_session,
                                                                                          monkeypatch):
    world = _government()
    report_cache.cached_report([world[1]], 2025)
    report_cache.cached_report(world, 2025)
    _case(world[1], date(2025, 8, 2))
    db.session.flush()

    def broken(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection lost"))

    monkeypatch.setattr(report_cache, "build_report", broken)          # 甲局's own report (one agency)
    assert refresh_viewed() == {"viewed": 2, "refreshed": 1}
    assert _key_now(world, 2025, False) in _keys() and _key_now([world[1]], 2025, False) not in _keys()


def test_refresh_off_no_marks_and_no_work(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_REFRESH_SECONDS", 0)
    world = _government()
    report_cache.cached_report(world, 2025)
    assert _marks() == {}
    assert refresh_viewed() == {"viewed": 0, "refreshed": 0}


def test_a_deleted_agency_drops_its_reports_from_the_refresh(db_session):
    world = _government()
    extra = factories.make_agency("RF-X", "丙局")
    db.session.flush()
    report_cache.cached_report([*world, extra], 2025)
    report_cache.cached_report(world, 2025)
    db.session.delete(extra)
    _case(world[1], date(2025, 10, 1))
    db.session.flush()
    assert refresh_viewed() == {"viewed": 1, "refreshed": 1}


@pytest.mark.pg
@pytest.mark.committed
def test_two_runs_at_once_neither_fail_nor_double_an_entry(app, monkeypatch):
    """PostgreSQL: two workers' runs find the same report missing and compute it; both reach the store
    together (held at a barrier), the second's insert waits for the first's commit and inserts nothing."""
    with app.app_context():
        world = _government()
        ids = [a.id for a in world]
        db.session.commit()
        report_cache.cached_report(world, 2025, per_agency={})
        db.session.commit()
        _case(world[1], date(2025, 11, 3))
        db.session.commit()
        db.session.remove()
    barrier = threading.Barrier(2, timeout=30)
    real = report_cache._store

    def together(*args, **kwargs):
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(report_cache, "_store", together)
    results, errors = [], []

    def run() -> None:
        try:
            with app.app_context():
                results.append(refresh_viewed())
                db.session.remove()
        except BaseException as exc:   # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert results == [{"viewed": 1, "refreshed": 1}] * 2
    monkeypatch.setattr(report_cache, "_store", real)
    with app.app_context():
        agencies = db.session.scalars(select(Agency).where(Agency.id.in_(ids))).all()
        key = _key_now(agencies, 2025, True)
        assert db.session.scalar(select(func.count()).select_from(ReportCache).where(ReportCache.key == key)) == 1
        # the first view's report and 3 parts, the mark, then the new report and 甲局's new part
        assert db.session.scalar(select(func.count()).select_from(ReportCache)) == 4 + 1 + 2
        assert refresh_viewed() == {"viewed": 1, "refreshed": 0}
        db.session.remove()
