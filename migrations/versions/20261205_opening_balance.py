"""report_version.opening: an agency's opening balance (期初数（上年已公开报告）)

Revision ID: 20261205_opening
Revises: 20261205_desk_tools
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_opening"
down_revision = "20261205_desk_tools"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("report_version", schema=None) as batch_op:
        batch_op.drop_column("opening")
