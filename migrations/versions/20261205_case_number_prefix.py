"""Province scale (issue 15): a registration's last number read from an index of the agency's numbers.

``ix_case_agency_number_prefix`` (agency_id, number varchar_pattern_ops) on PostgreSQL: the
registration reads the largest serial under the agency's prefix of the year (``number LIKE
'CODE-2026-%'``, cases/services/registration.py ``last_serial_recorded``). ``uq_case_number`` cannot
serve a LIKE under a database collation other than C (C.UTF-8 included), so PostgreSQL read every case
of the agency and filtered them: on the million-case bench the largest agency's registration read
23,220 buffers, about 120-190 ms; with this index 5 buffers, 0.08 ms (a year of 13,000 numbers: 57
buffers, about 5 ms). On SQLite a plain (agency_id, number) index (its LIKE is caseless and uses no
index; the embedded database is small).

On a large installation create it beforehand with ``CREATE INDEX CONCURRENTLY IF NOT EXISTS
ix_case_agency_number_prefix ON "case" (agency_id, number varchar_pattern_ops)``; the upgrade then
skips it.
If such a build failed it leaves an INVALID index of that name, which the upgrade would
skip: check `SELECT indisvalid FROM pg_index WHERE indexrelid = '<name>'::regclass` first and drop
an invalid one.

Revision ID: 20261205_case_number_prefix
Revises: 20261205_agency_status_cover
"""
from alembic import op

revision = "20261205_case_number_prefix"
down_revision = "20261205_agency_status_cover"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_agency_number_prefix", "case", ["agency_id", "number"],
                    postgresql_ops={"number": "varchar_pattern_ops"}, if_not_exists=True)


def downgrade():
    op.drop_index("ix_case_agency_number_prefix", table_name="case", if_exists=True)
