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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


class LocalSpool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115 - closed in finish()/discard()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._crc32 = 0
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._md5.update(chunk)
        self._sha256.update(chunk)
        self._sha1.update(chunk)
        self._crc32 = zlib.crc32(chunk, self._crc32)
        self._size += len(chunk)

    def finish(self) -> LocalSpooledBlob:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        sha256 = self._sha256.digest()
        checksums = {
            "SHA256": base64.b64encode(sha256).decode(),
            "SHA1": base64.b64encode(self._sha1.digest()).decode(),
            "CRC32": base64.b64encode(self._crc32.to_bytes(4, "big")).decode(),
        }
        return LocalSpooledBlob(self.path, self._size, self._md5.hexdigest(), sha256.hex(), checksums)

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.objects = root / "objects"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.objects.mkdir(parents=True, exist_ok=True)
        for stray in self.tmp.iterdir():  # a crash mid-upload leaves these; nothing refers to them
            stray.unlink(missing_ok=True)

    def spool(self) -> LocalSpool:
        return LocalSpool(self.tmp / uuid.uuid4().hex)

    def path_of(self, ref: BlobRef) -> Path:
        return self.objects / ref.sha256[:2] / ref.sha256

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
