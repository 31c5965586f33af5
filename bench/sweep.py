"""Benchmark: the reminder sweep (notify/reminders.sweep) on PostgreSQL.

1,000,000 cases in 20 agencies (12 staff each), 100,000 of them open, bulk-loaded with COPY with
consistent clock columns (due_on, correction_notice_due_on = receipt + 7 working days while the
notice window is open, correction_reply_by / consultation_due_on / fee_due_on for the paused
states), and 1,000,000 notification rows of earlier sweeps on closed cases. Before timing, the real
sweep runs for the three previous working days, so the reminders of earlier sweeps exist for the
cases due now as they would in production.

Timed on the sweep day (median of several runs after a warm-up; each timed run is rolled back):

* "first sweep of the day": selection plus the new rows (the day's overdue reminders, thresholds
  crossed overnight) and the digest mails, flushed;
* "steady sweep": the same sweep again once the first was committed (every 15 minutes during the
  day): selection and the dedupe probe, nothing new to insert.

Baseline in the same run: one indexed ``SELECT count(*)`` of the open cases. Goal (issue 4): the
sweep costs at most 10x the baseline and grows with the number of cases due, not with the number
open - shown by three scenarios: about 1,000 due of 100,000 open; about 10,000 due of 100,000 open;
and the second with 200,000 open.

The script creates its own database (disclosure_bench_sweep_<time>) on BENCH_DATABASE_URL's server
(default postgresql://postgres@127.0.0.1:5432/postgres) and drops it at the end. It exits non-zero
when scenario A misses the goal (either sweep).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config import TestConfig, normalize_database_url

N_CASES = int(os.environ.get("BENCH_CASES", 1_000_000))
N_OPEN = int(os.environ.get("BENCH_OPEN", 100_000))
N_OLD_NOTIFICATIONS = int(os.environ.get("BENCH_NOTIFICATIONS", 1_000_000))
N_AGENCIES = 20
CLERKS_PER_AGENCY = 10
APPROVERS_PER_AGENCY = 2
N_APPLICANTS = 20_000
TODAY = date(2025, 6, 16)            # a Monday and a working day
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RUNS_FIRST = 3
RUNS_STEADY = 11
T2015 = datetime(2015, 1, 1, tzinfo=UTC).replace(tzinfo=None)   # the models store naive UTC
T2024 = datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None)
OPEN_STATUSES = ("registered", "awaiting_correction", "consulting", "awaiting_fee")
BASELINE_SQL = ("SELECT count(*) FROM \"case\" WHERE status IN "
                "('registered', 'awaiting_correction', 'consulting', 'awaiting_fee')")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _fill_defaults(table, columns: list[str]) -> tuple[list[str], list]:
    """NOT NULL columns without a server default that the loader does not set (other modules may
    add columns): a neutral value of their type."""
    from sqlalchemy import Boolean, DateTime, Integer, Numeric, String, Text

    extra, values = [], []
    for col in table.columns:
        if col.name in columns or col.nullable or col.server_default is not None or col.primary_key:
            continue
        t = col.type
        if isinstance(t, Boolean):
            v = False
        elif isinstance(t, (Integer, Numeric)):
            v = 0
        elif isinstance(t, DateTime):
            v = T2024
        elif isinstance(t, (String, Text)):
            v = ""
        else:
            v = "{}" if "JSON" in type(t).__name__.upper() else ""
        extra.append(col.name)
        values.append(v)
    return extra, values


class bulk_load:  # a context manager, named like one
    """Load a table fast: foreign-key triggers off (the rows are consistent by construction) and its
    secondary indexes and unique constraints dropped during COPY, rebuilt afterwards."""

    def __init__(self, raw, table: str) -> None:
        self.raw, self.table = raw, table

    def __enter__(self):
        cur = self.raw.cursor()
        cur.execute("SET session_replication_role = replica")
        self.constraints = cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'", (f'"{self.table}"',)).fetchall()
        names = {c for c, _ in self.constraints}
        self.indexes = [(n, d) for n, d in cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (self.table,)).fetchall()
            if n not in names and not n.startswith("pk_")]
        for name, _ in self.constraints:
            cur.execute(f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            cur.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc) -> None:
        cur = self.raw.cursor()
        for _name, ddl in self.indexes:
            cur.execute(ddl)
        for name, ddl in self.constraints:
            cur.execute(f'ALTER TABLE "{self.table}" ADD CONSTRAINT "{name}" {ddl}')
        cur.execute("SET session_replication_role = DEFAULT")


def copy_rows(raw, table, columns: list[str], rows) -> int:
    extra, values = _fill_defaults(table, columns)
    cols = ", ".join(f'"{c}"' for c in columns + extra)
    n = 0
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(tuple(row) + tuple(values))
            n += 1
    return n


def load(app, cal) -> dict:
    """Agencies, users, applicants, 1M cases (N_OPEN open), old notifications."""
    from webapp.extensions import db
    from webapp.models import Agency, Applicant, Case, Notification, User

    wd = cal.add_workdays
    memo: dict[tuple[date, int], date] = {}

    def back(d: date, n: int) -> date:
        """The day n working days before d."""
        if (d, n) not in memo:
            x = d
            while cal.workdays_between(x, d) < n:
                x -= timedelta(days=1)
            memo[(d, n)] = x
        return memo[(d, n)]

    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        t0 = time.perf_counter()
        copy_rows(raw, Agency.__table__, ["id", "code", "name", "kind", "policies", "created_at"],
                  ((i, f"A{i:02d}", f"第{i}局", "department", "{}", T2015)
                   for i in range(1, N_AGENCIES + 1)))
        users, clerks, uid = [], {}, 0
        for a in range(1, N_AGENCIES + 1):
            for k in range(CLERKS_PER_AGENCY + APPROVERS_PER_AGENCY):
                uid += 1
                role = "clerk" if k < CLERKS_PER_AGENCY else "approver"
                users.append((uid, a, f"u{uid}", f"用户{uid}", f"u{uid}@example.gov.cn", role, True,
                              T2015))
                if role == "clerk":
                    clerks.setdefault(a, []).append(uid)
        copy_rows(raw, User.__table__, ["id", "agency_id", "username", "display_name", "email", "role", "active",
                                        "created_at"], users)
        copy_rows(raw, Applicant.__table__, ["id", "agency_id", "kind", "name", "created_at"],
                  ((i, (i % N_AGENCIES) + 1, "natural_person", f"申请人{i}", T2015)
                   for i in range(1, N_APPLICANTS + 1)))

        horizon_far = (wd(TODAY, 6), wd(TODAY, 20))
        far_days = []
        d = horizon_far[0]
        while d <= horizon_far[1]:
            if cal.is_workday(d):
                far_days.append(d)
            d += timedelta(days=1)
        n_closed = N_CASES - N_OPEN
        counts = dict.fromkeys(OPEN_STATUSES, 0)

        def cases():
            for i in range(1, N_CASES + 1):
                agency = (i % N_AGENCIES) + 1
                clerk = clerks[agency][(i // N_AGENCIES) % CLERKS_PER_AGENCY]
                applicant = (i % N_APPLICANTS) + 1
                base = [i, agency, f"{i:07d}", f"A{agency:02d}-{i:07d}", applicant, "natural_person", "online",
                        clerk, T2024, 1, "", "", ""]
                if i <= n_closed:
                    received = date(2016, 1, 4) + timedelta(days=(i * 7) % 3400)
                    yield base + ["closed", received, received, None, None, None, None, None,
                                  received + timedelta(days=25), "disclosed", False]
                    continue
                # Open cases, all with deadlines beyond the sweep's windows (the scenarios move some in).
                status = OPEN_STATUSES[0] if i % 10 < 7 else OPEN_STATUSES[1 + i % 3]
                counts[status] += 1
                due = far_days[i % len(far_days)]
                received = back(due, 20)
                notice = wd(received, 7)
                row = {"due": None, "notice": None, "reply": None, "consult": None, "fee": None}
                if status == "registered":
                    row["due"] = due
                    row["notice"] = notice if notice >= TODAY else None
                    if row["notice"] is not None and row["notice"] <= wd(TODAY, 2):
                        row["notice"] = wd(TODAY, 3)     # keep scenario A's count controlled
                elif status == "awaiting_correction":
                    row["reply"] = due
                elif status == "consulting":
                    row["consult"] = due
                else:
                    row["fee"] = due
                yield base + [status, received, received, row["due"], row["notice"], row["reply"],
                              row["consult"], row["fee"], None, None, None]

        cols = ["id", "agency_id", "ref", "number", "applicant_id", "applicant_kind", "channel", "assigned_to_id",
                "created_at", "version", "form_wanted", "route_wanted", "note", "status", "received_on",
                "clock_start", "due_on", "correction_notice_due_on", "correction_reply_by", "consultation_due_on",
                "fee_due_on", "closed_on", "outcome", "late"]
        with bulk_load(raw, "case"):
            copy_rows(raw, Case.__table__, cols, cases())
        log(f"loaded {N_CASES:,} cases ({N_OPEN:,} open: {counts}) in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        n_users = len(users)

        def old_notes():
            for i in range(1, N_OLD_NOTIFICATIONS + 1):
                case_id = 1 + (i * 7919) % n_closed
                recipient = 1 + i % n_users
                ref = date(2016, 1, 4) + timedelta(days=i % 3400)
                kind = ("answer_due_5", "answer_due_3", "answer_due_1", "answer_due_today")[i % 4]
                yield (i, f"{kind}:{case_id}:{ref.isoformat()}:{recipient}:{i}", 1 + i % N_AGENCIES, case_id, kind,
                       ref, recipient, "旧提醒", "", f"/cases/{case_id}", T2024)

        with bulk_load(raw, "notification"):
            copy_rows(raw, Notification.__table__, ["id", "dedupe_key", "agency_id", "case_id", "kind", "ref_date",
                                                    "recipient_id", "title", "body", "link", "created_at"],
                      old_notes())
        raw.commit()
        log(f"loaded {N_OLD_NOTIFICATIONS:,} notifications of earlier sweeps in {time.perf_counter() - t0:.1f} s")
        for table in ("agency", "user", "applicant", "case", "notification"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                 f"(SELECT max(id) FROM \"{table}\"))")
        conn.commit()
    return {"closed": N_CASES - N_OPEN, "open": counts}


def move_into_window(app, cal, first_id: int, n: int) -> None:
    """Give n open cases (ids from first_id) deadlines around TODAY: 20% overdue (1-10 working days),
    10% due today, 58% due within 1-5 working days, and 3% each: a correction notice window ending
    within 2 working days, a lapsed correction, a consultation reply due, a lapsed fee."""
    from webapp.extensions import db

    wd = cal.add_workdays

    def back(d: date, k: int) -> date:
        x = d
        while cal.workdays_between(x, d) < k:
            x -= timedelta(days=1)
        return x

    rows = []
    for j in range(n):
        cid = first_id + j
        r = j % 100
        due = notice = reply = consult = fee = None
        status = "registered"
        if r < 20:
            due = back(TODAY, 1 + j % 10)
        elif r < 30:
            due = TODAY
        elif r < 88:
            due = wd(TODAY, 1 + j % 5)
        elif r < 91:
            notice = wd(TODAY, j % 3)
            due = wd(notice, 13)
        elif r < 94:
            status, reply = "awaiting_correction", back(TODAY, 1 + j % 5)
        elif r < 97:
            status, consult = "consulting", back(TODAY, j % 4) if j % 4 else TODAY
        else:
            status, fee = "awaiting_fee", back(TODAY, 1 + j % 5)
        rows.append({"id": cid, "status": status, "due": due, "notice": notice, "reply": reply,
                     "consult": consult, "fee": fee})
    with db.engine.begin() as conn:
        conn.execute(text(
            'UPDATE "case" SET status = :status, due_on = :due, correction_notice_due_on = :notice, '
            "correction_reply_by = :reply, consultation_due_on = :consult, fee_due_on = :fee, closed_on = NULL, "
            "outcome = NULL WHERE id = :id"), rows)


def reopen(app, cal, first_id: int, n: int) -> None:
    """Reopen n closed cases with deadlines beyond the windows (more open, no more due)."""
    from webapp.extensions import db

    far = cal.add_workdays(TODAY, 12)
    with db.engine.begin() as conn:
        conn.execute(text('UPDATE "case" SET status = \'registered\', due_on = :due, closed_on = NULL, '
                          "outcome = NULL WHERE id >= :a AND id < :b"), {"due": far, "a": first_id, "b": first_id + n})


def vacuum(app) -> None:
    from webapp.extensions import db

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def history(app, cal) -> int:
    """The real sweep for the three previous working days, committed: the reminders of earlier sweeps."""
    from webapp.extensions import db
    from webapp.notify.reminders import sweep

    d, days = TODAY, []
    while len(days) < 3:
        d -= timedelta(days=1)
        if cal.is_workday(d):
            days.append(d)
    made = 0
    for day in reversed(days):
        made += sweep(day).notifications
        db.session.commit()
    return made


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(app, label: str) -> dict:
    """Baseline and sweep alternately (the machine's load hits both alike); medians."""
    from webapp.extensions import db
    from webapp.notify.reminders import sweep

    def baseline() -> tuple[float, int]:
        t0 = time.perf_counter()
        n = db.session.execute(text(BASELINE_SQL)).scalar()
        dt = time.perf_counter() - t0
        db.session.rollback()
        return dt, n

    def timed() -> tuple[float, object]:
        t0 = time.perf_counter()
        r = sweep(TODAY)
        db.session.flush()
        dt = time.perf_counter() - t0
        db.session.rollback()
        return dt, r

    with app.app_context():
        for _ in range(3):                # warm-up (calendar, caches, plans, buffers)
            baseline()
        timed()
        base, first, steady = [], [], []
        for _ in range(RUNS_FIRST):
            base.append(baseline()[0])
            dt, result = timed()
            first.append(dt)
        n_open = baseline()[1]
        marks = (db.session.execute(text("SELECT coalesce(max(id), 0) FROM notification")).scalar(),
                 db.session.execute(text("SELECT coalesce(max(id), 0) FROM outbox_mail")).scalar())
        committed = sweep(TODAY)
        db.session.commit()
        for _ in range(RUNS_STEADY):
            base.append(baseline()[0])
            dt, again = timed()
            steady.append(dt)
        plan = "\n".join(r[0] for r in db.session.execute(text(
            "EXPLAIN SELECT id FROM \"case\" WHERE status = 'registered' AND due_on <= :h"),
            {"h": TODAY + timedelta(days=7)}))
        db.session.rollback()
    out = {"label": label, "open": n_open, "due": result.items, "new": result.notifications,
           "mails": result.mails, "committed_new": committed.notifications, "steady_new": again.notifications,
           "baseline_ms": median_ms(base), "first_ms": median_ms(first), "steady_ms": median_ms(steady),
           "plan": plan, "marks": marks}
    out["first_x"] = out["first_ms"] / out["baseline_ms"]
    out["steady_x"] = out["steady_ms"] / out["baseline_ms"]
    log(f"{label}: open {n_open:,}, due {result.items:,} (new notifications {result.notifications:,}, "
        f"mails {result.mails}); baseline {out['baseline_ms']:.1f} ms; first sweep {out['first_ms']:.1f} ms "
        f"({out['first_x']:.1f}x); steady sweep {out['steady_ms']:.1f} ms ({out['steady_x']:.1f}x)")
    return out


def main() -> int:
    from webapp import create_app
    from webapp.cases.services.calendar import current_calendar
    from webapp.extensions import db

    server = make_url(normalize_database_url(SERVER))
    name = f"disclosure_bench_sweep_{int(time.time())}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    started = time.perf_counter()
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, BASE_URL="https://gk.example.gov.cn")
        with app.app_context():
            db.create_all()
            cal = current_calendar()
            load(app, cal)
            n_closed = N_CASES - N_OPEN
            move_into_window(app, cal, n_closed + 1, N_OPEN // 100)
            vacuum(app)
            log(f"earlier sweeps: {history(app, cal):,} reminders")
            vacuum(app)
        results = [measure(app, f"A: ~{N_OPEN // 100:,} due of {N_OPEN:,} open")]
        with app.app_context():
            move_into_window(app, cal, n_closed + 1 + N_OPEN // 100, N_OPEN * 9 // 100)
            vacuum(app)
            log(f"earlier sweeps: {history(app, cal):,} more reminders")
            vacuum(app)
        results.append(measure(app, f"B: ~{N_OPEN // 10:,} due of {N_OPEN:,} open"))
        with app.app_context():
            # Undo B's committed sweep of the day, so that C sweeps the same day afresh.
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM notification WHERE id > :n"), {"n": results[-1]["marks"][0]})
                conn.execute(text("DELETE FROM outbox_mail WHERE id > :n"), {"n": results[-1]["marks"][1]})
            reopen(app, cal, 1, N_OPEN)
            vacuum(app)
        results.append(measure(app, f"C: ~{N_OPEN // 10:,} due of {2 * N_OPEN:,} open"))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    print()
    print("| scenario | open | due | new rows (first sweep) | baseline count(*) | first sweep | ratio | "
          "steady sweep | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['label']} | {r['open']:,} | {r['due']:,} | {r['new']:,} notifications, {r['mails']} mails | "
              f"{r['baseline_ms']:.1f} ms | {r['first_ms']:.0f} ms | {r['first_x']:.1f}x | "
              f"{r['steady_ms']:.1f} ms | {r['steady_x']:.1f}x |")
    print()
    print("plan of the answer-deadline range query:\n" + results[-1]["plan"])
    a = results[0]
    verdict = "met" if a["steady_x"] <= 10 and a["first_x"] <= 10 else "MISSED"
    print(f"\ngoal (<= 10x the baseline) at 1% due: first sweep of the day {a['first_x']:.1f}x, "
          f"steady sweep {a['steady_x']:.1f}x: {verdict}")
    print(f"growth with due (B/A): sweep {results[1]['steady_ms'] / a['steady_ms']:.1f}x, first sweep "
          f"{results[1]['first_ms'] / a['first_ms']:.1f}x; with open (C/B): sweep "
          f"{results[2]['steady_ms'] / results[1]['steady_ms']:.2f}x, first sweep "
          f"{results[2]['first_ms'] / results[1]['first_ms']:.2f}x, baseline "
          f"{results[2]['baseline_ms'] / results[1]['baseline_ms']:.2f}x")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
