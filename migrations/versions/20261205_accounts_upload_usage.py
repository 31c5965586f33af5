"""upload_usage: bytes of public-form attachments per address and day (the daily upload quota)

Revision ID: 20261205_accounts
Revises: 20261205_ids_money
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_accounts"
down_revision = "20261205_ids_money"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upload_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remote_addr", sa.String(length=80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_usage")),
        sa.UniqueConstraint("remote_addr", "day", name="uq_upload_usage_addr_day"),
    )


def downgrade():
    op.drop_table("upload_usage")
