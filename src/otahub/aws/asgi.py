"""The ASGI face of the AWS pipeline: HTTP in, AwsRequest to the pipeline (in a worker thread,
since handlers do blocking database work), AwsResponse out."""

from __future__ import annotations

import asyncio
import json
import mmap
import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from otahub.aws.chunked import FORMS as CHUNKED_FORMS
from otahub.aws.chunked import AwsChunkedDecoder, ChunkError
from otahub.aws.errors import WireError
from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.pipeline import AwsPipeline, Call
from otahub.services.ports import BlobSpool

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@runtime_checkable
class FileSpan(Protocol):
    """A streamed body that is a span of a local file (the local blob store's reads): sent from the file
    itself rather than read into Python bytes chunk by chunk."""

    def open_span(self) -> tuple[int, int, int]:
        """(descriptor, offset, count); the caller closes the descriptor. May block (it opens a file)."""
        ...


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body over {limit} bytes")
        self.limit = limit


CLOCK_CONTROL_PATH = "/_otahub/clock"


class ClockControl(Protocol):
    def now(self) -> datetime: ...
    def advance(self, seconds: float) -> datetime: ...


class AwsAsgiApp:
    def __init__(
        self,
        pipeline: AwsPipeline,
        workers: int = 8,
        clock_control: ClockControl | None = None,
        spool: Callable[[frozenset[str]], BlobSpool] | None = None,
        max_upload_bytes: int = 5 * 1024**3,
        on_startup: Callable[[], Awaitable[None] | None] | None = None,
        on_shutdown: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        """``workers=0`` runs the pipeline on the event loop itself: cheaper per call when the store is
        local (SQLite) and every request is short CPU work; a pool lets network databases overlap."""
        self.pipeline = pipeline
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otahub-aws") if workers else None
        self.clock_control = clock_control
        self.spool = spool
        self.max_upload_bytes = max_upload_bytes
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = AwsRequest(
            method=scope["method"],
            path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=_headers(scope),
        )
        if self.clock_control is not None and request.path == CLOCK_CONTROL_PATH:
            request.body = await _read_body(receive, self.pipeline.settings.max_body_bytes)
            await _send(send, self._control_clock(request))
            return
        call = Call(str(uuid.uuid4()))
        body_read = False
        try:
            self.pipeline.start(request, call)
            body_read = True
            if call.streams_input and self.spool is not None:
                request.spooled = await self._spool_body(receive, request, call)
            else:
                request.body = await _read_body(receive, self.pipeline.settings.max_body_bytes)
            response = await self._finish(request, call)
        except BodyTooLarge as error:
            too_large = WireError("RequestEntityTooLargeException", 413,
                                  f"Request body exceeds the limit of {error.limit} bytes")
            response = self.pipeline.error_response(request, call, too_large)
        except Exception as error:
            if not body_read:  # refused before reading: drain, so the client is still listening for the answer
                await _drain(receive)
            response = self.pipeline.error_response(request, call, error)
        finally:
            if request.spooled is not None:
                request.spooled.discard()
        zero_copy = ZERO_COPY_SEND in scope.get("extensions", {})
        await _send(send, response, head=request.method == "HEAD", zero_copy=zero_copy)

    def _control_clock(self, request: AwsRequest) -> AwsResponse:
        """With `serve --virtual-clock` (or `--clock-control`): a SigV4-signed POST {"advanceSeconds": n}
        moves service time on, the rollout engine catching up step by step; GET reads the time."""
        assert self.clock_control is not None
        try:
            self.pipeline.authenticate(request)
        except Exception as error:
            status = getattr(error, "status", 403)
            return _json_response(status, {"message": str(getattr(error, "message", error))})
        if request.method == "POST":
            try:
                seconds = float(json.loads(request.body or b"{}").get("advanceSeconds", 0))
                return _json_response(200, {"now": self.clock_control.advance(seconds).isoformat()})
            except (ValueError, TypeError, AttributeError) as exc:
                return _json_response(400, {"message": f"advanceSeconds must be a non-negative number: {exc}"})
        return _json_response(200, {"now": self.clock_control.now().isoformat()})

    async def _finish(self, request: AwsRequest, call: Call) -> AwsResponse:
        """Short control-plane calls run inline when the store is local; blob calls (S3: commits,
        multipart assembly, copies) move whole files and always run off the event loop."""
        if self.executor is None and not call.moves_blobs:
            return self.pipeline.finish(request, call)
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.pipeline.finish, request, call)

    async def _spool_body(self, receive: Receive, request: AwsRequest, call: Call) -> Any:
        """Stream the body to disk (decoding aws-chunked framing on the way), never whole in memory."""
        assert self.spool is not None
        spool = self.spool(requested_checksums(request.headers))
        form = request.headers.get("x-amz-content-sha256", "")
        decoder = AwsChunkedDecoder(form, self.pipeline.chunk_signer(call)) if form in CHUNKED_FORMS else None
        pending = bytearray()  # hashed and written in a worker thread a MiB at a time: hashlib frees the GIL
        loop = asyncio.get_running_loop()
        size = 0
        more = True
        try:
            while more:
                message = await receive()
                chunk = message.get("body", b"")
                more = bool(message.get("more_body", False))
                size += len(chunk)
                if size > self.max_upload_bytes:
                    raise BodyTooLarge(self.max_upload_bytes)
                if decoder is None:
                    pending += chunk
                else:
                    decoder.feed(chunk, pending.extend)
                if len(pending) >= SPOOL_BATCH or not more:
                    await loop.run_in_executor(None, spool.write, bytes(pending))
                    pending.clear()
            if decoder is not None:
                request.headers.update(decoder.close())  # trailing checksums join the headers
            spooled = await asyncio.get_running_loop().run_in_executor(None, spool.finish)
        except ChunkError as error:
            spool.discard()
            if more:  # refused mid-body: read the rest, so the client is still listening for the answer
                await _drain(receive)
            raise WireError(error.code, error.status, error.message) from error
        except BaseException:
            spool.discard()
            raise
        _check_decoded_length(request, spooled.size)
        return spooled

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await _run_hook(self.on_startup)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _run_hook(self.on_shutdown)
                if self.executor is not None:
                    self.executor.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _run_hook(hook: Callable[[], Awaitable[None] | None] | None) -> None:
    """Start-up and shut-down hooks may be plain functions or coroutines (the MQTT endpoint's)."""
    result = hook() if hook is not None else None
    if result is not None:
        await result


