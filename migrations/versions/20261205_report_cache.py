"""report_stamp (each agency's report change stamp, raised by triggers on every table its annual report
reads; report_stamp_pending: a transaction's marks until its commit, PostgreSQL) and report_cache (built reports under their agencies' stamps): reporting/services/stamps.py,
reporting/services/report_cache.py

Revision ID: 20261205_report_cache
Revises: 20261205_paused_due

The stamps start at 0 (no row) for every agency: the cache is empty, so no entry can be stale.
The trigger DDL below is a copy of webapp/reporting/services/stamps.py's generator (migrations import
nothing from the app; tests/reports/test_report_cache.py checks the copy gives the same statements).
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_report_cache"
down_revision = "20261205_paused_due"
branch_labels = None
depends_on = None

#: table -> the column that names a row's agency ("id": the agency itself; "case_id": through the case)
WATCHED: dict[str, str] = {
    "agency": "id",
    "case": "agency_id",
    "case_item": "case_id",
    "appeal": "agency_id",
    "proactive_year": "agency_id",
    "proactive_document": "agency_id",
    "report_version": "agency_id",
    "narrative": "agency_id",
}
#: The case columns the report reads (tests/reports/test_report_cache.py checks build.py reads no other).
CASE_COLUMNS = ("agency_id", "applicant_kind", "received_on", "closed_on", "outcome", "fee_amount", "fee_paid_on")


def stamp_trigger_sql(dialect: str) -> tuple[str, ...]:
    """The functions and triggers that raise the stamps (idempotent: each trigger is dropped first)."""
    ops = {t: (("INSERT", "UPDATE") if t == "agency" else ("INSERT", "UPDATE", "DELETE")) for t in WATCHED}
    changed_case = " OR ".join(
        f"OLD.{c} IS {'DISTINCT FROM' if dialect == 'postgresql' else 'NOT'} NEW.{c}" for c in CASE_COLUMNS)
    out: list[str] = []
    if dialect == "postgresql":
        out += [
            """
CREATE OR REPLACE FUNCTION report_stamp_bump(ids integer[]) RETURNS void
LANGUAGE sql AS $fn$
    INSERT INTO report_stamp_pending AS p (tx, agency_id, n)
    SELECT DISTINCT txid_current(), a, 1 FROM unnest(ids) AS u(a) WHERE a IS NOT NULL
    ON CONFLICT (tx, agency_id) DO UPDATE SET n = p.n + 1
$fn$
""",
            """
