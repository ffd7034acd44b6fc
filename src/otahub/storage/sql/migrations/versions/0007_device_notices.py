"""device_notices: things whose pending job executions changed, to push notify / notify-next to

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_notices",
        sa.Column("thing_name", sa.String(length=128), nullable=False),
        sa.Column("noted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("thing_name", name=op.f("pk_device_notices")),
    )
    with op.batch_alter_table("device_notices", schema=None) as batch_op:
        batch_op.create_index("ix_device_notices_noted_at", ["noted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_device_notices_noted_at")

    op.drop_table("device_notices")
