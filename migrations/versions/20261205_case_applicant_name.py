"""Province scale (issue 15): a name search reads only a page of each name's cases, in the list's order.

``case.applicant_name``: the name of the case's applicant as filed, copied from its applicant row
(which is never changed after: each case has its own), with ``ix_case_agency_applicant_name``
(agency_id, applicant_name, received_on, id): the newest cases of one name in one agency are the
first entries of one range of it, so a page reads at most (agencies x names) x (a page + 1) entries
however many people share the name (on the million-case bench a government's 1,411 cases of 王伟芳
were read and sorted for every page).

``ix_case_agency_received_id`` (agency_id, received_on, id) replaces ``ix_case_agency_received``
(agency_id, received_on): an agency's cases in the list's exact order, so that PostgreSQL walks one
agency's cases for its search instead of every agency's, newest first (the largest agency's item
text search read 3,340 cases to keep 393).

``applicant_name``: each distinct applicant name once (filled from the applicant rows), with a
pg_trgm GIN index ``ix_applicant_name_name_trgm``: a name term is looked up among the names (a few
rows), not among the applicants (every holder of the name, each read from the table).

The column is filled from the applicant rows (one UPDATE: on a large installation it rewrites every
case row). The two indexes on case may be created beforehand with ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``
under the same names and definitions; the upgrade then skips them.

Revision ID: 20261205_case_applicant_name
Revises: 20261205_applicant_name_cover
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_case_applicant_name"
down_revision = "20261205_applicant_name_cover"
branch_labels = None
depends_on = None


def upgrade():
    # a plain ADD COLUMN on both (SQLite adds a column with a constant default in place; a batch
    # copy of "case" would trip over the report stamps' triggers that name the table)
    op.add_column("case", sa.Column("applicant_name", sa.String(length=200), nullable=False, server_default=""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute('UPDATE "case" SET applicant_name = a.name FROM applicant a WHERE a.id = "case".applicant_id')
    else:
        op.execute('UPDATE "case" SET applicant_name = COALESCE('
                   '(SELECT name FROM applicant WHERE applicant.id = "case".applicant_id), \'\')')
    op.create_index("ix_case_agency_applicant_name", "case", ["agency_id", "applicant_name", "received_on", "id"],
                    if_not_exists=True)
    op.create_index("ix_case_agency_received_id", "case", ["agency_id", "received_on", "id"], if_not_exists=True)
    op.drop_index("ix_case_agency_received", table_name="case", if_exists=True)
    op.create_table("applicant_name", sa.Column("name", sa.String(length=200), nullable=False),
                    sa.PrimaryKeyConstraint("name", name=op.f("pk_applicant_name")))
    op.execute("INSERT INTO applicant_name (name) SELECT DISTINCT name FROM applicant WHERE name <> ''")
    op.create_index("ix_applicant_name_name_trgm", "applicant_name", ["name"], postgresql_using="gin",
                    postgresql_ops={"name": "gin_trgm_ops"})


def downgrade():
    op.drop_index("ix_applicant_name_name_trgm", table_name="applicant_name")
    op.drop_table("applicant_name")
    op.create_index("ix_case_agency_received", "case", ["agency_id", "received_on"], if_not_exists=True)
    op.drop_index("ix_case_agency_received_id", table_name="case")
    op.drop_index("ix_case_agency_applicant_name", table_name="case")
    if op.get_bind().dialect.name == "sqlite":    # SQLite 3.35+: in place (see upgrade)
        op.execute('ALTER TABLE "case" DROP COLUMN applicant_name')
    else:
        op.drop_column("case", "applicant_name")