def _json_response(status: int, body: dict[str, Any]) -> AwsResponse:
    return AwsResponse(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def requested_checksums(headers: dict[str, str]) -> frozenset[str]:
    """The S3 checksum algorithms a request sends or announces (as a header or a trailer)."""
    named = {headers.get("x-amz-sdk-checksum-algorithm", "").upper()}
    for value in (headers.get("x-amz-trailer", ""), *headers):
        if value.startswith("x-amz-checksum-"):
            named.add(value.removeprefix("x-amz-checksum-").upper())
    return frozenset(named - {""})


def _check_decoded_length(request: AwsRequest, size: int) -> None:
    declared = request.headers.get("x-amz-decoded-content-length")
    if declared is not None and declared.isdigit() and int(declared) != size:
        raise WireError("IncompleteBody", 400, "You did not provide the number of bytes specified by the "
                        "x-amz-decoded-content-length header")


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


DRAIN_LIMIT = 64 * 1024 * 1024  # past this an oversized body is not read on; the connection just closes
SPOOL_BATCH = 1024 * 1024


async def _drain(receive: Receive) -> None:
    drained = 0
    while drained <= DRAIN_LIMIT:
        message = await receive()
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT:
            raise BodyTooLarge(limit)
        if not message.get("more_body", False):
            if size > limit:
                raise BodyTooLarge(limit)  # read to the end first, so the client is still listening for the 413
            return b"".join(chunks)


ZERO_COPY_SEND = "http.response.zerocopysend"  # the ASGI extension; uvicorn does not offer it
SMALL_SPAN = 1024 * 1024  # up to this, a span is read with one pread: cheaper than mapping it
MAP_WINDOW = 4 * 1024 * 1024  # a larger span is sent from read-only mappings of this many bytes


async def _send(send: Send, response: AwsResponse, head: bool = False, zero_copy: bool = False) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    if not any(k.lower() == "content-length" for k in response.headers):
        headers.append((b"content-length", str(len(response.body)).encode()))
    start = {"type": "http.response.start", "status": response.status, "headers": headers}
    if head:
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        return
    if response.stream is None:
        await send(start)
        await send({"type": "http.response.body", "body": response.body})
        return
    loop = asyncio.get_running_loop()
    if isinstance(response.stream, FileSpan):
        # opened (and its first bytes read or mapped) before the head goes out: a blob that is gone
        # fails the request with a 500 rather than cutting a 200 short
        fd, offset, count, first = await loop.run_in_executor(None, _open_file_body, response.stream, zero_copy)
        try:
            await send(start)
            await _send_file(send, fd, offset, count, first, zero_copy)
        finally:
            os.close(fd)
        return
    await send(start)
    chunks = iter(response.stream)
    while (chunk := await loop.run_in_executor(None, next, chunks, None)) is not None:  # reads may block
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _open_file_body(span: FileSpan, zero_copy: bool) -> tuple[int, int, int, bytes | memoryview | None]:
    """In a worker thread: open the span and, unless the server sends from the descriptor itself, read
    it whole (a small span) or map its first window. One thread hop for a block-sized Range request."""
    fd, offset, count = span.open_span()
    try:
        if zero_copy or not count:
            return fd, offset, count, None
        if count <= SMALL_SPAN:
            body = os.pread(fd, count, offset)
            if len(body) != count:
                raise OSError(f"read {len(body)} of {count} bytes at {offset}: the file is shorter than its span")
            return fd, offset, count, body
        return fd, offset, count, _map_window(fd, offset, min(MAP_WINDOW, count))
    except BaseException:
        os.close(fd)
        raise


async def _send_file(send: Send, fd: int, offset: int, count: int, first: bytes | memoryview | None,
                     zero_copy: bool) -> None:
    """Bytes offset..offset+count-1 of an open file as the response body, copied as little as the server
    allows. A server offering the zero-copy extension gets the file (it sendfile()s it). uvicorn offers
    no extension at all, and an ASGI app never sees its transport; but it hands each body, whatever
    bytes-like object it is, to uvloop's transport.write, which keeps a reference instead of a copy.
    So a large span goes as memoryviews of read-only mappings, MAP_WINDOW bytes each: the kernel copies
    the page cache straight into the socket (one copy, where read() + send() make two), and Python never
    reads or allocates the bytes. Each window is mapped with MAP_POPULATE in a worker thread, so a span
    not yet in the page cache is read from disk there and never stalls the event loop. A mapping lives
    until uvloop has written the last of it (the memoryview keeps it). uvicorn passes the next window on
    only when the transport has drained below its low-water mark, so a response holds about two windows
    at a time; they count in the process's RSS as shared file pages, not as allocations. Blob files are
    never rewritten, so a mapping never changes under a send. A small span (a Range request for a
    block) is one pread, in ``first``."""
    if zero_copy and count:
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as file:  # the caller closes fd
            await send({"type": ZERO_COPY_SEND, "file": file, "offset": offset, "count": count, "more_body": False})
        return
    if first is None or isinstance(first, bytes):
        await send({"type": "http.response.body", "body": first or b""})
        return
    loop = asyncio.get_running_loop()
    end = offset + count
    window: memoryview | None = first
    while window is not None:
        await send({"type": "http.response.body", "body": window, "more_body": True})
        offset += len(window)
        del window  # the transport holds the view (and so the mapping) until it has sent it
        window = (await loop.run_in_executor(None, _map_window, fd, offset, min(MAP_WINDOW, end - offset))
                  if offset < end else None)
    await send({"type": "http.response.body", "body": b""})


def _map_window(fd: int, offset: int, count: int) -> memoryview:
    """Bytes offset..offset+count-1 of the file, mapped read-only and faulted in (this may read the disk)."""
    aligned = offset - offset % mmap.ALLOCATIONGRANULARITY
    mapping = mmap.mmap(fd, offset + count - aligned, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE,
                        prot=mmap.PROT_READ, offset=aligned)
    return memoryview(mapping)[offset - aligned :]
