"""Province scale (issue 15): two indexes on "case" and one on applicant.

- ``ix_case_received_id`` (received_on, id): every case newest first, whatever its agency. The case
  list of a government over 50 departments, and its searches by a common name or text, walk it and
  keep the rows of the visible agencies instead of sorting every match.
- ``ix_case_agency_closed_report`` (agency_id, closed_on) INCLUDE (received_on, applicant_kind,
  outcome) on PostgreSQL: the annual report's table 三 reads a year's cases (the open ones and those
  closed since the year began) from the index alone. On SQLite a plain (agency_id, closed_on) index.
- ``ix_applicant_agency_name`` (agency_id, name): the applicants of the visible agencies whose name
  begins with a short search term (王伟), read as one range per agency instead of every 王伟 of the
  province tested for its agency.

On a large installation run the upgrade in a quiet hour (it locks "case" against writes while the
indexes are built), or create them beforehand with ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``
under the same names and definitions; the upgrade then skips them.

Revision ID: 20261205_province
Revises: 20261205_register
"""
from alembic import op

revision = "20261205_province"
down_revision = "20261205_register"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_received_id", "case", ["received_on", "id"], if_not_exists=True)
    op.create_index("ix_case_agency_closed_report", "case", ["agency_id", "closed_on"],
                    postgresql_include=["received_on", "applicant_kind", "outcome"], if_not_exists=True)
    op.create_index("ix_applicant_agency_name", "applicant", ["agency_id", "name"], if_not_exists=True)


def downgrade():
    op.drop_index("ix_applicant_agency_name", table_name="applicant")
    op.drop_index("ix_case_agency_closed_report", table_name="case")
    op.drop_index("ix_case_received_id", table_name="case")
