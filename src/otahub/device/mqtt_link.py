"""One device's MQTT connection (aiomqtt, MQTT 3.1.1 or 5): its thing's jobs and stream topics.

The link subscribes to ``$aws/things/{thing}/jobs/#`` (QoS 1) and ``$aws/things/{thing}/streams/#`` (QoS 0,
as the FreeRTOS OTA agent does) and sorts what arrives:

- jobs replies (``.../accepted`` and ``.../rejected``) resolve the request with the same ``clientToken``;
- ``notify-next`` sets ``work`` when it carries an execution;
- stream messages (``data``, ``description``, ``rejected``) go to the queue of their stream.

When the connection drops every waiting request fails with ``LinkDown`` and every stream queue gets a
``LinkDown``; ``connect()`` makes a new connection (a clean session: the link subscribes again).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import aiomqtt

JOBS_QOS = 1
STREAMS_QOS = 0


class LinkDown(ConnectionError):
    """The MQTT connection is gone; connect again and carry on."""


class Rejected(RuntimeError):
    """The service answered a jobs request on ``.../rejected``."""

    def __init__(self, topic: str, body: dict[str, Any]) -> None:
        super().__init__(f"{body.get('code', '?')} on {topic}: {body.get('message', '')}")
        self.topic, self.code, self.body = topic, str(body.get("code", "")), body


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    tls: ssl.SSLContext | None = None
    protocol: int = 4  # 4: MQTT 3.1.1 (what the FreeRTOS agent speaks), 5: MQTT 5
    keepalive: int = 60
    timeout: float = 10.0  # connect, and each request's wait for its reply

    @classmethod
    def parse(cls, address: str, **options: Any) -> MqttEndpoint:
        """``host:port`` (mqtt://host:port and mqtts://host:port too)."""
        scheme, _, rest = address.rpartition("://")
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"expected host:port, not {address!r}")
        if scheme == "mqtts" and "tls" not in options:
            options["tls"] = ssl.create_default_context()
        return cls(host.strip("[]"), int(port), **options)


StreamMessage = tuple[str, bytes]  # (kind: data | description | rejected, payload) or ("down", b"")


