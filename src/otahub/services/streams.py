"""Use cases of streams: create, describe, list, update and delete, with files resolved in the object store.

Every file's S3 location is resolved (to one object version) before the write transaction starts, so
a location that does not resolve refuses the whole request and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from otahub.domain.clock import Clock
from otahub.domain.errors import AlreadyExists, InvalidInput, NotFound
from otahub.domain.ids import Arns
from otahub.domain.objects import BlobRef, Conditions, ObjectVersion
from otahub.domain.streams import FIRST_STREAM_VERSION, FileRequest, Stream, StreamFile, check_file_requests
from otahub.services.pagination import Page, paginate
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory
from otahub.services.tags import check_tags


class ObjectLookup(Protocol):
    """What streams need of the object store (ObjectStore implements it)."""

    def head_object(self, bucket: str, key: str, version_id: str | None, conditions: Conditions) -> ObjectVersion:
        """The object version, or NotFound (no bucket, no key, no such version, or a delete marker)."""
        ...

    def collect(self, refs: list[BlobRef]) -> None:
        """Delete the blobs nothing refers to any more."""
        ...


class StreamExists(AlreadyExists):
    def __init__(self, stream_id: str, arn: str) -> None:
        super().__init__("Stream", stream_id, stream_id, arn)
        self.message = f"Stream {stream_id} already exists"
        self.args = (self.message,)


class StreamService:
    def __init__(self, uow: UnitOfWorkFactory, objects: ObjectLookup, clock: Clock, arns: Arns) -> None:
        self.uow = uow
        self.objects = objects
        self.clock = clock
        self.arns = arns

    def create_stream(
        self, stream_id: str, description: str | None, files: Sequence[FileRequest], role_arn: str,
        tags: dict[str, str],
    ) -> Stream:
        check_tags(tags)
        resolved = self._resolve(files)
        now = self.clock.now()
        stream = Stream(stream_id, description, resolved, role_arn, FIRST_STREAM_VERSION, now, now)
        with self.uow(write=True) as tx:
            arn = self.arns.stream(stream_id)
            if tx.streams.get(stream_id) is not None:
                raise StreamExists(stream_id, arn)
            tx.streams.add(stream)
            tx.tags.put(arn, tags)
            return stream

    def describe_stream(self, stream_id: str) -> Stream:
        with self.uow() as tx:
            return _stream(tx, stream_id)

    def list_streams(self, ascending: bool, token: str | None, max_results: int | None) -> Page[Stream]:
        with self.uow() as tx:
            return paginate(
                lambda after, n: tx.streams.page(ascending, after, n), token, max_results, "streams", ascending
            )

    def update_stream(
        self, stream_id: str, description: str | None, files: Sequence[FileRequest] | None, role_arn: str | None
    ) -> Stream:
        resolved = None if files is None else self._resolve(files)
        with self.uow(write=True) as tx:
            current = _stream(tx, stream_id)
            updated = current.updated(description=description, files=resolved, role_arn=role_arn, now=self.clock.now())
            tx.streams.save(updated)
        self.objects.collect(_blobs(current.files))  # blobs only the old file list referred to
        return updated

    def delete_stream(self, stream_id: str) -> None:
        with self.uow(write=True) as tx:
            stream = _stream(tx, stream_id)
            tx.streams.delete(stream_id)
            tx.tags.drop(self.arns.stream(stream_id))
        self.objects.collect(_blobs(stream.files))

    def _resolve(self, files: Sequence[FileRequest]) -> tuple[StreamFile, ...]:
        check_file_requests(files)
        return tuple(self._resolve_one(request) for request in files)

    def _resolve_one(self, request: FileRequest) -> StreamFile:
        location = request.location
        try:
            version = self.objects.head_object(location.bucket, location.key, location.version, Conditions())
        except NotFound as exc:
            raise _unusable(request, exc.message) from exc
        if version.blob is None:  # head_object refuses delete markers; this keeps the types honest
            raise _unusable(request, "it is a delete marker")
        return StreamFile(request.file_id, location, version.version_id, version.blob.size, version.blob.sha256)


def _unusable(request: FileRequest, reason: str) -> InvalidInput:
    return InvalidInput(
        f"File {request.file_id}: {request.location} cannot be streamed: {reason}", field="files"
    )


def _blobs(files: Sequence[StreamFile]) -> list[BlobRef]:
    return [BlobRef(f.sha256, f.size, "") for f in files]


def _stream(tx: UnitOfWork, stream_id: str) -> Stream:
    stream = tx.streams.get(stream_id)
    if stream is None:
        raise NotFound("Stream", stream_id)
    return stream