CREATE OR REPLACE FUNCTION report_stamp_commit() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- the first of the transaction's marks to fire raises all of its agencies' stamps, in agency
    -- order (two transactions committing changes to the same agencies lock their stamps in the same
    -- order: no deadlock); the marks it removed fire after it and find nothing left
    IF NOT EXISTS (SELECT 1 FROM report_stamp_pending WHERE tx = NEW.tx AND agency_id = NEW.agency_id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO report_stamp AS s (agency_id, stamp)
    SELECT p.agency_id, 1 FROM report_stamp_pending p
    WHERE p.tx = NEW.tx AND EXISTS (SELECT 1 FROM agency WHERE id = p.agency_id)
    ORDER BY p.agency_id
    ON CONFLICT (agency_id) DO UPDATE SET stamp = s.stamp + 1;
    DELETE FROM report_stamp_pending WHERE tx = NEW.tx;
    RETURN NULL;
END
$fn$
""",
            "DROP TRIGGER IF EXISTS report_stamp_pending_commit ON report_stamp_pending",
            """
CREATE CONSTRAINT TRIGGER report_stamp_pending_commit AFTER INSERT ON report_stamp_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_stamp_commit()
""",
            """
CREATE OR REPLACE FUNCTION report_stamp_rows() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    ids integer[] := '{}';
BEGIN
""" + "".join(f"""    IF TG_OP IN {ops_of} THEN
        IF TG_ARGV[0] = 'case_id' THEN
            ids := ids || ARRAY(SELECT c.agency_id FROM {rows} r JOIN "case" c ON c.id = r.case_id);
        ELSIF TG_ARGV[0] = 'id' THEN
            ids := ids || ARRAY(SELECT r.id FROM {rows} r);
        ELSE
            ids := ids || ARRAY(SELECT r.agency_id FROM {rows} r);
        END IF;
    END IF;
""" for ops_of, rows in (("('INSERT', 'UPDATE')", "new_rows"),
                          ("('UPDATE', 'DELETE')", "old_rows"))) + """    PERFORM report_stamp_bump(ids);
    RETURN NULL;
END
$fn$
""",
            """
CREATE OR REPLACE FUNCTION report_stamp_case_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM report_stamp_bump(ARRAY[OLD.agency_id, NEW.agency_id]);
    RETURN NULL;
END
$fn$
""",
        ]
        for table, via in WATCHED.items():
            for verb in ops[table]:
                name = f"report_stamp_{table}_{verb.lower()}"
                out.append(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
                if table == "case" and verb == "UPDATE":
                    out.append(f'CREATE TRIGGER {name} AFTER UPDATE ON "case" FOR EACH ROW '
                               f"WHEN ({changed_case}) EXECUTE FUNCTION report_stamp_case_row()")
                    continue
                ref = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                       "DELETE": "OLD TABLE AS old_rows"}[verb]
                out.append(f'CREATE TRIGGER {name} AFTER {verb} ON "{table}" REFERENCING {ref} '
                           f"FOR EACH STATEMENT EXECUTE FUNCTION report_stamp_rows('{via}')")
        return tuple(out)
    upsert = " ON CONFLICT (agency_id) DO UPDATE SET stamp = stamp + 1;"
    for table, via in WATCHED.items():
        for verb in ops[table]:
            name = f"report_stamp_{table}_{verb.lower()}"
            rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[verb]
            if via == "case_id":
                body = "".join(f'INSERT INTO report_stamp (agency_id, stamp) SELECT agency_id, 1 FROM "case" '
                               f"WHERE id = {r}.case_id{upsert} " for r in rows)
            else:
                body = "".join(f"INSERT INTO report_stamp (agency_id, stamp) SELECT {r}.{via}, 1 "
                               f"WHERE {r}.{via} IS NOT NULL{upsert} " for r in rows)
            when = f" WHEN {changed_case}" if table == "case" and verb == "UPDATE" else ""
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(f'CREATE TRIGGER {name} AFTER {verb} ON "{table}" FOR EACH ROW{when} BEGIN {body}END')
    return tuple(out)


def stamp_trigger_drop_sql(dialect: str) -> tuple[str, ...]:
    """The downgrade: every trigger, then the functions."""
    out = []
    for table in WATCHED:
        for verb in ("insert", "update", "delete"):
            name = f"report_stamp_{table}_{verb}"
            out.append(f'DROP TRIGGER IF EXISTS {name} ON "{table}"' if dialect == "postgresql"
                       else f"DROP TRIGGER IF EXISTS {name}")
    if dialect == "postgresql":
        out += ["DROP TRIGGER IF EXISTS report_stamp_pending_commit ON report_stamp_pending",
                "DROP FUNCTION IF EXISTS report_stamp_rows()", "DROP FUNCTION IF EXISTS report_stamp_case_row()",
                "DROP FUNCTION IF EXISTS report_stamp_bump(integer[])", "DROP FUNCTION IF EXISTS report_stamp_commit()"]
    return tuple(out)


def upgrade():
    op.create_table(
        "report_stamp",
        sa.Column("agency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agency_id"),
    )
    op.create_table(
        "report_stamp_pending",
        sa.Column("tx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tx", "agency_id"),
    )
    op.create_table(
        "report_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_report_cache_created_at", "report_cache", ["created_at"], unique=False)
    for stmt in stamp_trigger_sql(op.get_bind().dialect.name):
        op.execute(stmt)


def downgrade():
    for stmt in stamp_trigger_drop_sql(op.get_bind().dialect.name):
        op.execute(stmt)
    op.drop_index("ix_report_cache_created_at", table_name="report_cache")
    op.drop_table("report_cache")
    op.drop_table("report_stamp_pending")
    op.drop_table("report_stamp")
