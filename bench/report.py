"""Benchmark: the annual report JSON (reporting/services.build_report) on PostgreSQL.

1,000,000 cases received over ten years (2016-2025) by 200 agencies whose sizes are skewed as in life
(Zipf, s=1.2: the largest receives tens of thousands of applications a year, most agencies a few dozen),
bulk-loaded with COPY with the derived columns filled consistently (received_on, closed_on, outcome,
applicant_kind, status, late, days_to_answer), plus about 1% of cases with an appeal and 1% with a fee.

Timed (median of several runs, after one warm-up): one agency-year report for the largest and for a small
agency, and the consolidated report of all 200 agencies, for 2024. Baseline in the same run: a
``SELECT count(*)`` over exactly the rows the report reads (the agencies' cases received by the end of
the year and not ended before it began). Goal (issue 5): <= 3x the baseline for an agency-year,
<= 5x for the consolidated report.

The script creates its own database (disclosure_bench_<time>) on BENCH_DATABASE_URL's server
(default postgresql://postgres@127.0.0.1:5432/postgres) and drops it at the end.
"""

from __future__ import annotations

import io
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config import TestConfig, normalize_database_url

N_CASES = int(os.environ.get("BENCH_CASES", 1_000_000))
N_AGENCIES = 200
YEARS = list(range(2016, 2026))
REPORT_YEAR = 2024
ZIPF_S = 1.2
MIN_RUNS, MAX_RUNS = 15, 501
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

KINDS = ["natural_person"] * 14 + ["commercial", "commercial", "research", "public_interest", "legal_service",
                                   "other_org"]
OUTCOMES = (["disclosed"] * 40 + ["partial"] * 12 + ["unavailable.not_held"] * 18 + ["withheld.process_info"] * 4
            + ["withheld.third_party"] * 3 + ["withheld.state_secret", "withheld.prohibited_by_law",
                                               "withheld.security_stability", "withheld.internal_affairs",
                                               "withheld.enforcement_file", "withheld.query_matter"]
            + ["unavailable.needs_creation"] * 6 + ["unavailable.unclear_after_correction"]
            + ["not_processed.petition"] * 5 + ["not_processed.duplicate"] * 3
            + ["not_processed.publication", "not_processed.excessive", "not_processed.confirm_or_reissue"]
            + ["other.correction_lapsed"] * 2 + ["other.fee_unpaid", "other.other", "other.other"])
OPEN_STATUSES = ["registered"] * 6 + ["awaiting_correction", "consulting", "awaiting_fee"]


def agency_sizes() -> list[int]:
    weights = [1 / (k ** ZIPF_S) for k in range(1, N_AGENCIES + 1)]
    total = sum(weights)
    sizes = [max(len(YEARS) * 3, int(N_CASES * w / total)) for w in weights]
    sizes[0] += N_CASES - sum(sizes)       # the largest takes the rounding
    return sizes


def _copy(conn, table: str, columns: list[str], rows) -> None:
    """COPY ``rows`` into ``table``; NOT NULL columns added later by other modules get a neutral value."""
    from sweep import _fill_defaults  # bench/sweep.py (this folder is on sys.path when run as a script)

    from webapp.extensions import db

    extra, values = _fill_defaults(db.metadata.tables[table], columns)
    cols = ", ".join(f'"{c}"' for c in columns + extra)
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as cp:
        for row in rows:
            cp.write_row(tuple(row) + tuple(values))


