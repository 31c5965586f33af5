"""case history head: case.event_count and case.head_mac (flask audit verify sees a deleted tail)

Existing cases get 0 and "": run ``flask audit rekey`` once after this upgrade (docs/audit.md) to
re-chain the history under the installation's audit key and write every case's head.

Revision ID: 20261205_backup_verify
Revises: 20261205_accounts
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_backup_verify"
down_revision = "20261205_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("head_mac", sa.String(length=64), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("head_mac")
        batch_op.drop_column("event_count")
