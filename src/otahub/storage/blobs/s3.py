"""Content-addressed blobs in an external S3-compatible store (AWS S3, MinIO, Ceph, R2, ...).

Bodies are spooled locally first (``LocalSpool``: digests computed while the bytes arrive), then
``commit`` uploads the file to ``<prefix>objects/<sha256[:2]>/<sha256>`` with boto3's managed
transfer (multipart past its threshold) and removes it. An upload is skipped when that key already
holds an object of the same size: the key is the content's hash. PutObject and
CompleteMultipartUpload are atomic, so a blob is either complete and visible or absent.

Reads are ranged GetObject calls streamed in chunks. Every failure of the external store surfaces
as a ``BlobStoreError`` naming the bucket and key; a missing blob is a ``BlobNotFound`` (also a
``FileNotFoundError``, like the local store's) naming the sha256.

Credentials come from the explicit settings or boto3's standard chain, and so do boto3's request
checksum settings: a store that rejects the default CRC32 trailers takes
``AWS_REQUEST_CHECKSUM_CALCULATION=when_required``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from otahub.domain.objects import BlobRef
from otahub.services.ports import SpooledBlob
from otahub.storage.blobs.local import CHUNK, LocalSpool, LocalSpooledBlob, content_path, open_spool_dir

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 query signatures last at most a week
_MISSING = {"404", "NoSuchKey", "NotFound"}
_STORE_ERRORS = (ClientError, BotoCoreError, Boto3Error)
# "classic": s3transfer in threads, the same everywhere (the CRT client is picked only on some hosts)
_TRANSFER = TransferConfig(preferred_transfer_client="classic")


class BlobStoreError(OSError):
    """The external blob store failed or refused a request."""


class BlobNotFound(BlobStoreError, FileNotFoundError):
    def __init__(self, sha256: str, where: str) -> None:
        super().__init__(f"blob {sha256} is missing from {where}")
        self.sha256 = sha256


@dataclass(frozen=True)
class S3BlobOptions:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    addressing_style: str = "auto"

    @property
    def key_prefix(self) -> str:
        """The prefix as a folder: no leading slash, one trailing slash (``fw`` -> ``fw/``)."""
        stripped = self.prefix.strip("/")
        return f"{stripped}/" if stripped else ""


def make_client(options: S3BlobOptions) -> Any:
    """An S3 client for the store; explicit keys if given, else boto3's credential chain."""
    session = boto3.session.Session(
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_access_key,
        region_name=options.region,
    )
    config = Config(
        signature_version="s3v4", s3={"addressing_style": options.addressing_style},
        max_pool_connections=32,  # streamed downloads hold a connection each; uploads use up to 10 threads
    )
    return session.client("s3", endpoint_url=options.endpoint_url, config=config)


class S3BlobStore:
    def __init__(self, spool_dir: Path, options: S3BlobOptions, client: Any | None = None) -> None:
        self.options = options
        self.bucket = options.bucket
        self.client = client if client is not None else make_client(options)
        self.tmp = open_spool_dir(spool_dir)

    def key_of(self, ref: BlobRef) -> str:
        return self.options.key_prefix + content_path(ref.sha256)

    def check(self) -> None:
        """Fail fast (at start-up) when the bucket is missing, forbidden or the endpoint unreachable."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except _STORE_ERRORS as exc:
            where = self.options.endpoint_url or "the default S3 endpoint"
            raise BlobStoreError(f"blob store bucket {self.bucket!r} at {where} is not usable: {exc}") from exc

    def spool(self, algorithms: frozenset[str] = frozenset()) -> LocalSpool:
        return LocalSpool(self.tmp / uuid.uuid4().hex, algorithms)

    def commit(self, spooled: SpooledBlob) -> BlobRef:
        if not isinstance(spooled, LocalSpooledBlob):
            raise TypeError(f"S3BlobStore commits blobs it spooled itself, not {type(spooled).__name__}")
        ref = BlobRef(spooled.sha256, spooled.size, spooled.md5)
        try:
            if self._stored_size(ref) != ref.size:
                self._upload(spooled.path, ref)
        finally:
            spooled.discard()
        return ref

    def _upload(self, path: Path, ref: BlobRef) -> None:
        key = self.key_of(ref)
        try:
            self.client.upload_file(str(path), self.bucket, key, Config=_TRANSFER)
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"upload of blob {ref.sha256} to {self._where(key)} failed: {exc}") from exc

    def _stored_size(self, ref: BlobRef) -> int | None:
        key = self.key_of(ref)
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise BlobStoreError(f"HeadObject on {self._where(key)} failed: {exc}") from exc
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"HeadObject on {self._where(key)} failed: {exc}") from exc

    def read(self, ref: BlobRef, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes start..end inclusive (end None: to the end), in chunks. The GetObject is sent here,
        so a missing blob raises before the first chunk is asked for."""
        last = ref.size - 1 if end is None else end
        if last < start:  # nothing to send (an empty blob or range), but the blob must still be there
            if self._stored_size(ref) is None:
                raise BlobNotFound(ref.sha256, self._where(self.key_of(ref)))
            return iter(())
        body = self._get(ref, f"bytes={start}-{last}")
        return _chunks(body, last - start + 1, ref, self._where(self.key_of(ref)))

    def _get(self, ref: BlobRef, byte_range: str) -> Any:
        key = self.key_of(ref)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, Range=byte_range)["Body"]
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise BlobNotFound(ref.sha256, self._where(key)) from exc
            raise BlobStoreError(f"GetObject {byte_range} of {self._where(key)} failed: {exc}") from exc
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"GetObject {byte_range} of {self._where(key)} failed: {exc}") from exc

    def exists(self, ref: BlobRef) -> bool:
        return self._stored_size(ref) is not None

    def delete(self, ref: BlobRef) -> None:
        key = self.key_of(ref)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except _STORE_ERRORS as exc:
            raise BlobStoreError(f"DeleteObject on {self._where(key)} failed: {exc}") from exc

    def presigned_url(self, ref: BlobRef, expires_seconds: int) -> str:
        """A SigV4-presigned GET URL of the blob in the external store, for devices to download from."""
        if not 1 <= expires_seconds <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires_seconds must be between 1 and {MAX_PRESIGN_SECONDS}, not {expires_seconds}")
        params = {"Bucket": self.bucket, "Key": self.key_of(ref)}
        return str(self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_seconds))

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def _chunks(body: Any, remaining: int, ref: BlobRef, where: str) -> Iterator[bytes]:
    try:
        while remaining > 0:
            try:
                chunk = body.read(min(CHUNK, remaining))
            except _STORE_ERRORS as exc:
                raise BlobStoreError(f"reading blob {ref.sha256} from {where} failed: {exc}") from exc
            if not chunk:
                raise BlobStoreError(f"blob {ref.sha256} at {where} is shorter than its recorded size {ref.size}")
            remaining -= len(chunk)
            yield chunk
    finally:
        body.close()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
