"""The ASGI face of the AWS pipeline: HTTP in, AwsRequest to the pipeline (in a worker thread,
since handlers do blocking database work), AwsResponse out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

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
        await _send(send, response, head=request.method == "HEAD")

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


async def _send(send: Send, response: AwsResponse, head: bool = False) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    if not any(k.lower() == "content-length" for k in response.headers):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    if response.stream is None:
        await send({"type": "http.response.body", "body": response.body})
        return
    chunks = iter(response.stream)
    loop = asyncio.get_running_loop()
    while (chunk := await loop.run_in_executor(None, next, chunks, None)) is not None:  # reads may block
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
