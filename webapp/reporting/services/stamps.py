"""Each agency's report change stamp (``report_stamp``), raised by the database itself whenever a row
that the agency's annual report reads changes: triggers, so that no writer can miss it (a service's
flush, a Core UPDATE, the bulk import's COPY, a psql session alike; not a TRUNCATE, which fires no
row trigger: after truncating a watched table by hand, empty ``report_cache``).

What the report of an agency reads (reporting/services: build.py's one statement, report_docs.py's
profile and narrative, closeout.py and opening.py's frozen versions, the ledger) and so what raises
its stamp (``WATCHED``: the table and how a row names its agency):

- ``agency``: its code, name, kind, profile and report policies (counting unit, appeal year), on
  INSERT and UPDATE (a deleted agency's stamp row goes with it: ON DELETE CASCADE);
- ``case``: INSERT and DELETE, and an UPDATE that changes one of ``CASE_COLUMNS`` (the columns the
  cells of tables 三 and the fee total read; every other update, such as a new event's version and
  due date, leaves the stamp as it is);
- ``case_item`` (through its case), ``appeal``, ``proactive_year``, ``proactive_document``,
  ``report_version`` (close-out, final, opening balance) and ``narrative``: every INSERT, UPDATE and
  DELETE.

Not watched: the holiday calendar (no figure of tables 一 to 五 counts working days: table 三 counts by
dates of receipt and end, table 四 by dates of filing and decision) and the case history (the report
reads the case row the history maintains).

PostgreSQL: statement-level triggers with transition tables (one mark per agency per statement, so
the bulk import's COPY of 300,000 cases costs one per agency), and a row trigger with a WHEN clause on
``case`` updates. A trigger only marks the agency in ``report_stamp_pending`` under the transaction's
id (a row of its own: no wait on another transaction); a deferred constraint trigger raises the
agency's ``report_stamp`` and removes the mark when the transaction commits (all of the transaction's agencies
at once, in agency order, so that two transactions committing changes to the same agencies cannot
deadlock on their stamps). So a stamp's row is
locked only while a transaction commits (two clerks answering cases of one agency, or the sweep
lapsing many, never wait on each other before that, and cannot deadlock on it with their case rows),
and the committed stamp changes exactly when the change becomes visible. Inside the transaction its
own marks count (``stamps_of``): a report it shows after its change has another key. SQLite (one
writer at a time anyway): row triggers raise ``report_stamp`` at once.

``stamp_trigger_sql(dialect)`` gives the DDL; create_all runs it (``install``), the migration
20261205_report_cache runs a copy of the same generator (tests/reports/test_report_cache.py checks
the copy is equal). No ``%`` and no ``:name`` in the statements (DDL(), text(), op.execute()).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, func, null, select, type_coerce, union_all

from webapp.extensions import db
from webapp.models import ReportStamp, ReportStampPending
from webapp.models.ddl import create_after_tables

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


#: PL/pgSQL: a committing transaction's report stamps raised, in agency order, and its marks removed
#: (report_stamp_commit's body; the status counter's commit runs it first too, cases/status_counts.py)
RAISE_STAMPS_PLPGSQL = """    INSERT INTO report_stamp AS s (agency_id, stamp)
    SELECT p.agency_id, 1 FROM report_stamp_pending p
    WHERE p.tx = NEW.tx AND EXISTS (SELECT 1 FROM agency WHERE id = p.agency_id)
    ORDER BY p.agency_id
    ON CONFLICT (agency_id) DO UPDATE SET stamp = s.stamp + 1;
    DELETE FROM report_stamp_pending WHERE tx = NEW.tx;
"""


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
""" + RAISE_STAMPS_PLPGSQL + """    RETURN NULL;
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


def install() -> None:
    """create_all() creates the triggers after the tables (idempotent). Called by create_app()."""
    create_after_tables("report_stamps", stamp_trigger_sql)


def stamps_of(agency_ids: Iterable[int]) -> dict[int, list[int]]:
    """Each agency's stamp as a value to key on: [stamp] (0: nothing written since the triggers came),
    and on PostgreSQL, where this transaction changed the agency's rows, [stamp, this transaction's id,
    its count of such statements] (the committed stamp moves only at its commit). The session flushes
    first, so a change of this transaction is in them."""
    ids = sorted(set(agency_ids))
    if not ids:
        return {}
    out = {i: [0] for i in ids}
    s = ReportStamp
    def none(name: str):
        return type_coerce(null(), BigInteger).label(name)

    stmt = select(s.agency_id, s.stamp, none("tx"), none("n")).where(s.agency_id.in_(ids))
    if db.session.get_bind().dialect.name == "postgresql":     # and this transaction's marks, in one round trip
        p = ReportStampPending
        stmt = union_all(stmt, select(p.agency_id, none("stamp"), p.tx, p.n).where(
            p.tx == func.txid_current_if_assigned(), p.agency_id.in_(ids)))
    marks = {}
    for aid, stamp, tx, n in db.session.execute(stmt):
        if tx is None:
            out[aid] = [stamp]
        else:
            marks[aid] = [tx, n]
    for aid, mark in marks.items():
        out[aid] = [out[aid][0], *mark]
    return out
