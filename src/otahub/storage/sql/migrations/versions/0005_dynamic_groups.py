"""dynamic_groups: the query, query version and index of dynamic thing groups

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("thing_groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("query_string", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("query_version", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("index_name", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_thing_groups_index_name"), ["index_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("thing_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thing_groups_index_name"))
        batch_op.drop_column("index_name")
        batch_op.drop_column("query_version")
        batch_op.drop_column("query_string")
