"""Review chains (审核、签发) per agency and kind, and the drafts on their way through them.

Two new tables; nothing existing changes. An agency without chain rows keeps today's behaviour
(answers, fee and correction notices recorded directly) and its clerks may request an extension,
signed off by an approver (docs/review.md).

Revision ID: 20261205_review
Revises: 20261205_supervision
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261205_review"
down_revision = "20261205_supervision"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "review_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_review_chain_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_chain")),
        sa.UniqueConstraint("agency_id", "kind", name=op.f("uq_review_chain_agency_id_kind")),
    )
    op.create_table(
        "review_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("formdata", JSON, nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("drafter_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_review_draft_agency_id_agency")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_review_draft_case_id_case")),
        sa.ForeignKeyConstraint(["drafter_id"], ["user.id"], name=op.f("fk_review_draft_drafter_id_user")),
        sa.ForeignKeyConstraint(["event_id"], ["case_event.id"], name=op.f("fk_review_draft_event_id_case_event")),
        sa.ForeignKeyConstraint(["signed_by_id"], ["user.id"], name=op.f("fk_review_draft_signed_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_draft")),
    )
    with op.batch_alter_table("review_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_draft_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_draft_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_draft_status"), ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("review_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_draft_status"))
        batch_op.drop_index(batch_op.f("ix_review_draft_case_id"))
        batch_op.drop_index(batch_op.f("ix_review_draft_agency_id"))
    op.drop_table("review_draft")
    op.drop_table("review_chain")
