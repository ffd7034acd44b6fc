"""Use cases of the object store (the S3 subset): buckets, versions, listings, copies, multipart.

Blob bytes move through the BlobStore port. A blob is committed before the transaction that writes
its rows (an external store may take long; no lock is held meanwhile) and stays marked in flight
until those rows exist; unreferenced blobs are collected under a write transaction and never while
in flight, so a concurrent upload of the same content cannot lose its bytes. (The in-flight mark is
per process: replicas sharing one store need it in the database, which the scale-out issue adds.)
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from otahub.domain.clock import Clock
from otahub.domain.errors import AlreadyExists, InvalidInput, InvalidState, NotFound
from otahub.domain.objects import (
    MAX_PART_NUMBER,
    MIN_PART_SIZE,
    BlobRef,
    Bucket,
    Conditions,
    MultipartUpload,
    ObjectVersion,
    Part,
    Versioning,
    check_bucket_name,
    etag_of,
    multipart_etag,
)
from otahub.services.ports import BlobStore, SpooledBlob, UnitOfWork, UnitOfWorkFactory

DEFAULT_MAX_KEYS = 1000
_LAST_CHAR = "\U0010ffff"


class NoSuchUpload(NotFound):
    def __init__(self, upload_id: str) -> None:
        super().__init__("Upload", upload_id)


class EntityTooSmall(InvalidInput):
    pass


class InvalidPart(InvalidInput):
    pass


@dataclass(frozen=True, slots=True)
class NewObject:
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    conditions: Conditions = field(default_factory=Conditions)


@dataclass(frozen=True, slots=True)
class Listing:
    objects: list[ObjectVersion]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str | None  # where the next page starts (past the last key or common prefix), when truncated


class ObjectStore:
    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore, clock: Clock) -> None:
        self.uow = uow
        self.blobs = blobs
        self.clock = clock
        self._in_flight: Counter[str] = Counter()  # blobs committed whose rows are not yet written
        self._in_flight_lock = threading.Lock()

    @contextmanager
    def _committing(self, spooled: SpooledBlob) -> Iterator[BlobRef]:
        """Commit a blob outside any transaction (an external store may take long) and keep it safe
        from collection until the caller's rows are written; if they never are, collect it."""
        sha256 = spooled.sha256
        with self._in_flight_lock:
            self._in_flight[sha256] += 1
        try:
            ref = self.blobs.commit(spooled)
        except BaseException:
            self._release(sha256)
            raise
        try:
            yield ref
        except BaseException:
            self._release(sha256)
            self.collect([ref])
            raise
        self._release(sha256)

    def _release(self, sha256: str) -> None:
        with self._in_flight_lock:
            self._in_flight[sha256] -= 1
            if self._in_flight[sha256] <= 0:
                del self._in_flight[sha256]

    # --- buckets ------------------------------------------------------------------------------

    def create_bucket(self, name: str) -> Bucket:
        check_bucket_name(name)
        with self.uow(write=True) as tx:
            if tx.buckets.get(name) is not None:
                raise AlreadyExists("Bucket", name, None, None)
            bucket = Bucket(name, self.clock.now())
            tx.buckets.add(bucket)
            return bucket

    def bucket(self, name: str) -> Bucket:
        with self.uow() as tx:
            return _bucket(tx, name)

    def list_buckets(self) -> list[Bucket]:
        with self.uow() as tx:
            return tx.buckets.all()

    def delete_bucket(self, name: str) -> None:
        with self.uow(write=True) as tx:
            _bucket(tx, name)
            if tx.objects.any_in(name) or tx.multipart.any_in(name):
                raise InvalidState(f"The bucket you tried to delete is not empty: {name}", field="Bucket")
            tx.buckets.delete(name)

    def set_versioning(self, name: str, status: str) -> None:
        with self.uow(write=True) as tx:
            bucket = _bucket(tx, name)
            try:
                versioning = Versioning(status)
            except ValueError as exc:
                raise InvalidInput(f"Invalid versioning status {status!r}", field="Status") from exc
            tx.buckets.save(replace(bucket, versioning=versioning))

    # --- objects ------------------------------------------------------------------------------

    def put_object(self, bucket_name: str, key: str, spooled: SpooledBlob, new: NewObject) -> ObjectVersion:
        self.bucket(bucket_name)  # fail fast, before a possibly long commit
        with self._committing(spooled) as blob, self.uow(write=True) as tx:
            bucket = _bucket(tx, bucket_name)
            current = tx.objects.latest(bucket_name, key)
            new.conditions.check_write(None if current is None or current.is_delete_marker else current.etag)
            version = self._new_version(tx, bucket, key, blob, etag_of(blob.md5), new)
        self._collect_replaced(bucket, current)
        return version

    def _new_version(
        self, tx: UnitOfWork, bucket: Bucket, key: str, blob: BlobRef | None, etag: str, new: NewObject
    ) -> ObjectVersion:
        version_id = uuid.uuid4().hex if bucket.versioning is Versioning.ENABLED else "null"
        if version_id == "null":
            tx.objects.remove_version(bucket.name, key, "null")
        version = ObjectVersion(
            bucket.name, key, version_id, self.clock.now(), etag, blob, new.content_type, dict(new.metadata),
            True, dict(new.checksums),
        )
        tx.objects.add(version)
        return version

    def _collect_replaced(self, bucket: Bucket, replaced: ObjectVersion | None) -> None:
        if replaced is not None and replaced.blob is not None and bucket.versioning is not Versioning.ENABLED:
            self.collect([replaced.blob])

    def collect(self, refs: list[BlobRef]) -> None:
        """Delete blobs nothing refers to any more (under the write lock, so no upload races it)."""
        with self.uow(write=True) as tx:
            for ref in refs:
                if ref.sha256 not in self._in_flight and not tx.objects.blob_in_use(ref.sha256):
                    self.blobs.delete(ref)

    def head_object(self, bucket: str, key: str, version_id: str | None, conditions: Conditions) -> ObjectVersion:
        with self.uow() as tx:
            _bucket(tx, bucket)
            version = tx.objects.version(bucket, key, version_id) if version_id else tx.objects.latest(bucket, key)
        if version is None:
            if version_id:
                raise NotFound("Version", version_id)
            raise NotFound("Key", key)
        if version.is_delete_marker:
            raise NotFound("Key", key)
        conditions.check_read(version.etag, version.last_modified)
        return version

    def read(self, version: ObjectVersion, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if version.blob is None:
            return iter(())
        return self.blobs.read(version.blob, start, end)

    def delete_object(self, bucket_name: str, key: str, version_id: str | None) -> ObjectVersion | None:
        """Returns the delete marker created (versioned bucket, no version id) or the version removed."""
        with self.uow(write=True) as tx:
            bucket = _bucket(tx, bucket_name)
            if version_id is None and bucket.versioning is Versioning.ENABLED:
                return self._new_version(tx, bucket, key, None, "", NewObject())
            target = tx.objects.version(bucket_name, key, version_id or "null")
            if target is None:
                return None
            tx.objects.remove_version(bucket_name, key, target.version_id)
            if version_id is None and bucket.versioning is Versioning.SUSPENDED:
                self._new_version(tx, bucket, key, None, "", NewObject())
        if target.blob is not None:
            self.collect([target.blob])
        return target

    def copy_object(
        self, source: tuple[str, str, str | None], bucket_name: str, key: str, new: NewObject | None,
        source_conditions: Conditions,
    ) -> tuple[ObjectVersion, ObjectVersion]:
        """Copy without moving bytes (blobs are content-addressed). ``new`` None copies the metadata."""
        src_bucket, src_key, src_version = source
        original = self.head_object(src_bucket, src_key, src_version, Conditions())
        source_conditions.check_read(original.etag, original.last_modified)
        assert original.blob is not None
        with self.uow(write=True) as tx:
            bucket = _bucket(tx, bucket_name)
            current = tx.objects.latest(bucket_name, key)
            settings = new or NewObject(original.content_type, original.metadata, original.checksums)
            if not self.blobs.exists(original.blob):
                raise NotFound("Key", src_key)
            version = self._new_version(tx, bucket, key, original.blob, etag_of(original.blob.md5), settings)
        if current is not None and current.blob != original.blob:
            self._collect_replaced(bucket, current)
        return version, original

    def list_latest(
        self, bucket: str, prefix: str, delimiter: str | None, after: str, max_keys: int | None
    ) -> Listing:
        limit = DEFAULT_MAX_KEYS if max_keys is None else max_keys
        found: list[ObjectVersion] = []
        prefixes: list[str] = []
        cursor = after
        with self.uow() as tx:
            _bucket(tx, bucket)
            while len(found) + len(prefixes) < limit:
                page = tx.objects.latest_page(bucket, prefix, cursor, 1000)
                if not page:
                    return Listing(found, prefixes, False, None)
                for version in page:
                    if len(found) + len(prefixes) >= limit:
                        break
                    common = _common_prefix(version.key, prefix, delimiter)
                    if common is not None:
                        prefixes.append(common)
                        cursor = common + _LAST_CHAR
                        break  # skip the rest of that prefix by querying after it
                    found.append(version)
                    cursor = version.key
            more = bool(tx.objects.latest_page(bucket, prefix, cursor, 1))
        return Listing(found, prefixes, more, cursor if more else None)

    def list_versions(
        self, bucket: str, prefix: str, after: tuple[str, int], max_keys: int | None
    ) -> tuple[list[tuple[int, ObjectVersion]], bool]:
        limit = DEFAULT_MAX_KEYS if max_keys is None else max_keys
        with self.uow() as tx:
            _bucket(tx, bucket)
            rows = tx.objects.versions_page(bucket, prefix, after, limit + 1)
        return rows[:limit], len(rows) > limit

    def find_version_seq(self, bucket: str, key: str, version_id: str) -> int:
        with self.uow() as tx:
            seq = tx.objects.version_seq(bucket, key, version_id)
        if seq is None:
            raise InvalidInput(f"Invalid version id marker {version_id}", field="VersionIdMarker")
        return seq

    # --- multipart ----------------------------------------------------------------------------

    def create_upload(self, bucket: str, key: str, new: NewObject) -> MultipartUpload:
        with self.uow(write=True) as tx:
            _bucket(tx, bucket)
            upload = MultipartUpload(uuid.uuid4().hex, bucket, key, self.clock.now(), new.content_type,
                                     dict(new.metadata))
            tx.multipart.add(upload)
            return upload

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, spooled: SpooledBlob) -> Part:
        if not 1 <= number <= MAX_PART_NUMBER:
            raise InvalidInput(f"Part number must be an integer between 1 and {MAX_PART_NUMBER}", field="PartNumber")
        self.list_parts(bucket, key, upload_id)  # fail fast, before a possibly long commit
        with self._committing(spooled) as blob, self.uow(write=True) as tx:
            _upload(tx, bucket, key, upload_id)
            part = Part(number, etag_of(blob.md5), blob, self.clock.now())
            replaced = tx.multipart.put_part(upload_id, part)
        if replaced is not None and replaced.blob != part.blob:
            self.collect([replaced.blob])
        return part

    def list_parts(self, bucket: str, key: str, upload_id: str) -> tuple[MultipartUpload, list[Part]]:
        with self.uow() as tx:
            return _upload(tx, bucket, key, upload_id), tx.multipart.parts(upload_id)

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self.uow(write=True) as tx:
            _upload(tx, bucket, key, upload_id)
            parts = tx.multipart.parts(upload_id)
            tx.multipart.delete(upload_id)
        self.collect([p.blob for p in parts])

    def complete_upload(
        self, bucket_name: str, key: str, upload_id: str, requested: list[tuple[int, str]], conditions: Conditions
    ) -> ObjectVersion:
        upload, stored = self.list_parts(bucket_name, key, upload_id)
        chosen = _chosen_parts(requested, {p.number: p for p in stored})
        spool = self.blobs.spool()
        try:
            for part in chosen:
                for chunk in self.blobs.read(part.blob):
                    spool.write(chunk)
            spooled = spool.finish()
        except BaseException:
            spool.discard()
            raise
        with self._committing(spooled) as blob, self.uow(write=True) as tx:
            bucket = _bucket(tx, bucket_name)
            _upload(tx, bucket_name, key, upload_id)
            current = tx.objects.latest(bucket_name, key)
            conditions.check_write(None if current is None or current.is_delete_marker else current.etag)
            new = NewObject(upload.content_type, upload.metadata)
            version = self._new_version(tx, bucket, key, blob, multipart_etag([p.blob.md5 for p in chosen]), new)
            tx.multipart.delete(upload_id)
        self.collect([p.blob for p in stored])
        self._collect_replaced(bucket, current)
        return version


