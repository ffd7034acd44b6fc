"""object store: buckets, object versions, multipart uploads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buckets",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("versioning", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_buckets")),
    )
    op.create_table(
        "multipart_uploads",
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("content_type", sa.String(length=256), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("initiated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bucket"], ["buckets.name"], name=op.f("fk_multipart_uploads_bucket_buckets")),
        sa.PrimaryKeyConstraint("upload_id", name=op.f("pk_multipart_uploads")),
    )
    op.create_table(
        "objects",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("content_type", sa.String(length=256), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("checksums", sa.JSON(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bucket"], ["buckets.name"], name=op.f("fk_objects_bucket_buckets")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_objects")),
    )
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.create_index("ix_objects_bucket_key", ["bucket", "key", "seq"], unique=False)
        batch_op.create_index("ix_objects_latest", ["bucket", "is_latest", "key"], unique=False)
        batch_op.create_index("ix_objects_sha256", ["sha256"], unique=False)

    op.create_table(
        "multipart_parts",
        sa.Column("upload_id", sa.String(length=64), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["multipart_uploads.upload_id"],
            name=op.f("fk_multipart_parts_upload_id_multipart_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("upload_id", "part_number", name=op.f("pk_multipart_parts")),
    )
    with op.batch_alter_table("multipart_parts", schema=None) as batch_op:
        batch_op.create_index("ix_multipart_parts_sha256", ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("multipart_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_multipart_parts_sha256")

    op.drop_table("multipart_parts")
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.drop_index("ix_objects_sha256")
        batch_op.drop_index("ix_objects_latest")
        batch_op.drop_index("ix_objects_bucket_key")

    op.drop_table("objects")
    op.drop_table("multipart_uploads")
    op.drop_table("buckets")
