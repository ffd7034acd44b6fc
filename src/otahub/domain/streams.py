"""Streams: numbered files (firmware images) that devices fetch block by block. Pure Python.

A stream names each file by an S3 location; when the stream is created or updated each location is
resolved to one object version, and the stream keeps what it resolved (version id, size, SHA-256 of
the bytes) so the device plane can serve blocks without resolving again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from otahub.domain.errors import InvalidInput, LimitExceeded

MIN_FILE_ID = 0
MAX_FILE_ID = 255
MIN_FILES = 1
MAX_FILES = 50
MAX_STREAM_VERSION = 65535
FIRST_STREAM_VERSION = 1


@dataclass(frozen=True, slots=True)
class S3Location:
    """Where a stream file comes from, as the caller named it (version None: the latest)."""

    bucket: str
    key: str
    version: str | None = None

    def __str__(self) -> str:
        suffix = f" (version {self.version})" if self.version is not None else ""
        return f"s3://{self.bucket}/{self.key}{suffix}"


@dataclass(frozen=True, slots=True)
class FileRequest:
    """A file as asked for: its id in the stream and its S3 location, not yet resolved."""

    file_id: int
    location: S3Location


@dataclass(frozen=True, slots=True)
class StreamFile:
    """A file resolved to one object version: what the device plane serves."""

    file_id: int
    location: S3Location
    version_id: str  # the object version resolved ("null" for an unversioned object)
    size: int
    sha256: str


def check_file_requests(files: Sequence[FileRequest]) -> None:
    """1 to 50 files, each id in 0..255 and used once."""
    if not MIN_FILES <= len(files) <= MAX_FILES:
        raise InvalidInput(f"A stream has between {MIN_FILES} and {MAX_FILES} files, not {len(files)}",
                           field="files")
    for file in files:
        if not MIN_FILE_ID <= file.file_id <= MAX_FILE_ID:
            raise InvalidInput(
                f"File id {file.file_id} is out of range: file ids are {MIN_FILE_ID} to {MAX_FILE_ID}",
                field="files",
            )
    duplicates = sorted(file_id for file_id, n in Counter(f.file_id for f in files).items() if n > 1)
    if duplicates:
        raise InvalidInput(
            f"File ids must be unique within a stream; repeated: {', '.join(map(str, duplicates))}",
            field="files",
        )


@dataclass(frozen=True, slots=True)
class Stream:
    stream_id: str
    description: str | None
    files: tuple[StreamFile, ...]
    role_arn: str
    version: int
    created_at: datetime
    updated_at: datetime

    def file(self, file_id: int) -> StreamFile | None:
        return next((f for f in self.files if f.file_id == file_id), None)

    def updated(
        self,
        *,
        description: str | None,
        files: tuple[StreamFile, ...] | None,
        role_arn: str | None,
        now: datetime,
    ) -> Stream:
        """A new version: None keeps a field as it is; files, when given, replace all files."""
        if self.version >= MAX_STREAM_VERSION:
            raise LimitExceeded(
                f"Stream {self.stream_id} is at version {MAX_STREAM_VERSION}, the most a stream can have",
                field="streamId",
            )
        return replace(
            self,
            description=self.description if description is None else description,
            files=self.files if files is None else files,
            role_arn=self.role_arn if role_arn is None else role_arn,
            version=self.version + 1,
            updated_at=now,
        )
