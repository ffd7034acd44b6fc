"""Content-addressed blobs in a local directory, written atomically.

Bytes are spooled to ``tmp/`` while their digests are computed, then fsynced and renamed to
``objects/<sha256[:2]>/<sha256>``; a crash leaves at most a stray temporary file, which start-up
removes. Nothing is ever held whole in memory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awscrt import checksums

from otahub.domain.objects import BlobRef

CHUNK = 1024 * 1024


@dataclass
class LocalSpooledBlob:
    path: Path
    size: int
    md5: str
    sha256: str
    checksums: dict[str, str] = field(default_factory=dict)

    def checksum(self, algorithm: str) -> str | None:
        return self.checksums.get(algorithm.upper())

    def discard(self) -> None:
        """Remove the temporary file if it was not committed (committing moves it away)."""
        self.path.unlink(missing_ok=True)


class _Crc:
    """An incremental CRC with S3's big-endian base64 form."""

    def __init__(self, update: Callable[[bytes, int], int], width: int) -> None:
        self._update = update
        self._width = width
        self._value = 0

    def update(self, chunk: bytes) -> None:
        self._value = self._update(chunk, self._value)

    def b64(self) -> str:
        return base64.b64encode(self._value.to_bytes(self._width, "big")).decode()


def _optional_digests(algorithms: frozenset[str]) -> dict[str, Any]:
    """S3 checksum algorithms beyond the ones always kept (MD5 for the ETag, SHA256, CRC32)."""
    makers: dict[str, Callable[[], Any]] = {
        "SHA1": lambda: hashlib.sha1(usedforsecurity=False),
        "CRC32C": lambda: _Crc(lambda data, crc: checksums.crc32c(data, crc), 4),
        "CRC64NVME": lambda: _Crc(lambda data, crc: checksums.crc64nvme(data, crc), 8),
    }
    return {name: makers[name]() for name in algorithms if name in makers}


class LocalSpool:
    def __init__(self, path: Path, algorithms: frozenset[str] = frozenset()) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115 - closed in finish()/discard()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._crc32 = _Crc(zlib.crc32, 4)
        self._extra = _optional_digests(algorithms)
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._md5.update(chunk)
        self._sha256.update(chunk)
        self._crc32.update(chunk)
        for digest in self._extra.values():
            digest.update(chunk)
        self._size += len(chunk)

    def finish(self) -> LocalSpooledBlob:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        sha256 = self._sha256.digest()
        found = {"SHA256": base64.b64encode(sha256).decode(), "CRC32": self._crc32.b64()}
        for name, digest in self._extra.items():
            found[name] = digest.b64() if isinstance(digest, _Crc) else base64.b64encode(digest.digest()).decode()
        return LocalSpooledBlob(self.path, self._size, self._md5.hexdigest(), sha256.hex(), found)

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def content_path(sha256: str) -> str:
    """Where a blob lives below a store's root, by its hash: ``objects/<sha256[:2]>/<sha256>``."""
    return f"objects/{sha256[:2]}/{sha256}"


def open_spool_dir(path: Path) -> Path:
    """Create the spool directory, removing what a crash mid-upload left there (nothing refers to it)."""
    path.mkdir(parents=True, exist_ok=True)
    for stray in path.iterdir():
        stray.unlink(missing_ok=True)
    return path


class BlobSpan:
    """Bytes ``start .. start + count - 1`` of one stored blob, read only when asked.

    It is an iterator of chunks of at most CHUNK, read with ``pread`` (one per chunk, so a 4 KiB stream
    block costs an open, one read and a close), as ``BlobStore.read`` promises. ``open_span`` is for
    transports that send from the file itself, not from Python bytes: the S3 download path maps the span
    or passes the descriptor to a zero-copy send (``aws/asgi.py``) and never iterates. Blob files never
    change once committed (content-addressed, replaced by rename, removed by unlink), so an open
    descriptor keeps reading the same bytes.
    """

    __slots__ = ("_chunks", "count", "path", "ref", "start")

    def __init__(self, path: str, ref: BlobRef, start: int, count: int) -> None:
        self.path, self.ref, self.start, self.count = path, ref, start, count
        self._chunks: Iterator[bytes] | None = None

    def open_span(self) -> tuple[int, int, int]:
        """(descriptor, offset, count) of the span; the caller closes the descriptor. FileNotFoundError
        (naming the blob's sha256) if the blob is gone, OSError if its file is shorter than recorded."""
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if os.fstat(fd).st_size < self.start + self.count:
                raise self._short()
        except BaseException:
            os.close(fd)
            raise
        return fd, self.start, self.count

    def __iter__(self) -> BlobSpan:
        return self

    def __next__(self) -> bytes:
        if self._chunks is None:
            self._chunks = self._read()  # a generator: its file is closed at the end, or when it is dropped
        return next(self._chunks)

    def _read(self) -> Iterator[bytes]:
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            offset, end = self.start, self.start + self.count
            while offset < end:
                chunk = os.pread(fd, min(CHUNK, end - offset), offset)
                if not chunk:
                    raise self._short()
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    def _short(self) -> OSError:
        return OSError(f"blob {self.ref.sha256} is shorter than its recorded size {self.ref.size}")


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = open_spool_dir(root / "tmp")
        self.objects = root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self._objects_dir = str(self.objects)  # read() joins strings: pathlib costs more than a 4 KiB read

    def spool(self, algorithms: frozenset[str] = frozenset()) -> LocalSpool:
        return LocalSpool(self.tmp / uuid.uuid4().hex, algorithms)

    def path_of(self, ref: BlobRef) -> Path:
        return self.root / content_path(ref.sha256)

    def commit(self, spooled: Any) -> BlobRef:
        ref = BlobRef(spooled.sha256, spooled.size, spooled.md5)
        target = self.path_of(ref)
        if target.exists():
            Path(spooled.path).unlink(missing_ok=True)  # same content already stored
            return ref
        target.parent.mkdir(exist_ok=True)
        os.replace(spooled.path, target)
        _fsync_dir(target.parent)
        return ref

    def read(self, ref: BlobRef, start: int = 0, end: int | None = None) -> BlobSpan:
        """Bytes start..end inclusive (end None: to the end): iterate for chunks of at most CHUNK, or
        hand the span to a transport that sends from the file itself (see BlobSpan)."""
        last = ref.size - 1 if end is None else end
        return BlobSpan(f"{self._objects_dir}/{ref.sha256[:2]}/{ref.sha256}", ref, start, last - start + 1)

    def exists(self, ref: BlobRef) -> bool:
        return self.path_of(ref).exists()

    def delete(self, ref: BlobRef) -> None:
        self.path_of(ref).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
