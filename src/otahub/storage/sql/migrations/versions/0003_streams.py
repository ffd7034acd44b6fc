"""streams: streams and their resolved files

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "streams",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("stream_id", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("role_arn", sa.String(length=2048), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_streams")),
        sa.UniqueConstraint("stream_id", name=op.f("uq_streams_stream_id")),
    )
    op.create_table(
        "stream_files",
        sa.Column("stream_seq", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("requested_version", sa.String(length=1024), nullable=True),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_seq"], ["streams.seq"], name=op.f("fk_stream_files_stream_seq_streams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("stream_seq", "file_id", name=op.f("pk_stream_files")),
    )
    with op.batch_alter_table("stream_files", schema=None) as batch_op:
        batch_op.create_index("ix_stream_files_sha256", ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stream_files", schema=None) as batch_op:
        batch_op.drop_index("ix_stream_files_sha256")

    op.drop_table("stream_files")
    op.drop_table("streams")
