"""Repositories of the object store: buckets, object versions, multipart uploads and their parts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Row

from otahub.domain.objects import BlobRef, Bucket, MultipartUpload, ObjectVersion, Part, Versioning
from otahub.storage.sql.tables import buckets, fuota_tasks, multipart_parts, multipart_uploads, objects, stream_files


class SqlBuckets:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, name: str) -> Bucket | None:
        row = self.conn.execute(select(buckets).where(buckets.c.name == name)).first()
        return _bucket(row) if row else None

    def add(self, bucket: Bucket) -> None:
        self.conn.execute(insert(buckets).values(
            name=bucket.name, versioning=bucket.versioning.value, created_at=bucket.created_at))

    def save(self, bucket: Bucket) -> None:
        self.conn.execute(update(buckets).where(buckets.c.name == bucket.name).values(
            versioning=bucket.versioning.value))

    def delete(self, name: str) -> None:
        self.conn.execute(delete(buckets).where(buckets.c.name == name))

    def all(self) -> list[Bucket]:
        return [_bucket(row) for row in self.conn.execute(select(buckets).order_by(buckets.c.name))]


def _bucket(row: Row[Any]) -> Bucket:
    return Bucket(row.name, row.created_at, Versioning(row.versioning))


def _version(row: Row[Any]) -> ObjectVersion:
    blob = BlobRef(row.sha256, row.size, row.md5) if row.sha256 is not None else None
    return ObjectVersion(
        bucket=row.bucket, key=row.key, version_id=row.version_id, last_modified=row.last_modified,
        etag=row.etag, blob=blob, content_type=row.content_type, metadata=dict(row.metadata),
        is_latest=row.is_latest, checksums=dict(row.checksums),
    )


class SqlObjects:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _key(self, bucket: str, key: str) -> Any:
        return and_(objects.c.bucket == bucket, objects.c.key == key)

    def latest(self, bucket: str, key: str) -> ObjectVersion | None:
        row = self.conn.execute(select(objects).where(self._key(bucket, key), objects.c.is_latest)).first()
        return _version(row) if row else None

    def version(self, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
        row = self.conn.execute(
            select(objects).where(self._key(bucket, key), objects.c.version_id == version_id)
        ).first()
        return _version(row) if row else None

    def version_seq(self, bucket: str, key: str, version_id: str) -> int | None:
        query = select(objects.c.seq).where(self._key(bucket, key), objects.c.version_id == version_id)
        seq = self.conn.execute(query).scalar()
        return None if seq is None else int(seq)

    def add(self, version: ObjectVersion) -> None:
        self.conn.execute(update(objects).where(self._key(version.bucket, version.key), objects.c.is_latest)
                          .values(is_latest=False))
        blob = version.blob
        self.conn.execute(insert(objects).values(
            bucket=version.bucket, key=version.key, version_id=version.version_id, is_latest=True,
            etag=version.etag, sha256=blob.sha256 if blob else None, size=blob.size if blob else 0,
            md5=blob.md5 if blob else None, content_type=version.content_type, metadata=version.metadata,
            checksums=version.checksums, last_modified=version.last_modified,
        ))

    def remove_version(self, bucket: str, key: str, version_id: str) -> None:
        was_latest = self.conn.execute(select(objects.c.is_latest).where(
            self._key(bucket, key), objects.c.version_id == version_id)).scalar()
        self.conn.execute(delete(objects).where(self._key(bucket, key), objects.c.version_id == version_id))
        if was_latest:
            newest = self.conn.execute(select(objects.c.seq).where(self._key(bucket, key))
                                       .order_by(objects.c.seq.desc()).limit(1)).scalar()
            if newest is not None:
                self.conn.execute(update(objects).where(objects.c.seq == newest).values(is_latest=True))

    def any_in(self, bucket: str) -> bool:
        return self.conn.execute(select(objects.c.seq).where(objects.c.bucket == bucket).limit(1)).first() is not None

    def latest_page(self, bucket: str, prefix: str, after_key: str, limit: int) -> list[ObjectVersion]:
        query = (
            select(objects)
            .where(objects.c.bucket == bucket, objects.c.is_latest, objects.c.sha256.is_not(None),
                   objects.c.key > after_key, objects.c.key.startswith(prefix, autoescape=True))
            .order_by(objects.c.key).limit(limit)
        )
        return [_version(row) for row in self.conn.execute(query)]

    def versions_page(
        self, bucket: str, prefix: str, after: tuple[str, int], limit: int
    ) -> list[tuple[int, ObjectVersion]]:
        """Versions by key, newest first within a key; ``after`` is (key, seq) of the last one seen."""
        key, seq = after
        query = (
            select(objects)
            .where(objects.c.bucket == bucket, objects.c.key.startswith(prefix, autoescape=True),
                   or_(objects.c.key > key, and_(objects.c.key == key, objects.c.seq < seq)))
            .order_by(objects.c.key, objects.c.seq.desc()).limit(limit)
        )
        return [(row.seq, _version(row)) for row in self.conn.execute(query)]

    def blob_in_use(self, sha256: str) -> bool:
        """Is any object version, multipart part, stream file or FUOTA image still made of these bytes?"""
        referrers = (objects.c.sha256, multipart_parts.c.sha256, stream_files.c.sha256, fuota_tasks.c.image_sha256)
        return any(
            self.conn.execute(select(column).where(column == sha256).limit(1)).first() is not None
            for column in referrers
        )


class SqlMultipart:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, upload_id: str) -> MultipartUpload | None:
        row = self.conn.execute(select(multipart_uploads).where(multipart_uploads.c.upload_id == upload_id)).first()
        if row is None:
            return None
        return MultipartUpload(row.upload_id, row.bucket, row.key, row.initiated, row.content_type, dict(row.metadata))

    def add(self, upload: MultipartUpload) -> None:
        self.conn.execute(insert(multipart_uploads).values(
            upload_id=upload.upload_id, bucket=upload.bucket, key=upload.key, content_type=upload.content_type,
            metadata=upload.metadata, initiated=upload.initiated))

    def delete(self, upload_id: str) -> None:
        self.conn.execute(delete(multipart_parts).where(multipart_parts.c.upload_id == upload_id))
        self.conn.execute(delete(multipart_uploads).where(multipart_uploads.c.upload_id == upload_id))

    def put_part(self, upload_id: str, part: Part) -> Part | None:
        replaced = next((p for p in self.parts(upload_id) if p.number == part.number), None)
        if replaced is not None:
            self.conn.execute(delete(multipart_parts).where(
                multipart_parts.c.upload_id == upload_id, multipart_parts.c.part_number == part.number))
        self.conn.execute(insert(multipart_parts).values(
            upload_id=upload_id, part_number=part.number, etag=part.etag, sha256=part.blob.sha256,
            size=part.blob.size, md5=part.blob.md5, last_modified=part.last_modified))
        return replaced

    def parts(self, upload_id: str) -> list[Part]:
        rows = self.conn.execute(select(multipart_parts).where(multipart_parts.c.upload_id == upload_id)
                                 .order_by(multipart_parts.c.part_number))
        return [Part(r.part_number, r.etag, BlobRef(r.sha256, r.size, r.md5), r.last_modified) for r in rows]

    def any_in(self, bucket: str) -> bool:
        query = select(multipart_uploads.c.upload_id).where(multipart_uploads.c.bucket == bucket).limit(1)
        return self.conn.execute(query).first() is not None
