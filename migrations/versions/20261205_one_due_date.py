"""case: ck_case_one_due_date - due_on and paused_due_on are never both set

Revision ID: 20261205_one_due_date
Revises: 20261205_case_applicant_name

A case's due date that stands is due_on while its clock runs unpaused and paused_due_on while it is
paused after its period ran out (webapp/cases/services/clock.py ``_derive``, the one writer of both;
domain CaseClock.due_on is None while paused, due_fixed_in_pause None unless paused). The overdue
lists read the two as branches joined by UNION ALL, each case in one branch (cases/queries.py).

Rows written by the application satisfy it (a closed case has neither). A row with both, made by
hand, stops the upgrade before anything is changed (``_refuse_both``: on SQLite a failed table copy
left _alembic_tmp_case behind, and the next upgrade failed on it): find it with
`SELECT id FROM "case" WHERE due_on IS NOT NULL AND paused_due_on IS NOT NULL`; for an open case
`flask cases recompute` derives both columns again; then upgrade again (docs/operations.md).

On SQLite the constraint is added by batch mode, which recreates the table: the triggers on "case"
(the report stamps of 20261205_report_cache) would go with the old table, so they are read from
sqlite_master first and created again after (the triggers of other tables that name "case" are kept
by legacy_alter_table while the new table takes the old one's name).
"""
from alembic import context, op

revision = "20261205_one_due_date"
down_revision = "20261205_case_applicant_name"
branch_labels = None
depends_on = None

NAME = "ck_case_one_due_date"
CONDITION = "due_on IS NULL OR paused_due_on IS NULL"


def _recreate(change) -> None:
    """``change(batch_op)`` in batch mode on "case", its triggers kept on SQLite."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        with op.batch_alter_table("case", schema=None) as batch_op:
            change(batch_op)
        return
    triggers = [sql for (sql,) in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'case' AND sql IS NOT NULL "
        "ORDER BY name")]
    bind.exec_driver_sql("PRAGMA legacy_alter_table = ON")
    try:
        with op.batch_alter_table("case", schema=None, recreate="always") as batch_op:
            change(batch_op)
    finally:
        bind.exec_driver_sql("PRAGMA legacy_alter_table = OFF")
    for sql in triggers:
        bind.exec_driver_sql(sql)


BOTH_SQL = 'SELECT id FROM "case" WHERE due_on IS NOT NULL AND paused_due_on IS NOT NULL ORDER BY id'


def _refuse_both() -> None:
    """Stop, before the table is touched, if a case has both dates (the constraint would fail)."""
    if context.is_offline_mode():
        return
    ids = [i for (i,) in op.get_bind().exec_driver_sql(BOTH_SQL)]
    if ids:
        shown = ", ".join(str(i) for i in ids[:20]) + (" ..." if len(ids) > 20 else "")
        raise RuntimeError(
            f"{len(ids)} case rows have both due_on and paused_due_on (ids {shown}), which the check "
            f"constraint {NAME} forbids; nothing was changed. Find them with `{BOTH_SQL}`, run "
            "`flask cases recompute` (an open case's dates are derived again), then upgrade again "
            "(docs/operations.md, \"Upgrading to the one due date\")")


def _drop_leftover_copy() -> None:
    """SQLite: the half-made copy an earlier failed upgrade left (batch mode copies "case" into
    _alembic_tmp_case, then drops "case" and renames the copy): dropped while "case" is still there."""
    bind = op.get_bind()
    if context.is_offline_mode() or bind.dialect.name != "sqlite":
        return
    names = {n for (n,) in bind.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('case', '_alembic_tmp_case')")}
    if names == {"case", "_alembic_tmp_case"}:
        bind.exec_driver_sql('DROP TABLE "_alembic_tmp_case"')


def upgrade():
    _refuse_both()
    _drop_leftover_copy()
    _recreate(lambda batch_op: batch_op.create_check_constraint(op.f(NAME), CONDITION))


def downgrade():
    _recreate(lambda batch_op: batch_op.drop_constraint(op.f(NAME), type_="check"))
