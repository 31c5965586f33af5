"""case_status_count (each agency's cases of each status, kept by triggers on "case") and
case_status_pending (a transaction's changes of the counts until its commit, PostgreSQL):
webapp/cases/status_counts.py; the dashboard sums its agencies' counter rows (cases/dashboard.py)

Revision ID: 20261205_case_status_count
Revises: 20261205_case_number_prefix

The counter is filled from the cases with one INSERT ... SELECT ... GROUP BY (RECOUNT_SQL) after the
triggers are in place, in the upgrade's transaction (on PostgreSQL a change committed meanwhile by
another session waits for the migration's lock on "case" that CREATE TRIGGER takes: none is lost). On
the million-case bench about a second. The trigger DDL below is a copy of
webapp/cases/status_counts.py's generator (migrations import nothing from the app;
tests/views/test_status_counter.py checks the copy gives the same statements).

On SQLite a later migration that recreates "case" in batch mode must keep its triggers (these and the
report stamps'), as 20261205_one_due_date's ``_recreate`` does: read from sqlite_master first and
created again after.
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_case_status_count"
down_revision = "20261205_case_number_prefix"
branch_labels = None
depends_on = None

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
    INSERT INTO report_stamp AS s (agency_id, stamp)
    SELECT p.agency_id, 1 FROM report_stamp_pending p
    WHERE p.tx = NEW.tx AND EXISTS (SELECT 1 FROM agency WHERE id = p.agency_id)
    ORDER BY p.agency_id
    ON CONFLICT (agency_id) DO UPDATE SET stamp = s.stamp + 1;
    DELETE FROM report_stamp_pending WHERE tx = NEW.tx;
    INSERT INTO case_status_count AS c (agency_id, status, n)
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


RECOUNT_SQL = ('INSERT INTO case_status_count (agency_id, status, n) SELECT agency_id, status, count(*) '
               'FROM "case" WHERE status IS NOT NULL GROUP BY agency_id, status')


def upgrade():
    op.create_table(
        "case_status_count",
        sa.Column("agency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agency_id", "status"),
    )
    op.create_table(
        "case_status_pending",
        sa.Column("tx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tx", "agency_id", "status"),
    )
    for stmt in status_count_trigger_sql(op.get_bind().dialect.name):
        op.execute(stmt)
    op.execute(RECOUNT_SQL)


def downgrade():
    for stmt in status_count_trigger_drop_sql(op.get_bind().dialect.name):
        op.execute(stmt)
    op.drop_table("case_status_pending")
    op.drop_table("case_status_count")
