"""register column mappings (台账导入的列对应关系), one per agency

Revision ID: 20261205_register
Revises: 20261205_reach
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261205_register"
down_revision = "20261205_reach"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "register_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("mapping", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_register_mapping_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_mapping")),
        sa.UniqueConstraint("agency_id", name=op.f("uq_register_mapping_agency_id")),
    )


def downgrade():
    op.drop_table("register_mapping")
