"""Province scale (issue 15): a government's case list walks every case newest first from an index
that also holds each case's agency.

``ix_case_received_id_cover`` (received_on, id) INCLUDE (agency_id) on PostgreSQL replaces
``ix_case_received_id`` (received_on, id), the same key: a government's list (its departments' cases
newest first, cases/whole_list.py and cases/queries.py) walks it and keeps its agencies' cases; with
the agency in the index the walk reads no table row to test it (an index-only scan). The
government's page 10 on the million-case bench: 876 -> 461 buffers, 0.94 -> 0.56 ms; page 1 500 ->
459. On SQLite a plain (received_on, id) index, as before, under the new name.

On a large installation create it beforehand with ``CREATE INDEX CONCURRENTLY IF NOT EXISTS
ix_case_received_id_cover ON "case" (received_on, id) INCLUDE (agency_id)``; the upgrade then skips
it and drops the old index.
If such a build failed it leaves an INVALID index of that name, which the upgrade would
skip: check `SELECT indisvalid FROM pg_index WHERE indexrelid = '<name>'::regclass` first and drop
an invalid one.

Revision ID: 20261205_received_cover
Revises: 20261205_case_status_count
"""
from alembic import op

revision = "20261205_received_cover"
down_revision = "20261205_case_status_count"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_received_id_cover", "case", ["received_on", "id"], postgresql_include=["agency_id"],
                    if_not_exists=True)
    op.drop_index("ix_case_received_id", table_name="case", if_exists=True)


def downgrade():
    op.create_index("ix_case_received_id", "case", ["received_on", "id"], if_not_exists=True)
    op.drop_index("ix_case_received_id_cover", table_name="case", if_exists=True)
