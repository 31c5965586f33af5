"""Province scale (issue 15): one agency's overdue list from its own range of an index.

``ix_case_agency_status_due_cover`` (agency_id, status, due_on) INCLUDE (received_on, id) on
PostgreSQL replaces ``ix_case_agency_status_due`` (agency_id, status, due_on): the same key, with
the columns the overdue list's page reads (cases/overdue.py, cases/queries.py ``Search._firsts``).
Without them PostgreSQL read one agency's overdue cases from ``ix_case_overdue_cover`` (status,
due_on, agency_id, ...), walking every agency's overdue cases of the status before its own: a small
department's page and count of the million-case bench read 71 buffers, 0.42 ms; 22 buffers, 0.08 ms
with this index. On SQLite a plain (agency_id, status, due_on) index, as before, under the new name.

On a large installation create it beforehand with ``CREATE INDEX CONCURRENTLY IF NOT EXISTS
ix_case_agency_status_due_cover ON "case" (agency_id, status, due_on) INCLUDE (received_on, id)``;
the upgrade then skips it and drops the old index.
If such a build failed it leaves an INVALID index of that name, which the upgrade would
skip: check `SELECT indisvalid FROM pg_index WHERE indexrelid = '<name>'::regclass` first and drop
an invalid one.

Revision ID: 20261205_agency_status_cover
Revises: 20261205_one_due_date
"""
from alembic import op

revision = "20261205_agency_status_cover"
down_revision = "20261205_one_due_date"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_agency_status_due_cover", "case", ["agency_id", "status", "due_on"],
                    postgresql_include=["received_on", "id"], if_not_exists=True)
    op.drop_index("ix_case_agency_status_due", table_name="case", if_exists=True)


def downgrade():
    op.create_index("ix_case_agency_status_due", "case", ["agency_id", "status", "due_on"], if_not_exists=True)
    op.drop_index("ix_case_agency_status_due_cover", table_name="case")
