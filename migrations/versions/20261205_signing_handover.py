"""签收: routed applications wait for the receiving office (handover)

Revision ID: 20261205_signing
Revises: 20261205_opening
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_signing"
down_revision = "20261205_opening"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("from_agency_id", sa.Integer(), nullable=False),
        sa.Column("to_agency_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("routed_at", sa.DateTime(), nullable=False),
        sa.Column("routed_on", sa.Date(), nullable=False),
        sa.Column("routed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.Column("returned_by_id", sa.Integer(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_handover_case_id_case")),
        sa.ForeignKeyConstraint(["from_agency_id"], ["agency.id"], name=op.f("fk_handover_from_agency_id_agency")),
        sa.ForeignKeyConstraint(["to_agency_id"], ["agency.id"], name=op.f("fk_handover_to_agency_id_agency")),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], name=op.f("fk_handover_submission_id_submission")),
        sa.ForeignKeyConstraint(["routed_by_id"], ["user.id"], name=op.f("fk_handover_routed_by_id_user")),
        sa.ForeignKeyConstraint(["signed_by_id"], ["user.id"], name=op.f("fk_handover_signed_by_id_user")),
        sa.ForeignKeyConstraint(["returned_by_id"], ["user.id"], name=op.f("fk_handover_returned_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover")),
    )
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.create_index("ix_handover_to_status", ["to_agency_id", "status"], unique=False)
        batch_op.create_index("ix_handover_from_status", ["from_agency_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_handover_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handover_submission_id"), ["submission_id"], unique=False)


def downgrade():
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_submission_id"))
        batch_op.drop_index(batch_op.f("ix_handover_case_id"))
        batch_op.drop_index("ix_handover_from_status")
        batch_op.drop_index("ix_handover_to_status")
    op.drop_table("handover")
