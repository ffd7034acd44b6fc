"""The ASGI face of the AWS pipeline: HTTP in, AwsRequest to the pipeline (in a worker thread,
since handlers do blocking database work), AwsResponse out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.pipeline import AwsPipeline
from otahub.domain.clock import AdjustableClock

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


CLOCK_CONTROL_PATH = "/_otahub/clock"


class AwsAsgiApp:
    def __init__(
        self, pipeline: AwsPipeline, workers: int = 8, clock_control: AdjustableClock | None = None
    ) -> None:
        """``workers=0`` runs the pipeline on the event loop itself: cheaper per call when the store is
        local (SQLite) and every request is short CPU work; a pool lets network databases overlap."""
        self.pipeline = pipeline
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otahub-aws") if workers else None
        self.clock_control = clock_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        limit = self.pipeline.settings.max_body_bytes
        try:
            body = await _read_body(scope, receive, limit)
        except BodyTooLarge:
            await _send(send, _too_large(limit))
            return
        request = AwsRequest(
            method=scope["method"],
            path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=_headers(scope),
            body=body,
        )
        if self.clock_control is not None and request.path == CLOCK_CONTROL_PATH:
            await _send(send, _control_clock(self.clock_control, request))
            return
        if self.executor is None:
            response = self.pipeline.handle(request)
        else:
            response = await asyncio.get_running_loop().run_in_executor(self.executor, self.pipeline.handle, request)
        await _send(send, response)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.executor is not None:
                    self.executor.shutdown(wait=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _control_clock(clock: AdjustableClock, request: AwsRequest) -> AwsResponse:
    """Test aid, only with `serve --clock-control`: POST {"advanceSeconds": n} moves server time on."""
    if request.method == "POST":
        try:
            seconds = float(json.loads(request.body or b"{}").get("advanceSeconds", 0))
            clock.advance(timedelta(seconds=seconds))
        except (ValueError, TypeError, AttributeError) as exc:
            body = json.dumps({"message": f"advanceSeconds must be a non-negative number: {exc}"}).encode()
            return AwsResponse(400, {"Content-Type": "application/json"}, body)
    body = json.dumps({"now": clock.now().isoformat()}).encode()
    return AwsResponse(200, {"Content-Type": "application/json"}, body)


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


DRAIN_LIMIT = 64 * 1024 * 1024  # past this an oversized body is not read on; the connection just closes


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT:
            raise BodyTooLarge
        if not message.get("more_body", False):
            if size > limit:
                raise BodyTooLarge  # read to the end first, so the client is still listening for the 413
            return b"".join(chunks)


def _too_large(limit: int) -> AwsResponse:
    message = f"Request body exceeds the limit of {limit} bytes"
    body = json.dumps({"message": message}).encode()
    headers = {"x-amzn-ErrorType": "RequestEntityTooLargeException", "Content-Type": "application/json",
               "Connection": "close"}
    return AwsResponse(413, headers, body)


async def _send(send: Send, response: AwsResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
