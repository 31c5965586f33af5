"""The case history is append-only: guards in the ORM and, on PostgreSQL, in the database.

1. ``before_flush`` (every SQLAlchemy Session): a CaseEvent that is already persisted may not be
   changed or deleted. A pending event (added in this flush, e.g. record_event setting the
   ``approved_by`` of an extension before the flush) is fine.
2. ``do_orm_execute``: ORM-enabled ``update(CaseEvent)`` / ``delete(CaseEvent)`` statements are
   refused too (they bypass the unit of work and so the first guard).
3. PostgreSQL: a trigger refuses UPDATE, DELETE and TRUNCATE on ``case_event`` whoever sends the SQL.
   The only way through is a purge, for emptying a test database: a session that sets
   ``SET LOCAL disclosure.allow_purge = 'on'`` *and* is a member of the table owner's role may
   DELETE (and TRUNCATE) - never UPDATE. The owner can disable the trigger anyway, so the purge
   gives the owner nothing more; running the application as a role that does not own the tables
   (docs/operations.md) keeps the history out of the application's own reach.

``CASE_EVENT_TRIGGER_SQL`` holds the DDL; the Alembic migration 0001_initial runs a copy of the same
statements (migrations do not import the app; tests/test_migrations.py checks the copy is equal), and
``CASE_EVENT_TRIGGER_DROP_SQL`` for the downgrade. The statements use no ``%`` and no ``:name`` so
that DDL(), text() and op.execute() all pass them through unchanged.
"""

from __future__ import annotations

from sqlalchemy import DDL, event, inspect
from sqlalchemy.orm import Session

from webapp.models import CaseEvent

PURGE_SETTING = "disclosure.allow_purge"

#: The append-only trigger on case_event (PostgreSQL), as separate statements.
CASE_EVENT_TRIGGER_SQL: tuple[str, ...] = (
    """
CREATE OR REPLACE FUNCTION case_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND coalesce(current_setting('disclosure.allow_purge', true), '') = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
    THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'case_event is append-only: ' || TG_OP || ' refused',
        HINT = 'a correction is a new event that references the one it corrects';
END
$fn$
""",
    "DROP TRIGGER IF EXISTS case_event_append_only_rows ON case_event",
    "DROP TRIGGER IF EXISTS case_event_append_only_truncate ON case_event",
    """
CREATE TRIGGER case_event_append_only_rows
    BEFORE UPDATE OR DELETE ON case_event
    FOR EACH ROW EXECUTE FUNCTION case_event_append_only()
""",
    """
CREATE TRIGGER case_event_append_only_truncate
    BEFORE TRUNCATE ON case_event
    FOR EACH STATEMENT EXECUTE FUNCTION case_event_append_only()
""",
)

CASE_EVENT_TRIGGER_DROP_SQL: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS case_event_append_only_rows ON case_event",
    "DROP TRIGGER IF EXISTS case_event_append_only_truncate ON case_event",
    "DROP FUNCTION IF EXISTS case_event_append_only()",
)


class HistoryTampering(RuntimeError):
    """An attempt to change or delete a recorded case event."""


def _refuse_changed_events(session: Session, flush_context, instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, CaseEvent):
            raise HistoryTampering(f"case event {obj.id} (case {obj.case_id}, seq {obj.seq}) cannot be "
                                   "deleted: the case history is append-only")
    for obj in session.dirty:
        if not isinstance(obj, CaseEvent):
            continue
        state = inspect(obj)
        if not state.persistent:
            continue
        if session.is_modified(obj, include_collections=False):
            changed = sorted(a.key for a in state.attrs if a.history.has_changes())
            raise HistoryTampering(f"case event {obj.id} (case {obj.case_id}, seq {obj.seq}) cannot be "
                                   f"changed ({', '.join(changed)}): the case history is append-only; "
                                   "record a correction instead")


def _refuse_bulk_statements(orm_execute_state) -> None:
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    if mapper is not None and mapper.class_ is CaseEvent:
        raise HistoryTampering("bulk UPDATE/DELETE of case events is refused: the history is append-only")


_installed = False


def install_guards() -> None:
    """Attach the guards (idempotent). Called by create_app() before any create_all()."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _refuse_changed_events)
    event.listen(Session, "do_orm_execute", _refuse_bulk_statements)
    for stmt in CASE_EVENT_TRIGGER_SQL:
        event.listen(CaseEvent.__table__, "after_create", DDL(stmt).execute_if(dialect="postgresql"))
    _installed = True