class MqttLink:
    def __init__(self, endpoint: MqttEndpoint, thing: str, client_id: str | None = None,
                 gate: asyncio.Semaphore | None = None) -> None:
        self.endpoint = endpoint
        self.thing = thing
        self.client_id = client_id or thing  # plain TCP: the client id names the thing
        self.gate = gate  # shared by a fleet, so that thousands of devices do not all connect at once
        self.work = asyncio.Event()  # a notify-next with an execution arrived
        self.connects = 0
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[tuple[str, dict[str, Any]]]] = {}
        self._streams: dict[str, asyncio.Queue[StreamMessage]] = {}
        self._tokens = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def prefix(self) -> str:
        return f"$aws/things/{self.thing}"

    async def connect(self) -> None:
        async with self._lock:
            if self._client is not None:
                return
            endpoint = self.endpoint
            protocol = aiomqtt.ProtocolVersion.V5 if endpoint.protocol == 5 else aiomqtt.ProtocolVersion.V311
            client = aiomqtt.Client(endpoint.host, endpoint.port, identifier=self.client_id, protocol=protocol,
                                    tls_context=endpoint.tls, keepalive=endpoint.keepalive, timeout=endpoint.timeout,
                                    clean_session=True if endpoint.protocol != 5 else None)
            try:
                async with self.gate or contextlib.nullcontext():
                    await client.__aenter__()
                _expect_disconnection(client)
                await client.subscribe([(f"{self.prefix}/jobs/#", JOBS_QOS), (f"{self.prefix}/streams/#", STREAMS_QOS)])
            except aiomqtt.MqttError as exc:
                with contextlib.suppress(Exception):
                    await client.__aexit__(None, None, None)
                raise LinkDown(f"{self.client_id}: {exc}") from exc
            self._client = client
            self.connects += 1
            self._reader = asyncio.create_task(self._read(client), name=f"mqtt-{self.client_id}")

    async def close(self) -> None:
        client, reader = self._client, self._reader
        self._down("closed")
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if client is not None:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def drop(self) -> None:
        """Lose the connection the way a device does (no DISCONNECT): shut the socket down under the client."""
        client = self._client
        if client is None:
            return
        sock = client._client.socket()  # aiomqtt has no public way to lose a connection abruptly
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        await self.close()

    async def publish(self, topic: str, payload: bytes, qos: int = STREAMS_QOS) -> None:
        client = self._client
        if client is None:
            raise LinkDown(f"{self.client_id}: not connected")
        try:
            await client.publish(topic, payload, qos=qos)
        except aiomqtt.MqttError as exc:
            self._down(str(exc))
            raise LinkDown(f"{self.client_id}: {exc}") from exc

    async def request(self, topic: str, body: dict[str, Any]) -> dict[str, Any]:
        """Publish a jobs request and wait for its accepted reply; ``Rejected`` for a rejected one."""
        token = f"{self.client_id[:40]}-{next(self._tokens)}"
        future: asyncio.Future[tuple[str, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        try:
            await self.publish(topic, json.dumps({**body, "clientToken": token}).encode(), JOBS_QOS)
            reply_topic, reply = await asyncio.wait_for(future, self.endpoint.timeout)
        except TimeoutError as exc:
            raise LinkDown(f"{self.client_id}: no reply to {topic} in {self.endpoint.timeout} s") from exc
        finally:
            self._pending.pop(token, None)
        if reply_topic.endswith("/rejected"):
            raise Rejected(reply_topic, reply)
        return reply

    def stream(self, stream_id: str) -> asyncio.Queue[StreamMessage]:
        """The queue of one stream's messages (made on first use; kept across reconnects)."""
        return self._streams.setdefault(stream_id, asyncio.Queue())

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                self._sort(str(message.topic), bytes(message.payload) if isinstance(message.payload, bytes | bytearray)
                           else str(message.payload).encode())
        except aiomqtt.MqttError as exc:
            self._down(str(exc))
        else:
            self._down("the connection ended")
        if self._client is None:  # lost, not closed: let the client release its socket and tasks
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    def _sort(self, topic: str, payload: bytes) -> None:
        if not topic.startswith(self.prefix + "/"):
            return
        parts = topic[len(self.prefix) + 1:].split("/")
        if parts[0] == "streams" and len(parts) >= 4:
            self.stream(parts[1]).put_nowait((parts[2], payload))
        elif parts[0] == "jobs" and parts[-1] == "notify-next":
            self._notified(payload)
        elif parts[0] == "jobs" and parts[-1] in ("accepted", "rejected"):
            self._answered(topic, payload)

    def _notified(self, payload: bytes) -> None:
        with contextlib.suppress(ValueError):
            body = json.loads(payload)
            if isinstance(body, dict) and body.get("execution"):
                self.work.set()

    def _answered(self, topic: str, payload: bytes) -> None:
        try:
            body = json.loads(payload)
        except ValueError:
            return
        future = self._pending.get(str(body.get("clientToken", ""))) if isinstance(body, dict) else None
        if future is not None and not future.done():
            future.set_result((topic, body))

    def _down(self, why: str) -> None:
        if self._client is None:
            return
        self._client = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkDown(f"{self.client_id}: {why}"))
        for queue in self._streams.values():
            queue.put_nowait(("down", b""))


def _expect_disconnection(client: aiomqtt.Client) -> None:
    """A lost connection is routine here: mark aiomqtt's disconnection future's error as seen (else asyncio
    logs "Future exception was never retrieved" for every device that drops)."""
    disconnected: asyncio.Future[None] = client._disconnected
    disconnected.add_done_callback(lambda future: future.cancelled() or future.exception())