def _chosen_parts(requested: list[tuple[int, str]], stored: dict[int, Part]) -> list[Part]:
    if not requested:
        raise InvalidInput("You must specify at least one part", field="MultipartUpload")
    numbers = [n for n, _ in requested]
    if numbers != sorted(set(numbers)):
        raise InvalidInput("The list of parts was not in ascending order", field="MultipartUpload")
    chosen = []
    for number, etag in requested:
        part = stored.get(number)
        if part is None or part.etag.strip('"') != etag.strip('"'):
            raise InvalidPart(f"Part {number} was not uploaded or its ETag does not match", field="PartNumber")
        chosen.append(part)
    for part in chosen[:-1]:
        if part.blob.size < MIN_PART_SIZE:
            raise EntityTooSmall(f"Part {part.number} is smaller than the minimum of 5 MiB", field="PartNumber")
    return chosen


def _common_prefix(key: str, prefix: str, delimiter: str | None) -> str | None:
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    return key[: index + len(delimiter)] if index >= 0 else None


def _bucket(tx: UnitOfWork, name: str) -> Bucket:
    bucket = tx.buckets.get(name)
    if bucket is None:
        raise NotFound("Bucket", name)
    return bucket


def _upload(tx: UnitOfWork, bucket: str, key: str, upload_id: str) -> MultipartUpload:
    _bucket(tx, bucket)
    upload = tx.multipart.get(upload_id)
    if upload is None or upload.bucket != bucket or upload.key != key:
        raise NoSuchUpload(upload_id)
    return upload
