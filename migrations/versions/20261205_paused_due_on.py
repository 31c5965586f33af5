"""case.paused_due_on: while the clock is paused, the due date if the period had run out when the
pause began (the overdue lists read it beside due_on; domain CaseClock.due_fixed_in_pause)

Revision ID: 20261205_paused_due
Revises: 20261205_overdue_cover

Existing paused cases get the value when their deadlines are next derived (any new event, or
`flask cases recompute`, which docs/operations.md asks for once after this upgrade).
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_paused_due"
down_revision = "20261205_overdue_cover"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_due_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_case_paused_due", ["paused_due_on"], unique=False)


def downgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_paused_due")
        batch_op.drop_column("paused_due_on")
