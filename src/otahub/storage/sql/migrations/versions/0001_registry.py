"""things, thing types, thing groups, tags, credentials

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("access_key_id", sa.String(length=128), nullable=False),
        sa.Column("secret_access_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("access_key_id", name=op.f("pk_credentials")),
    )
    op.create_table(
        "tags",
        sa.Column("resource_arn", sa.String(length=2048), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("resource_arn", "key", name=op.f("pk_tags")),
    )
    op.create_table(
        "thing_groups",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("parent_seq", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("ancestors", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_seq"], ["thing_groups.seq"], name=op.f("fk_thing_groups_parent_seq_thing_groups")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_thing_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_thing_groups_name")),
    )
    with op.batch_alter_table("thing_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thing_groups_parent_seq"), ["parent_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_thing_groups_path"), ["path"], unique=False)

    op.create_table(
        "thing_types",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("type_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("searchable_attributes", sa.JSON(), nullable=False),
        sa.Column("propagating_attributes", sa.JSON(), nullable=True),
        sa.Column("deprecated", sa.Boolean(), nullable=False),
        sa.Column("deprecated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_thing_types")),
        sa.UniqueConstraint("name", name=op.f("uq_thing_types_name")),
    )
    op.create_table(
        "things",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("thing_id", sa.String(length=64), nullable=False),
        sa.Column("type_name", sa.String(length=128), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("billing_group", sa.String(length=128), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_things")),
        sa.UniqueConstraint("name", name=op.f("uq_things_name")),
    )
    with op.batch_alter_table("things", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_things_type_name"), ["type_name"], unique=False)

    op.create_table(
        "thing_attributes",
        sa.Column("thing_seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=800), nullable=False),
        sa.ForeignKeyConstraint(
            ["thing_seq"], ["things.seq"], name=op.f("fk_thing_attributes_thing_seq_things"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("thing_seq", "name", name=op.f("pk_thing_attributes")),
    )
    with op.batch_alter_table("thing_attributes", schema=None) as batch_op:
        batch_op.create_index("ix_thing_attributes_name_value", ["name", "value"], unique=False)

    op.create_table(
        "thing_group_members",
        sa.Column("group_seq", sa.Integer(), nullable=False),
        sa.Column("thing_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_seq"],
            ["thing_groups.seq"],
            name=op.f("fk_thing_group_members_group_seq_thing_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thing_seq"], ["things.seq"], name=op.f("fk_thing_group_members_thing_seq_things"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_seq", "thing_seq", name=op.f("pk_thing_group_members")),
    )
    with op.batch_alter_table("thing_group_members", schema=None) as batch_op:
        batch_op.create_index("ix_thing_group_members_thing_seq", ["thing_seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("thing_group_members", schema=None) as batch_op:
        batch_op.drop_index("ix_thing_group_members_thing_seq")

    op.drop_table("thing_group_members")
    with op.batch_alter_table("thing_attributes", schema=None) as batch_op:
        batch_op.drop_index("ix_thing_attributes_name_value")

    op.drop_table("thing_attributes")
    with op.batch_alter_table("things", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_things_type_name"))

    op.drop_table("things")
    op.drop_table("thing_types")
    with op.batch_alter_table("thing_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thing_groups_path"))
        batch_op.drop_index(batch_op.f("ix_thing_groups_parent_seq"))

    op.drop_table("thing_groups")
    op.drop_table("tags")
    op.drop_table("credentials")
