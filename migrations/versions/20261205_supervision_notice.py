"""supervision notices (督办通知)

Revision ID: 20261205_supervision
Revises: 20261205_backup_verify
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_supervision"
down_revision = "20261205_backup_verify"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supervision_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("government_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("reply_by", sa.Date(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_by_name", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("replied_on", sa.Date(), nullable=True),
        sa.Column("replied_by_id", sa.Integer(), nullable=True),
        sa.Column("replied_by_name", sa.String(length=100), nullable=False),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_supervision_notice_agency_id_agency")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_supervision_notice_case_id_case")),
        sa.ForeignKeyConstraint(["government_id"], ["agency.id"],
                                name=op.f("fk_supervision_notice_government_id_agency")),
        sa.ForeignKeyConstraint(["replied_by_id"], ["user.id"], name=op.f("fk_supervision_notice_replied_by_id_user")),
        sa.ForeignKeyConstraint(["sent_by_id"], ["user.id"], name=op.f("fk_supervision_notice_sent_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_notice")),
    )
    with op.batch_alter_table("supervision_notice", schema=None) as batch_op:
        batch_op.create_index("ix_supervision_notice_agency_replied", ["agency_id", "replied_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_notice_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_supervision_notice_government_id"), ["government_id"], unique=False)


def downgrade():
    with op.batch_alter_table("supervision_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_notice_government_id"))
        batch_op.drop_index(batch_op.f("ix_supervision_notice_case_id"))
        batch_op.drop_index("ix_supervision_notice_agency_replied")
    op.drop_table("supervision_notice")
