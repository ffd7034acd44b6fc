"""managed integrations: managed things, OTA task configurations, OTA tasks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-15
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "managed_things",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("managed_thing_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("authentication_material", sa.Text(), nullable=False),
        sa.Column("authentication_material_type", sa.String(length=64), nullable=False),
        sa.Column("provisioning_status", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("credential_locker_id", sa.String(length=64), nullable=True),
        sa.Column("serial_number", sa.String(length=128), nullable=True),
        sa.Column("brand", sa.String(length=128), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("classification", sa.String(length=64), nullable=True),
        sa.Column("hub_network_mode", sa.String(length=32), nullable=True),
        sa.Column("meta_data", sa.JSON(), nullable=True),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_managed_things")),
        sa.UniqueConstraint("managed_thing_id", name=op.f("uq_managed_things_managed_thing_id")),
        sa.UniqueConstraint("client_token", name=op.f("uq_managed_things_client_token")),
    )
    with op.batch_alter_table("managed_things", schema=None) as batch_op:
        batch_op.create_index("ix_managed_things_owner", ["owner"], unique=False)

    op.create_table(
        "ota_task_configurations",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("configuration_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("push_config", sa.JSON(), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ota_task_configurations")),
        sa.UniqueConstraint("configuration_id", name=op.f("uq_ota_task_configurations_configuration_id")),
        sa.UniqueConstraint("client_token", name=op.f("uq_ota_task_configurations_client_token")),
    )

    op.create_table(
        "ota_tasks",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=200), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("s3_url", sa.String(length=1000), nullable=False),
        sa.Column("ota_type", sa.String(length=16), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("mechanism", sa.String(length=16), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("query_string", sa.Text(), nullable=True),
        sa.Column("group_name", sa.String(length=128), nullable=True),
        sa.Column("task_configuration_id", sa.String(length=64), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("retry", sa.JSON(), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ota_tasks")),
        sa.UniqueConstraint("task_id", name=op.f("uq_ota_tasks_task_id")),
        sa.UniqueConstraint("client_token", name=op.f("uq_ota_tasks_client_token")),
    )
    with op.batch_alter_table("ota_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_ota_tasks_task_configuration_id", ["task_configuration_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ota_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_ota_tasks_task_configuration_id")
    op.drop_table("ota_tasks")
    op.drop_table("ota_task_configurations")
    with op.batch_alter_table("managed_things", schema=None) as batch_op:
        batch_op.drop_index("ix_managed_things_owner")
    op.drop_table("managed_things")
