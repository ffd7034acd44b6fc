"""iotwireless: destinations, LoRaWAN wireless devices, multicast groups, FUOTA tasks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-17
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _audit() -> list[sa.Column[Any]]:
    return [sa.Column("client_token", sa.String(length=64), nullable=True),
            sa.Column("request_hash", sa.String(length=64), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "wireless_destinations",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("expression_type", sa.String(length=16), nullable=False),
        sa.Column("expression", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("role_arn", sa.String(length=2048), nullable=False),
        *_audit(),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_wireless_destinations")),
        sa.UniqueConstraint("client_token", name=op.f("uq_wireless_destinations_client_token")),
        sa.UniqueConstraint("name", name=op.f("uq_wireless_destinations_name")),
    )

    op.create_table(
        "wireless_devices",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("destination_name", sa.String(length=128), nullable=False),
        sa.Column("dev_eui", sa.String(length=16), nullable=True),
        sa.Column("device_profile_id", sa.String(length=256), nullable=True),
        sa.Column("service_profile_id", sa.String(length=256), nullable=True),
        sa.Column("thing_name", sa.String(length=128), nullable=True),
        sa.Column("positioning", sa.String(length=16), nullable=True),
        sa.Column("lorawan", sa.JSON(), nullable=False),
        *_audit(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_wireless_devices")),
        sa.UniqueConstraint("client_token", name=op.f("uq_wireless_devices_client_token")),
        sa.UniqueConstraint("dev_eui", name=op.f("uq_wireless_devices_dev_eui")),
        sa.UniqueConstraint("device_id", name=op.f("uq_wireless_devices_device_id")),
    )
    with op.batch_alter_table("wireless_devices", schema=None) as batch_op:
        batch_op.create_index("ix_wireless_devices_destination_name", ["destination_name"], unique=False)
        batch_op.create_index("ix_wireless_devices_device_profile_id", ["device_profile_id"], unique=False)
        batch_op.create_index("ix_wireless_devices_thing_name", ["thing_name"], unique=False)

    op.create_table(
        "multicast_groups",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("rf_region", sa.String(length=16), nullable=False),
        sa.Column("dl_class", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("session", sa.JSON(), nullable=True),
        *_audit(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_multicast_groups")),
        sa.UniqueConstraint("client_token", name=op.f("uq_multicast_groups_client_token")),
        sa.UniqueConstraint("group_id", name=op.f("uq_multicast_groups_group_id")),
    )

    op.create_table(
        "multicast_group_devices",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("mc_group_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=256), nullable=False),
        sa.Column("joined", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "device_id", name=op.f("pk_multicast_group_devices")),
    )
    with op.batch_alter_table("multicast_group_devices", schema=None) as batch_op:
        batch_op.create_index("ix_multicast_group_devices_device_id", ["device_id"], unique=False)

    op.create_table(
        "fuota_tasks",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("image_uri", sa.String(length=4096), nullable=False),
        sa.Column("image_bucket", sa.String(length=255), nullable=False),
        sa.Column("image_key", sa.String(length=1024), nullable=False),
        sa.Column("image_version_id", sa.String(length=64), nullable=False),
        sa.Column("image_size", sa.BigInteger(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        *_audit(),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_fuota_tasks")),
        sa.UniqueConstraint("client_token", name=op.f("uq_fuota_tasks_client_token")),
        sa.UniqueConstraint("task_id", name=op.f("uq_fuota_tasks_task_id")),
    )
    with op.batch_alter_table("fuota_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_fuota_tasks_image_sha256", ["image_sha256"], unique=False)
        batch_op.create_index("ix_fuota_tasks_status", ["status"], unique=False)

    op.create_table(
        "fuota_task_devices",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "device_id", name=op.f("pk_fuota_task_devices")),
    )
    with op.batch_alter_table("fuota_task_devices", schema=None) as batch_op:
        batch_op.create_index("ix_fuota_task_devices_device_id", ["device_id"], unique=False)

    op.create_table(
        "fuota_task_groups",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_fuota_task_groups")),
    )
    with op.batch_alter_table("fuota_task_groups", schema=None) as batch_op:
        batch_op.create_index("ix_fuota_task_groups_group_id", ["group_id"], unique=False)
        batch_op.create_index("ix_fuota_task_groups_task_id_group_id", ["task_id", "group_id"], unique=True)


def downgrade() -> None:
    for table, indexes in (
        ("fuota_task_groups", ("ix_fuota_task_groups_task_id_group_id", "ix_fuota_task_groups_group_id")),
        ("fuota_task_devices", ("ix_fuota_task_devices_device_id",)),
        ("fuota_tasks", ("ix_fuota_tasks_status", "ix_fuota_tasks_image_sha256")),
        ("multicast_group_devices", ("ix_multicast_group_devices_device_id",)),
        ("multicast_groups", ()),
        ("wireless_devices", ("ix_wireless_devices_thing_name", "ix_wireless_devices_device_profile_id",
                              "ix_wireless_devices_destination_name")),
        ("wireless_destinations", ()),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
        op.drop_table(table)
