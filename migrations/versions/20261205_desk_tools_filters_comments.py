"""saved_filter (a user's named case-list search) and case_comment (internal comments on a case)

Revision ID: 20261205_desk_tools
Revises: 20261205_delivery
"""
import sqlalchemy as sa
from alembic import op

revision = "20261205_desk_tools"
down_revision = "20261205_delivery"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_saved_filter_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_filter_user_name"),
    )
    with op.batch_alter_table("saved_filter") as batch:
        batch.create_index(batch.f("ix_saved_filter_user_id"), ["user_id"], unique=False)
    op.create_table(
        "case_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], name=op.f("fk_case_comment_author_id_user")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_comment_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_comment")),
    )
    with op.batch_alter_table("case_comment") as batch:
        batch.create_index(batch.f("ix_case_comment_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("case_comment") as batch:
        batch.drop_index(batch.f("ix_case_comment_case_id"))
    op.drop_table("case_comment")
    with op.batch_alter_table("saved_filter") as batch:
        batch.drop_index(batch.f("ix_saved_filter_user_id"))
    op.drop_table("saved_filter")
