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


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = open_spool_dir(root / "tmp")
        self.objects = root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)

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

    def read(self, ref: BlobRef, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes start..end inclusive (end None: to the end), in chunks."""
        last = ref.size - 1 if end is None else end
        with open(self.path_of(ref), "rb") as handle:
            handle.seek(start)
            remaining = last - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    raise OSError(f"blob {ref.sha256} is shorter than its recorded size {ref.size}")
                remaining -= len(chunk)
                yield chunk

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
