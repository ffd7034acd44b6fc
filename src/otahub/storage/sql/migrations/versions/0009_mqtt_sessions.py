"""mqtt_sessions, mqtt_subscriptions, mqtt_messages: the embedded broker's persistent sessions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-16
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mqtt_sessions",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("expiry", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_mqtt_sessions")),
    )
    op.create_table(
        "mqtt_subscriptions",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("topic_filter", sa.Text(), nullable=False),
        sa.Column("qos", sa.Integer(), nullable=False),
        sa.Column("no_local", sa.Boolean(), nullable=False),
        sa.Column("retain_as_published", sa.Boolean(), nullable=False),
        sa.Column("retain_handling", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["mqtt_sessions.client_id"],
            name=op.f("fk_mqtt_subscriptions_client_id_mqtt_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "position", name=op.f("pk_mqtt_subscriptions")),
    )
    op.create_table(
        "mqtt_messages",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("retain", sa.Boolean(), nullable=False),
        sa.Column("properties", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["mqtt_sessions.client_id"],
            name=op.f("fk_mqtt_messages_client_id_mqtt_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "message_id", name=op.f("pk_mqtt_messages")),
    )


def downgrade() -> None:
    op.drop_table("mqtt_messages")
    op.drop_table("mqtt_subscriptions")
    op.drop_table("mqtt_sessions")
