"""Province scale (issue 15): the overdue list from an index alone.

``ix_case_overdue_cover`` (status, due_on, agency_id, received_on, id): the case list's 已逾期
(a running clock, due_on before today, the visible agencies, newest first) and the dashboard's
overdue list are answered by an index-only scan; before, a government's 8,000 open overdue cases
of the province were read from the table through ``ix_case_open_due`` and 4,600 of them sorted.

On a large installation create it beforehand with ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``
under the same name and definition; the upgrade then skips it.

Revision ID: 20261205_overdue_cover
Revises: 20261205_province
"""
from alembic import op

revision = "20261205_overdue_cover"
down_revision = "20261205_province"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_overdue_cover", "case", ["status", "due_on", "agency_id", "received_on", "id"],
                    if_not_exists=True)


def downgrade():
    op.drop_index("ix_case_overdue_cover", table_name="case")