def load(engine) -> dict[str, int]:
    """Agencies, applicants, cases, appeals through COPY; returns counts."""
    rng = random.Random(2024)
    sizes = agency_sizes()
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        _copy(conn, "agency", ["id", "code", "name", "kind", "address", "postcode", "phone", "email", "policies",
                               "created_at"],
              ((i + 1, f"AG{i + 1:03d}", f"测试机关{i + 1:03d}", "government" if i == 0 else "department", "", "", "",
                "", "{}", "2016-01-01") for i in range(N_AGENCIES)))
        applicant_ids: dict[tuple[int, str], int] = {}
        rows = []
        for a in range(1, N_AGENCIES + 1):
            for kind in sorted(set(KINDS)):
                aid = len(rows) + 1
                applicant_ids[(a, kind)] = aid
                rows.append((aid, a, kind, f"申请人{aid}", "", "", "", "", "2016-01-01"))
        _copy(conn, "applicant", ["id", "agency_id", "kind", "name", "id_document", "phone", "email", "address",
                                  "created_at"], rows)

        case_cols = ["id", "agency_id", "ref", "number", "applicant_id", "applicant_kind", "channel", "arrived_on",
                     "form_wanted", "route_wanted", "note", "created_at", "version", "status", "received_on",
                     "clock_start", "due_on", "due_provisional", "extended", "closed_on", "outcome", "late",
                     "paused_days", "days_to_answer", "calendar_version", "fee_amount", "fee_paid_on"]
        appeals: list[tuple] = []
        last_day = date(YEARS[-1], 12, 31)

        def cases():
            cid = 0
            for a, size in enumerate(sizes, start=1):
                per_year = [size // len(YEARS)] * len(YEARS)
                per_year[-1] += size - sum(per_year)
                for y, n in zip(YEARS, per_year, strict=True):
                    start = date(y, 1, 1)
                    for i in range(n):
                        cid += 1
                        received = start + timedelta(days=rng.randrange(365))
                        kind = rng.choice(KINDS)
                        r = rng.random()
                        # a few long-running cases are carried over a year end
                        duration = rng.randint(200, 500) if r < 0.004 else rng.randint(0, 45)
                        closed = received + timedelta(days=duration)
                        still_open = closed > last_day or r > 0.9995
                        fee = fee_paid = None
                        if still_open:
                            status, closed, outcome, late, days = rng.choice(OPEN_STATUSES), None, None, None, None
                            due = received + timedelta(days=28)
                        else:
                            status, outcome, due = "closed", rng.choice(OUTCOMES), None
                            days = duration * 5 // 7
                            late = None if outcome.startswith("other.") else days > 20
                            if rng.random() < 0.01:
                                fee, fee_paid = rng.choice(["100.00", "200.00", "700.00"]), received + timedelta(days=5)
                            if rng.random() < 0.01:
                                filed = closed + timedelta(days=rng.randint(5, 60))
                                if filed <= last_day:
                                    decided = filed + timedelta(days=rng.randint(20, 120))
                                    res = rng.choice(["upheld", "upheld", "corrected", "other"])
                                    if decided > last_day or rng.random() < 0.2:
                                        res, decided = "pending", None
                                    appeals.append((len(appeals) + 1, cid, a,
                                                    rng.choice(["review", "review", "litigation_direct",
                                                                "litigation_after_review"]), filed, res, decided, ""))
                        ref = f"{y}-{i + 1:06d}"
                        yield (cid, a, ref, f"AG{a:03d}-{ref}", applicant_ids[(a, kind)], kind, "online", received,
                               "", "", "", f"{received.isoformat()} 09:00", 1, status, received, received, due,
                               False, False, closed, outcome, late, 0, days, "bench", fee, fee_paid)

        _copy(conn, "case", case_cols, cases())
        _copy(conn, "appeal", ["id", "case_id", "agency_id", "kind", "filed_on", "result", "decided_on", "note"],
              appeals)
        conn.commit()
    finally:
        raw.close()
    with engine.begin() as c:
        for t in ("agency", "applicant", "case", "appeal"):
            c.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), (SELECT max(id) FROM \"{t}\"))"))
    return {"cases": sum(sizes), "appeals": len(appeals), "largest": sizes[0], "smallest": sizes[-1]}


def timed_pair(base, report) -> tuple[float, float, int]:
    """Median wall times (ms) of ``base`` and ``report``, run alternately (the machine may be busy
    with other work: alternating exposes both to the same load), after two warm-up rounds; as many
    runs as fit in about 4 s (at least MIN_RUNS, at most MAX_RUNS). Returns (base, report, runs)."""
    t0 = time.perf_counter()
    for _ in range(2):
        base()
        report()
    per_round = (time.perf_counter() - t0) / 2
    runs = max(MIN_RUNS, min(MAX_RUNS, int(4.0 / max(per_round, 1e-6))))
    b, r = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        base()
        b.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        report()
        r.append((time.perf_counter() - t0) * 1000)
    return statistics.median(b), statistics.median(r), runs


