"""Where the agent fetches a job's file from: the presigned HTTP URL, or the MQTT stream the document names.

A source fetches into a file of its own (resuming a download of the same key after a failure or a restart)
and raises ``DownloadError`` (or ``SizeMismatch``) when it gives up; the partial file stays for a resume
until ``discard``. ``serves`` says whether a document offers what the source needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from otahub.device.document import OtaFile
from otahub.device.download import RangedDownloader

FreshDocument = Callable[[], Coroutine[Any, Any, OtaFile]]  # the file as a fresh job document describes it
Progress = Callable[[int, int], Coroutine[Any, Any, None]]  # (blocks received, total blocks)

# Blocking HTTP downloads get threads of their own: they wait on the event loop (progress updates), which
# may itself be waiting for a thread of the jobs transport; one shared pool could starve itself.
DOWNLOAD_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="download")


class FileSource(Protocol):
    def serves(self, spec: OtaFile) -> bool: ...

    async def fetch(self, key: str, spec: OtaFile, fresh: FreshDocument, on_block: Progress) -> Path: ...

    def discard(self) -> None: ...


class HttpSource:
    """The document's ``update_data_url`` with ranged GETs (``RangedDownloader``, blocking, in a thread)."""

    def __init__(self, downloader: RangedDownloader, executor: ThreadPoolExecutor = DOWNLOAD_THREADS) -> None:
        self.downloader = downloader
        self.executor = executor

    def serves(self, spec: OtaFile) -> bool:
        return "HTTP" in spec.protocols and bool(spec.url)

    async def fetch(self, key: str, spec: OtaFile, fresh: FreshDocument, on_block: Progress) -> Path:
        loop = asyncio.get_running_loop()
        first = spec.url or ""

        def urls(refresh: bool) -> str:
            if not refresh:
                return first
            return asyncio.run_coroutine_threadsafe(fresh(), loop).result().url or first

        def blocks(received: int, total: int) -> None:
            asyncio.run_coroutine_threadsafe(on_block(received, total), loop).result()

        return await loop.run_in_executor(self.executor, self.downloader.download, key, spec.size, urls, blocks)

    def discard(self) -> None:
        self.downloader.discard()
