"""Buckets, object versions and multipart uploads: the S3 subset's rules, pure Python.

Byte ranges, conditional requests, bucket names and multipart ETags are decided here; the wire
adapter only reads headers and writes answers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from otahub.domain.errors import DomainError, InvalidInput

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")


class Versioning(StrEnum):
    UNVERSIONED = ""
    ENABLED = "Enabled"
    SUSPENDED = "Suspended"


class RangeNotSatisfiable(DomainError):
    """S3's InvalidRange (416)."""


class PreconditionFailed(DomainError):
    """S3's PreconditionFailed (412)."""


class NotModified(DomainError):
    """304: If-None-Match matched on a read."""


class BadDigest(DomainError):
    """The body does not match a digest the client sent."""


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    created_at: datetime
    versioning: Versioning = Versioning.UNVERSIONED


@dataclass(frozen=True, slots=True)
class BlobRef:
    """Where an object's bytes live in the blob store, and what they are."""

    sha256: str
    size: int
    md5: str


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    bucket: str
    key: str
    version_id: str  # "null" for objects written while versioning is off or suspended
    last_modified: datetime
    etag: str
    blob: BlobRef | None  # None for a delete marker
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    is_latest: bool = True
    checksums: dict[str, str] = field(default_factory=dict)  # e.g. {"CRC32": "..."} as sent

    @property
    def is_delete_marker(self) -> bool:
        return self.blob is None

    @property
    def size(self) -> int:
        return self.blob.size if self.blob else 0


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    etag: str
    blob: BlobRef
    last_modified: datetime


def check_bucket_name(name: str) -> None:
    if not _BUCKET_NAME.fullmatch(name) or ".." in name or _IP_LIKE.fullmatch(name):
        raise InvalidInput(f"The specified bucket is not valid: {name}", field="Bucket")


def etag_of(md5_hex: str) -> str:
    return f'"{md5_hex}"'


def multipart_etag(part_md5s: list[str]) -> str:
    """S3's multipart ETag: md5 of the concatenated binary part md5s, then '-<part count>'."""
    digest = hashlib.md5(b"".join(bytes.fromhex(m) for m in part_md5s), usedforsecurity=False)
    return f'"{digest.hexdigest()}-{len(part_md5s)}"'


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a Range header asks for, None for the whole object.

    Follows RFC 9110 as S3 does: a syntactically invalid header is ignored (whole object); a
    valid one that selects nothing of a non-empty object is unsatisfiable.
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if (
        not dash
        or not (first.isdigit() or last.isdigit())
        or (first and not first.isdigit())
        or (last and not last.isdigit())
    ):
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(f"bytes={spec} cannot be satisfied for an object of {size} bytes", field="Range")
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(f"bytes={spec} cannot be satisfied for an object of {size} bytes", field="Range")
    return start, end


@dataclass(frozen=True, slots=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    def check_read(self, etag: str, last_modified: datetime) -> None:
        """RFC 9110 order, as S3 applies it to GET and HEAD."""
        if self.if_match is not None and not _etag_matches(self.if_match, etag):
            raise PreconditionFailed("At least one of the pre-conditions you specified did not hold", field="If-Match")
        if self.if_match is None and self.if_unmodified_since is not None and last_modified > self.if_unmodified_since:
            raise PreconditionFailed(
                "At least one of the pre-conditions you specified did not hold", field="If-Unmodified-Since"
            )
        if self.if_none_match is not None and _etag_matches(self.if_none_match, etag):
            raise NotModified("Not Modified", field="If-None-Match")
        if (
            self.if_none_match is None
            and self.if_modified_since is not None
            and (last_modified.replace(microsecond=0) <= self.if_modified_since)
        ):
            raise NotModified("Not Modified", field="If-Modified-Since")

    def check_write(self, current_etag: str | None) -> None:
        """Conditional writes: If-None-Match: * (create only) and If-Match (replace that version)."""
        if (
            self.if_none_match is not None
            and current_etag is not None
            and _etag_matches(self.if_none_match, current_etag)
        ):
            raise PreconditionFailed(
                "At least one of the pre-conditions you specified did not hold", field="If-None-Match"
            )
        if self.if_match is not None and (current_etag is None or not _etag_matches(self.if_match, current_etag)):
            raise PreconditionFailed("At least one of the pre-conditions you specified did not hold", field="If-Match")


def _etag_matches(condition: str, etag: str) -> bool:
    wanted = {c.strip().removeprefix("W/").strip('"') for c in condition.split(",")}
    return "*" in wanted or etag.strip('"') in wanted
