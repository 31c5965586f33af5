"""Reach: SMS beside e-mail through the same outbox, quiet hours per agency, and who wants what.

outbox_mail: channel ("email" | "sms"), not_before (quiet hours), provider_ref (the provider's
message id); agency.quiet_hours (JSON); user.notify_via + user.mobile (the staff profile);
case.notify_via and submission.notify_via (the applicant's choice, as filed).

Revision ID: 20261205_reach
Revises: 20261205_perf
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261205_reach"
down_revision = "20261205_perf"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _via():
    return sa.Column("notify_via", sa.String(length=10), nullable=False, server_default="email")


def upgrade():
    with op.batch_alter_table("outbox_mail") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=10), nullable=False, server_default="email"))
        batch.add_column(sa.Column("not_before", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("provider_ref", sa.String(length=100), nullable=False, server_default=""))
    with op.batch_alter_table("agency") as batch:
        batch.add_column(sa.Column("quiet_hours", JSON, nullable=False, server_default="{}"))
    with op.batch_alter_table("user") as batch:
        batch.add_column(_via())
        batch.add_column(sa.Column("mobile", sa.String(length=20), nullable=False, server_default=""))
    with op.batch_alter_table("case") as batch:
        batch.add_column(_via())
    with op.batch_alter_table("submission") as batch:
        batch.add_column(_via())


def downgrade():
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("notify_via")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("notify_via")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("mobile")
        batch.drop_column("notify_via")
    with op.batch_alter_table("agency") as batch:
        batch.drop_column("quiet_hours")
    with op.batch_alter_table("outbox_mail") as batch:
        batch.drop_column("provider_ref")
        batch.drop_column("not_before")
        batch.drop_column("channel")
