"""proactive_year.fees_10k_yuan to the fen: Numeric(14, 4) -> Numeric(15, 6)

Table 二's fee total in 万元 is kept exactly as entered, to the fen (6 decimals); 4 decimals
rounded published figures. Widening keeps every stored value; the downgrade narrows back to 4
decimals (values with a 5th or 6th decimal are rounded by the database there).

Revision ID: 20261205_ids_money
Revises: 0001_initial
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_ids_money"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("proactive_year") as batch:
        batch.alter_column("fees_10k_yuan", existing_type=sa.Numeric(precision=14, scale=4),
                           type_=sa.Numeric(precision=15, scale=6), existing_nullable=False)


def downgrade():
    with op.batch_alter_table("proactive_year") as batch:
        batch.alter_column("fees_10k_yuan", existing_type=sa.Numeric(precision=15, scale=6),
                           type_=sa.Numeric(precision=14, scale=4), existing_nullable=False)
