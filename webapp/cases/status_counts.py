"""Each agency's cases of each status (``case_status_count``), kept by the database itself: triggers on
"case", so that no writer can miss a change (a service's flush, a Core UPDATE, the bulk import's COPY,
a psql session alike). The dashboard reads its status counts from it (cases/dashboard.py: a
government's 51 agencies x 10 statuses are 510 rows, where counting the cases read 6,200-8,800 index
entries). Not a TRUNCATE, which fires no row trigger: after truncating or bulk-loading "case" with
its triggers disabled, run ``flask cases recount-statuses`` (``recount``; docs/operations.md).

The pattern of reporting/services/stamps.py (its docstring tells why). PostgreSQL: statement-level
triggers with transition tables on INSERT and DELETE (one pending row per agency and status per
statement: the bulk import's COPY of 300,000 cases writes a few hundred), and a row trigger with a
WHEN clause on UPDATE (only a row whose status or agency changed calls it: every other case update,
such as an event's version and due date, costs nothing, and no transition table is kept for them).
A trigger only adds the statement's deltas to ``case_status_pending`` under the transaction's id (a
row of its own: no wait on another transaction); a deferred constraint trigger adds the
transaction's deltas to ``case_status_count`` when it commits, in (agency, status) order (two
transactions committing changes to the same counters lock them in the same order: no deadlock), and
removes its pending rows; it raises the transaction's report stamps first (report_stamp_commit's
statement: a commit locks the stamps before the counters, whichever of its two kinds of pending rows
it wrote first; two commits taking them in opposite orders deadlocked). So a counter's row is locked
only while a transaction commits, and the
committed count changes exactly when the change becomes visible; a rolled-back transaction leaves no
trace. SQLite (one writer at a time anyway): row triggers change ``case_status_count`` at once.

Only cases with a status are counted (a row's status is never empty once registered). A counter row
may hold 0 (its agency had cases of that status); the dashboard sums the rows of its agencies.

``status_count_trigger_sql(dialect)`` gives the DDL; create_all runs it (``install``), the migration
20261205_case_status_count runs a copy of the same generator (tests/views/test_status_counter.py
checks the copy is equal). No ``%`` and no ``:name`` in the statements (DDL(), text(), op.execute()).
"""

from __future__ import annotations

from sqlalchemy import text

from webapp.extensions import db
from webapp.models.ddl import create_after_tables
from webapp.reporting.services.stamps import RAISE_STAMPS_PLPGSQL

TRIGGERS = ("case_status_count_insert", "case_status_count_delete", "case_status_count_update")


