"""Block-by-block HTTP Range downloads that resume where they stopped.

The download keeps two files in its directory: ``image.part`` (the bytes so far) and ``progress.json``
(whose job and URL they belong to, the file size and the offset up to which they are synced). After a
failure, a dropped connection or a restart of the agent the next attempt truncates ``image.part`` to
the recorded offset and asks for the rest. A refused request (403: the presigned URL expired) asks the
caller for a fresh URL; other failures are retried, resuming, until ``max_failures`` follow each other
without a block arriving (FreeRTOS's "momentum").
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from otahub.device.slots import atomic_write

PART = "image.part"
PROGRESS = "progress.json"
DEFAULT_BLOCK_SIZE = 4096  # FreeRTOS OTA_FILE_BLOCK_SIZE (1 << otaconfigLOG2_FILE_BLOCK_SIZE)

UrlSource = Callable[[bool], str]  # the download URL; True asks for a fresh one (the last was refused)
BlockHook = Callable[[int, int], None]  # (blocks received, total blocks) after each synced block


class DownloadError(RuntimeError):
    """The download gave up; the partial file stays for a later resume."""


class SizeMismatch(DownloadError):
    """The server's file does not have the size the job document announced."""


class _Retry(Exception):
    """One request failed in a way worth retrying; ``refused`` when the URL itself was refused."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Progress:
    key: str  # what is being downloaded (job id and execution number): a new key starts afresh
    size: int
    offset: int


class RangedDownloader:
    def __init__(self, directory: Path, *, block_size: int = DEFAULT_BLOCK_SIZE, max_failures: int = 5,
                 backoff: float = 0.5, timeout: float = 30.0) -> None:
        if block_size < 1:
            raise ValueError("block_size must be positive")
        self.directory = directory
        self.block_size = block_size
        self.max_failures = max_failures
        self.backoff = backoff
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._origin: tuple[str, str] | None = None

    @property
    def part(self) -> Path:
        return self.directory / PART

    def progress(self) -> Progress | None:
        try:
            raw = json.loads((self.directory / PROGRESS).read_text())
            return Progress(str(raw["key"]), int(raw["size"]), int(raw["offset"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def discard(self) -> None:
        for name in (PART, PROGRESS):
            (self.directory / name).unlink(missing_ok=True)

    def download(self, key: str, size: int, urls: UrlSource, on_block: BlockHook | None = None) -> Path:
        """Fetch ``size`` bytes into ``image.part`` (resuming a download of the same key); returns its path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        offset = self._resume_offset(key, size)
        total = -(-size // self.block_size)
        url, failures = urls(False), 0
        try:
            with self.part.open("r+b") as out:
                out.truncate(offset)
                out.seek(offset)
                while offset < size:
                    try:
                        block = self._get(url, offset, min(offset + self.block_size, size) - 1, size)
                    except _Retry as exc:
                        failures += 1
                        if failures >= self.max_failures:
                            raise DownloadError(f"gave up at byte {offset} of {size}: {exc}") from exc
                        if exc.refused:
                            url = urls(True)
                        else:
                            time.sleep(self.backoff * failures)
                        continue
                    out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
                    offset += len(block)
                    failures = 0
                    self._record(Progress(key, size, offset))
                    if on_block is not None:
                        on_block(-(-offset // self.block_size), total)
        finally:
            self.close()
        return self.part

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection, self._origin = None, None

    def _resume_offset(self, key: str, size: int) -> int:
        known = self.progress()
        if known is None or known.key != key or known.size != size or not self.part.exists():
            self.discard()
            self.part.touch()
            self._record(Progress(key, size, 0))
            return 0
        return min(known.offset, self.part.stat().st_size, size)

    def _record(self, progress: Progress) -> None:
        atomic_write(self.directory / PROGRESS, json.dumps(
            {"key": progress.key, "size": progress.size, "offset": progress.offset}).encode())

    def _connect(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DownloadError(f"not an http(s) URL: {url[:80]}")
        origin = (parts.scheme, parts.netloc)
        if self._connection is None or self._origin != origin:
            self.close()
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            self._connection, self._origin = kind(parts.netloc, timeout=self.timeout), origin
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return self._connection, target

    def _get(self, url: str, first: int, last: int, size: int) -> bytes:
        """Bytes ``first``..``last`` (inclusive) of the file; _Retry on a failure worth another try."""
        connection, target = self._connect(url)
        try:
            connection.request("GET", target, headers={"Range": f"bytes={first}-{last}"})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise _Retry(f"connection: {exc!r}") from exc
        if response.status == 403:
            raise _Retry(f"403 refused (an expired URL?): {body[:200]!r}", refused=True)
        if response.status == 416:
            raise SizeMismatch(f"the server has fewer than {size} bytes (416 for bytes {first}-{last})")
        if response.status != 206:
            raise _Retry(f"{response.status} for bytes {first}-{last}")
        total = (response.getheader("Content-Range") or "").rpartition("/")[2]
        if total.isdigit() and int(total) != size:
            raise SizeMismatch(f"the server's file has {total} bytes, the document says {size}")
        if len(body) != last - first + 1:
            self.close()
            raise _Retry(f"short block: {len(body)} of {last - first + 1} bytes at {first}")
        return body
