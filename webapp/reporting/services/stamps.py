"""Each agency's report change stamp (``report_stamp``), raised by the database itself whenever a row
that the agency's annual report reads changes: triggers, so that no writer can miss it (a service's
flush, a Core UPDATE, the bulk import's COPY, a psql session alike).

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

PostgreSQL: statement-level triggers with transition tables (one stamp update per agency per
statement, so the bulk import's COPY of 300,000 cases costs one update per agency), and a row trigger
with a WHEN clause on ``case`` updates; SQLite: row triggers. The stamp is a counter per agency,
raised once per statement that changes the agency's rows: it changes inside a transaction too (a
service that changes a case and then shows the report), and a concurrent transaction raising the same
agency's stamp waits for the first one's commit (the row's lock) and raises it again.

``stamp_trigger_sql(dialect)`` gives the DDL; create_all runs it (``install``), the migration
20261205_report_cache runs a copy of the same generator (tests/reports/test_report_cache.py checks
the copy is equal). No ``%`` and no ``:name`` in the statements (DDL(), text(), op.execute()).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import DDL, event, select

from webapp.extensions import db
from webapp.models import ReportStamp

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
    INSERT INTO report_stamp AS s (agency_id, stamp)
    SELECT DISTINCT a, 1 FROM unnest(ids) AS u(a) WHERE a IS NOT NULL ORDER BY 1
    ON CONFLICT (agency_id) DO UPDATE SET stamp = s.stamp + 1
$fn$
""",
            """
CREATE OR REPLACE FUNCTION report_stamp_rows() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    ids integer[] := '{}';
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_ARGV[0] = 'case_id' THEN
            ids := ids || ARRAY(SELECT c.agency_id FROM new_rows n JOIN "case" c ON c.id = n.case_id);
        ELSIF TG_ARGV[0] = 'id' THEN
            ids := ids || ARRAY(SELECT n.id FROM new_rows n);
        ELSE
            ids := ids || ARRAY(SELECT n.agency_id FROM new_rows n);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF TG_ARGV[0] = 'case_id' THEN
            ids := ids || ARRAY(SELECT c.agency_id FROM old_rows o JOIN "case" c ON c.id = o.case_id);
        ELSIF TG_ARGV[0] = 'id' THEN
            ids := ids || ARRAY(SELECT o.id FROM old_rows o);
        ELSE
            ids := ids || ARRAY(SELECT o.agency_id FROM old_rows o);
        END IF;
    END IF;
    PERFORM report_stamp_bump(ids);
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
        out += ["DROP FUNCTION IF EXISTS report_stamp_rows()", "DROP FUNCTION IF EXISTS report_stamp_case_row()",
                "DROP FUNCTION IF EXISTS report_stamp_bump(integer[])"]
    return tuple(out)


_installed = False


def install() -> None:
    """create_all() creates the triggers after the tables (idempotent). Called by create_app()."""
    global _installed
    if _installed:
        return
    for dialect in ("postgresql", "sqlite"):
        for stmt in stamp_trigger_sql(dialect):
            event.listen(db.metadata, "after_create", DDL(stmt).execute_if(dialect=dialect))
    _installed = True


def stamps_of(agency_ids: Iterable[int]) -> dict[int, int]:
    """The agencies' stamps (0: nothing written since the triggers came). The session flushes first, so a
    change of this transaction is in them."""
    ids = sorted(set(agency_ids))
    found = dict(db.session.execute(select(ReportStamp.agency_id, ReportStamp.stamp)
                                    .where(ReportStamp.agency_id.in_(ids))).all()) if ids else {}
    return {i: found.get(i, 0) for i in ids}