def main() -> None:
    """BENCH_REUSE=NAME times an existing bench database (kept by BENCH_KEEP=1) without loading it."""
    server = make_url(normalize_database_url(SERVER))
    reuse = os.environ.get("BENCH_REUSE")
    name = reuse or f"disclosure_bench_{int(time.time())}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    if not reuse:
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        run(url, load_data=not reuse)
    finally:
        if os.environ.get("BENCH_KEEP") or reuse:
            print(f"kept database {name}")
        else:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, load_data: bool = True) -> None:
    from sqlalchemy import select

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Agency
    from webapp.reporting.services import build_report

    # Server-side prepared statements off (psycopg prepares a statement from its 6th execution): a
    # plan cached for the largest agency would otherwise be reused for the small one, on both sides.
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url,
                     SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"prepare_threshold": None}})
    with app.app_context():
        if load_data:
            from webapp.models import Case

            db.create_all()
            t0 = time.perf_counter()
            # bulk load first, then build the case table's secondary indexes (as a restore would)
            for index in Case.__table__.indexes:
                index.drop(db.engine)
            stats = load(db.engine)
            for index in Case.__table__.indexes:
                index.create(db.engine)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))      # as autovacuum would have done on a live database
            load_s = time.perf_counter() - t0
            print(f"loaded {stats['cases']:,} cases, {stats['appeals']:,} appeals, {N_AGENCIES} agencies "
                  f"(largest {stats['largest']:,}, smallest {stats['smallest']:,} cases over {len(YEARS)} years) "
                  f"in {load_s:.0f} s")

        agencies = list(db.session.scalars(select(Agency).order_by(Agency.id)))
        start, end = date(REPORT_YEAR, 1, 1), date(REPORT_YEAR, 12, 31)

        count_rows = text('SELECT count(*) FROM "case" WHERE agency_id IN :ids AND received_on <= :end '
                          "AND (closed_on IS NULL OR closed_on >= :start)").bindparams(bindparam("ids", expanding=True))

        def baseline(ids: list[int]) -> int:
            # the report's own predicate (same IN list), so both read exactly the same rows
            return db.session.execute(count_rows, {"ids": ids, "start": start, "end": end}).scalar()

        cases: list[tuple[str, list, float]] = [("largest agency", [agencies[0]], 3.0),
                                                ("small agency", [agencies[-1]], 3.0),
                                                (f"consolidated, {N_AGENCIES} agencies", agencies, 5.0)]
        results = []
        for label, chosen, goal in cases:
            ids = [a.id for a in chosen]
            rows = baseline(ids)
            report = build_report(chosen, REPORT_YEAR)
            assert report["applications"]["new"]["total"] + report["applications"]["carried_in"]["total"] == rows, \
                "the report and the baseline read different rows"
            assert all(c["ok"] for c in report["checks"] if c["name"] != "proactive_in_force"), report["checks"]
            base_ms, report_ms, runs = timed_pair(lambda ids=ids: baseline(ids),
                                                  lambda chosen=chosen: build_report(chosen, REPORT_YEAR))
            db.session.rollback()
            results.append((label, rows, base_ms, report_ms, report_ms / base_ms, goal, runs))

        print(f"\nreport year {REPORT_YEAR}; medians, report and baseline run alternately after a warm-up\n")
        out = io.StringIO()
        out.write("| report | rows read | runs | baseline count(*) | build_report (JSON) | ratio | goal |\n")
        out.write("| --- | --- | --- | --- | --- | --- | --- |\n")
        for label, rows, base_ms, report_ms, ratio, goal, runs in results:
            out.write(f"| {label} | {rows:,} | {runs} | {base_ms:.2f} ms | {report_ms:.2f} ms | {ratio:.2f}x | "
                      f"<= {goal:.0f}x {'met' if ratio <= goal else 'MISSED'} |\n")
        print(out.getvalue())
        db.session.remove()
        db.engine.dispose()
        if any(r[4] > r[5] for r in results):
            sys.exit(1)


if __name__ == "__main__":
    main()
