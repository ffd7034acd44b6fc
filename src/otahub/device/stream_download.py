"""Stream downloads over MQTT (GetStream in CBOR, ota-update-job.md section 3) that resume where they stopped.

The directory keeps ``image.part`` (the file, blocks written at their offsets) and ``stream-progress.json``
(whose job it is, the size, the block size and a bitmap of the blocks on disk). Each round asks for up to
``blocks_per_request`` of the missing blocks with a bitmap (bit ``j`` of byte ``j >> 3``, LSB first, for
block ``o + j``), writes what arrives, fsyncs the file and then records the bitmap, so a block counted as
received is on disk. A dropped connection, a round that brings nothing, or a restart of the agent only
costs the blocks not yet recorded: the next round asks for what is still missing. Like the FreeRTOS agent
the source gives up after ``max_failures`` rounds in a row without a block ("momentum").
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import cbor2

from otahub.device.document import OtaFile
from otahub.device.download import DownloadError, SizeMismatch
from otahub.device.mqtt_link import LinkDown, MqttLink
from otahub.device.slots import atomic_write
from otahub.device.sources import FreshDocument, Progress
from otahub.domain.blocks import MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, encode_bitmap

PART = "image.part"
PROGRESS = "stream-progress.json"
DEFAULT_BLOCK_SIZE = 4096
FATAL_CODES = ("ResourceNotFound", "VersionMismatch", "BlockSizeOutOfBounds", "OffsetOutOfBounds")

Received = Callable[[int], Awaitable[None]]  # blocks received so far in this fetch (a hook for fault injection)


class _Bitmap:
    """Which blocks of the file are on disk."""

    def __init__(self, total: int, bits: bytes | None = None) -> None:
        self.total = total
        self.bits = bytearray(bits if bits is not None and len(bits) == -(-total // 8) else -(-total // 8))

    def has(self, index: int) -> bool:
        return bool(self.bits[index >> 3] >> (index & 7) & 1)

    def add(self, index: int) -> None:
        self.bits[index >> 3] |= 1 << (index & 7)

    def count(self) -> int:
        return sum(bin(byte).count("1") for byte in self.bits)

    def missing(self, limit: int) -> list[int]:
        found: list[int] = []
        for position, byte in enumerate(self.bits):
            if byte == 0xFF:
                continue
            for bit in range(8):
                index = position * 8 + bit
                if index < self.total and not byte >> bit & 1:
                    found.append(index)
                    if len(found) == limit:
                        return found
        return found


class StreamSource:
    def __init__(self, link: MqttLink, directory: Path, *, block_size: int = DEFAULT_BLOCK_SIZE,
                 blocks_per_request: int = 32, max_failures: int = 5, wait: float = 5.0, backoff: float = 0.5,
                 on_received: Received | None = None) -> None:
        if not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE:
            raise ValueError("block_size must be 256..131072 bytes (the service's GetStream range)")
        self.link, self.directory, self.block_size = link, directory, block_size
        self.blocks_per_request = max(1, min(blocks_per_request, MAX_BLOCK_SIZE // block_size))
        self.max_failures, self.wait, self.backoff = max_failures, wait, backoff
        self.on_received = on_received
        self._tokens = itertools.count(1)

    @property
    def part(self) -> Path:
        return self.directory / PART

    def serves(self, spec: OtaFile) -> bool:
        return "MQTT" in spec.protocols and bool(spec.stream)

    def discard(self) -> None:
        for name in (PART, PROGRESS):
            (self.directory / name).unlink(missing_ok=True)

    async def fetch(self, key: str, spec: OtaFile, fresh: FreshDocument, on_block: Progress) -> Path:
        del fresh  # a stream needs no fresh URL
        self.directory.mkdir(parents=True, exist_ok=True)
        total = -(-spec.size // self.block_size)
        have = self._resume(key, spec.size, total)
        failures = 0
        with self.part.open("r+b") as out:
            while (wanted := have.missing(self.blocks_per_request)):
                try:
                    arrived = await self._round(spec, wanted, out.fileno(), have)
                except LinkDown as exc:
                    arrived, problem = [], str(exc)
                else:
                    problem = "no block arrived"
                if not arrived:
                    failures += 1
                    if failures >= self.max_failures:
                        raise DownloadError(f"gave up with {have.count()} of {total} blocks: {problem}")
                    await asyncio.sleep(self.backoff * failures)
                    continue
                failures = 0
                os.fsync(out.fileno())
                self._record(key, spec.size, have)
                done = have.count()
                for received in range(done - len(arrived) + 1, done + 1):
                    await on_block(received, total)
                if self.on_received is not None:
                    await self.on_received(done)
        return self.part

    async def _round(self, spec: OtaFile, wanted: list[int], fd: int, have: _Bitmap) -> list[int]:
        """Ask for ``wanted``; write the blocks that arrive until all did or the stream falls silent."""
        await self.link.connect()
        inbox = self.link.stream(str(spec.stream))
        while not inbox.empty():  # left over from a round that timed out or a connection that dropped
            inbox.get_nowait()
        token = f"r{next(self._tokens)}"
        offset = wanted[0]
        bitmap = encode_bitmap(wanted, offset)
        request = {"c": token, "f": spec.file_id, "l": self.block_size, "o": offset, "b": bitmap, "n": len(wanted)}
        await self.link.publish(f"{self.link.prefix}/streams/{spec.stream}/get/cbor", cbor2.dumps(request))
        pending, arrived = set(wanted), list[int]()
        while pending:
            try:
                kind, payload = await asyncio.wait_for(inbox.get(), self.wait)
            except TimeoutError:
                break
            if kind == "down":
                if arrived:
                    break
                raise LinkDown(f"{self.link.client_id}: the connection dropped during a stream request")
            if kind == "rejected":
                self._refused(payload, token)
                continue
            index = self._store(payload, token, spec, pending, fd)
            if index is not None:
                pending.discard(index)
                have.add(index)
                arrived.append(index)
        return arrived

    def _store(self, payload: bytes, token: str, spec: OtaFile, pending: set[int], fd: int) -> int | None:
        with contextlib.suppress(ValueError, cbor2.CBORDecodeError):
            block: Any = cbor2.loads(payload)
            if not isinstance(block, dict) or block.get("c") != token or block.get("f") != spec.file_id:
                return None
            index, data = block.get("i"), block.get("p")
            if not isinstance(index, int) or index not in pending or not isinstance(data, bytes):
                return None
            expected = min(self.block_size, spec.size - index * self.block_size)
            if len(data) != expected:
                raise SizeMismatch(f"block {index} has {len(data)} bytes, not {expected}: the file is not "
                                   f"the {spec.size} bytes the document says")
            os.pwrite(fd, data, index * self.block_size)
            return index
        return None

    @staticmethod
    def _refused(payload: bytes, token: str) -> None:
        with contextlib.suppress(ValueError, cbor2.CBORDecodeError):
            body: Any = cbor2.loads(payload)
            if isinstance(body, dict) and body.get("c") == token and body.get("o") in FATAL_CODES:
                raise DownloadError(f"the stream refused the request: {body.get('o')} {body.get('m', '')}")

    def _resume(self, key: str, size: int, total: int) -> _Bitmap:
        try:
            raw = json.loads((self.directory / PROGRESS).read_text())
            if (raw["key"], raw["size"], raw["block_size"]) == (key, size, self.block_size) and self.part.exists():
                return _Bitmap(total, bytes.fromhex(raw["blocks"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.discard()
        with self.part.open("wb") as out:
            out.truncate(size)
        have = _Bitmap(total)
        self._record(key, size, have)
        return have

    def _record(self, key: str, size: int, have: _Bitmap) -> None:
        atomic_write(self.directory / PROGRESS, json.dumps(
            {"key": key, "size": size, "block_size": self.block_size, "blocks": have.bits.hex()}).encode())
