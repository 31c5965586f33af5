"""delivery, archive_setting, case_archive: delivery records of letters (送达) and the case file (归档)

Revision ID: 20261205_delivery
Revises: 20261205_review
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_delivery"
down_revision = "20261205_review"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "archive_setting",
        sa.Column("agency_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pattern", sa.String(length=100), nullable=False),
        sa.Column("retention", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_archive_setting_agency_id_agency")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user.id"], name=op.f("fk_archive_setting_updated_by_id_user")),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_archive_setting")),
    )
    op.create_table(
        "case_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("archive_no", sa.String(length=100), nullable=False),
        sa.Column("retention", sa.String(length=20), nullable=False),
        sa.Column("archived_on", sa.Date(), nullable=False),
        sa.Column("archived_by_id", sa.Integer(), nullable=True),
        sa.Column("dossier_attachment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_case_archive_agency_id_agency")),
        sa.ForeignKeyConstraint(["archived_by_id"], ["user.id"], name=op.f("fk_case_archive_archived_by_id_user")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_archive_case_id_case")),
        sa.ForeignKeyConstraint(["dossier_attachment_id"], ["attachment.id"],
                                name=op.f("fk_case_archive_dossier_attachment_id_attachment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_archive")),
        sa.UniqueConstraint("agency_id", "year", "seq", name=op.f("uq_case_archive_agency_id_year_seq")),
        sa.UniqueConstraint("archive_no", name=op.f("uq_case_archive_archive_no")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_archive_case_id")),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("letter_event_id", sa.Integer(), nullable=True),
        sa.Column("letter_kind", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("tracking_no", sa.String(length=40), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("proof_attachment_id", sa.Integer(), nullable=True),
        sa.Column("proof", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_delivery_agency_id_agency")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_delivery_case_id_case")),
        sa.ForeignKeyConstraint(["letter_event_id"], ["case_event.id"], name=op.f("fk_delivery_letter_event_id_case_event")),
        sa.ForeignKeyConstraint(["proof_attachment_id"], ["attachment.id"],
                                name=op.f("fk_delivery_proof_attachment_id_attachment")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], name=op.f("fk_delivery_recorded_by_id_user")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["delivery.id"], name=op.f("fk_delivery_resolved_by_id_delivery")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_agency_status", ["agency_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_case_id"))
        batch_op.drop_index("ix_delivery_agency_status")
    op.drop_table("delivery")
    op.drop_table("case_archive")
    op.drop_table("archive_setting")