def status_count_trigger_sql(dialect: str) -> tuple[str, ...]:
    """The functions and triggers that keep the counts (idempotent: each trigger is dropped first)."""
    changed = " OR ".join(f"OLD.{c} IS {'DISTINCT FROM' if dialect == 'postgresql' else 'NOT'} NEW.{c}"
                          for c in ("status", "agency_id"))
    if dialect == "postgresql":
        pending = ("INSERT INTO case_status_pending AS p (tx, agency_id, status, n)\n"
                   "        SELECT txid_current(), {rows}\n"
                   "        ON CONFLICT (tx, agency_id, status) DO UPDATE SET n = p.n + EXCLUDED.n;")
        grouped = "r.agency_id, r.status, {sign}count(*) FROM {table} r WHERE r.status IS NOT NULL " \
                  "GROUP BY r.agency_id, r.status"
        return (
            """
CREATE OR REPLACE FUNCTION case_status_commit() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- the first of the transaction's pending rows to fire adds all of its deltas, in (agency, status)
    -- order (two transactions committing changes to the same counters lock them in the same order:
    -- no deadlock); the rows it removed fire after it and find nothing left
    IF NOT EXISTS (SELECT 1 FROM case_status_pending
                   WHERE tx = NEW.tx AND agency_id = NEW.agency_id AND status = NEW.status) THEN
        RETURN NULL;
    END IF;
    -- the transaction's report stamps first, as report_stamp_commit raises them (which then finds
    -- nothing left): every commit locks the stamps before the counters, whichever of its two kinds
    -- of pending rows came first (in either order two commits could each hold what the other waits for)
""" + RAISE_STAMPS_PLPGSQL + """    INSERT INTO case_status_count AS c (agency_id, status, n)
    SELECT p.agency_id, p.status, p.n FROM case_status_pending p
    WHERE p.tx = NEW.tx AND p.n <> 0 AND EXISTS (SELECT 1 FROM agency WHERE id = p.agency_id)
    ORDER BY p.agency_id, p.status
    ON CONFLICT (agency_id, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    DELETE FROM case_status_pending WHERE tx = NEW.tx;
    RETURN NULL;
END
$fn$
""",
            "DROP TRIGGER IF EXISTS case_status_pending_commit ON case_status_pending",
            """
CREATE CONSTRAINT TRIGGER case_status_pending_commit AFTER INSERT ON case_status_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION case_status_commit()
""",
            f"""
CREATE OR REPLACE FUNCTION case_status_rows() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {pending.format(rows=grouped.format(sign="", table="new_rows"))}
    ELSE
        {pending.format(rows=grouped.format(sign="-", table="old_rows"))}
    END IF;
    RETURN NULL;
END
$fn$
""",
            f"""
CREATE OR REPLACE FUNCTION case_status_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    {pending.format(rows="v.agency_id, v.status, v.n FROM (VALUES (OLD.agency_id, OLD.status, -1), "
                         "(NEW.agency_id, NEW.status, 1)) AS v (agency_id, status, n) WHERE v.status IS NOT NULL")}
    RETURN NULL;
END
$fn$
""",
            'DROP TRIGGER IF EXISTS case_status_count_insert ON "case"',
            'CREATE TRIGGER case_status_count_insert AFTER INSERT ON "case" REFERENCING NEW TABLE AS new_rows '
            "FOR EACH STATEMENT EXECUTE FUNCTION case_status_rows()",
            'DROP TRIGGER IF EXISTS case_status_count_delete ON "case"',
            'CREATE TRIGGER case_status_count_delete AFTER DELETE ON "case" REFERENCING OLD TABLE AS old_rows '
            "FOR EACH STATEMENT EXECUTE FUNCTION case_status_rows()",
            'DROP TRIGGER IF EXISTS case_status_count_update ON "case"',
            f'CREATE TRIGGER case_status_count_update AFTER UPDATE ON "case" FOR EACH ROW WHEN ({changed}) '
            "EXECUTE FUNCTION case_status_row()",
        )

    def add(row: str, sign: str) -> str:
        return (f"INSERT INTO case_status_count (agency_id, status, n) SELECT {row}.agency_id, {row}.status, {sign}1 "
                f"WHERE {row}.status IS NOT NULL ON CONFLICT (agency_id, status) DO UPDATE SET n = n + excluded.n; ")
    return (
        "DROP TRIGGER IF EXISTS case_status_count_insert",
        f'CREATE TRIGGER case_status_count_insert AFTER INSERT ON "case" FOR EACH ROW BEGIN {add("NEW", "")}END',
        "DROP TRIGGER IF EXISTS case_status_count_delete",
        f'CREATE TRIGGER case_status_count_delete AFTER DELETE ON "case" FOR EACH ROW BEGIN {add("OLD", "-")}END',
        "DROP TRIGGER IF EXISTS case_status_count_update",
        f'CREATE TRIGGER case_status_count_update AFTER UPDATE ON "case" FOR EACH ROW WHEN {changed} '
        f'BEGIN {add("OLD", "-")}{add("NEW", "")}END',
    )


def status_count_trigger_drop_sql(dialect: str) -> tuple[str, ...]:
    """The downgrade: every trigger, then the functions."""
    if dialect != "postgresql":
        return tuple(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS)
    return (*(f'DROP TRIGGER IF EXISTS {name} ON "case"' for name in TRIGGERS),
            "DROP TRIGGER IF EXISTS case_status_pending_commit ON case_status_pending",
            "DROP FUNCTION IF EXISTS case_status_rows()", "DROP FUNCTION IF EXISTS case_status_row()",
            "DROP FUNCTION IF EXISTS case_status_commit()")


#: the counts as the cases give them (the migration fills the table with the same statement)
RECOUNT_SQL = ('INSERT INTO case_status_count (agency_id, status, n) SELECT agency_id, status, count(*) '
               'FROM "case" WHERE status IS NOT NULL GROUP BY agency_id, status')

def install() -> None:
    """create_all() creates the triggers after the tables (idempotent). Called by create_app()."""
    create_after_tables("status_counts", status_count_trigger_sql)


def recount() -> int:
    """Rebuild ``case_status_count`` from the cases (after a TRUNCATE, a load with the triggers off or
    a counter changed by hand), in the session's transaction; the caller commits. On PostgreSQL the
    table is locked first (EXCLUSIVE: the dashboards still read it): a transaction that added its
    deltas before is committed and counted by the recount's statement; one that commits later waits
    and adds its deltas after. Returns the counter rows written."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE case_status_count IN EXCLUSIVE MODE"))
    db.session.execute(text("DELETE FROM case_status_count"))
    return db.session.execute(text(RECOUNT_SQL)).rowcount
