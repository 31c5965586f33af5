"""Text search for a province-sized database (issue 15): pg_trgm GIN indexes on the item text and
the applicant name, so that ``ILIKE '%...%'`` no longer scans every item and applicant.

On PostgreSQL the extension pg_trgm is created first (it is a trusted extension: the database
owner may create it); on SQLite the same declarations are plain indexes. Building the item index
on a large installation takes a while (minutes for millions of items) and locks the table against
writes meanwhile: run the upgrade in a quiet hour.

Revision ID: 20261205_perf
Revises: 20261205_signing
"""
from alembic import op

revision = "20261205_perf"
down_revision = "20261205_signing"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_applicant_name_trgm", "applicant", ["name"], postgresql_using="gin",
                    postgresql_ops={"name": "gin_trgm_ops"})
    op.create_index("ix_case_item_text_trgm", "case_item", ["text"], postgresql_using="gin",
                    postgresql_ops={"text": "gin_trgm_ops"})


def downgrade():
    op.drop_index("ix_case_item_text_trgm", table_name="case_item")
    op.drop_index("ix_applicant_name_trgm", table_name="applicant")
    # the extension stays: other objects of the database may use it
