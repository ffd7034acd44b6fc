"""A ``Broker`` on 127.0.0.1 in a background event loop, paho-mqtt 2.x clients, and raw-socket helpers."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from otahub.gateway.messages import Outgoing
from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.broker import Broker, ClientInfo
from otahub.gateway.mqtt.codec import PacketReader, encode

TIMEOUT = 5.0
T = TypeVar("T")


class Users:
    """Refuses the user name ``refused``; ``admin`` may act as any thing, anyone else as its client id."""

    def __init__(self) -> None:
        self.certificates: list[bytes | None] = []

    def authenticate(self, client_id: str, username: str | None, password: bytes | None,
                     peer_certificate_der: bytes | None) -> tuple[str, ...] | None:
        self.certificates.append(peer_certificate_der)
        if username == "refused":
            return None
        return ("*",) if username == "admin" else (client_id,)


class EchoReserved:
    """Answers ``$aws/things/..`` itself: ``<topic>/accepted`` echoing the payload; ``../forbidden`` refused."""

    def handle(self, client: ClientInfo, topic: str, payload: bytes) -> list[Outgoing] | None:
        if not topic.startswith("$aws/things/"):
            return None
        if topic.endswith("/forbidden"):
            raise PermissionError(f"{client.client_id} may not publish to {topic}")
        return [Outgoing(f"{topic}/accepted", payload, 1)]

    def may_subscribe(self, client: ClientInfo, topic_filter: str) -> bool:
        if "*" in client.things:
            return True
        if topic_filter.startswith("$aws/things/"):
            return any(topic_filter.startswith(f"$aws/things/{thing}/") for thing in client.things)
        return not topic_filter.startswith("forbidden/")


class RunningBroker:
    def __init__(self, **options: Any) -> None:
        self.users = Users()
        self.broker = Broker(self.users, EchoReserved(), **options)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.port = self.run(self.broker.start("127.0.0.1", 0))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT)

    def call(self, function: Callable[..., T], *args: Any) -> T:
        async def call() -> T:
            return function(*args)
        return self.run(call())

    def wait_offline(self, client_id: str) -> None:
        """Until the broker has seen the client's connection end (its session may stay)."""
        def online() -> bool:
            session = self.broker._sessions.get(client_id)
            return session is not None and session.connection is not None
        deadline = time.monotonic() + TIMEOUT
        while self.call(online):
            assert time.monotonic() < deadline, f"{client_id} is still connected"
            time.sleep(0.01)

    def close(self) -> None:
        self.run(self.broker.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(TIMEOUT)
        self.loop.close()


class Client:
    """A paho client that records what it gets; it does not reconnect by itself within a test."""

    def __init__(self, port: int, client_id: str, *, v5: bool = False, clean: bool = True, expiry: int | None = None,
                 username: str | None = None, will: tuple[str, bytes, int] | None = None) -> None:
        self.v5 = v5
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, clean_session=None if v5 else clean)
        self.paho.reconnect_delay_set(60, 60)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connack_code = -1
        self.session_present = False
        self.disconnect_code = -1
        self.paho.on_connect = self._on_connect
        self.paho.on_disconnect = self._on_disconnect
        self.paho.on_message = lambda _c, _u, message: self.messages.put(message)
        self.paho.on_subscribe = lambda _c, _u, _mid, codes, _p: self.subacks.put([code.value for code in codes])
        if username is not None:
            self.paho.username_pw_set(username, "secret")
        if will is not None:
            self.paho.will_set(*will)
        options: dict[str, Any] = {}
        if v5:
            options["clean_start"] = clean
            if expiry is not None:
                properties = PahoProperties(PacketTypes.CONNECT)
                properties.SessionExpiryInterval = expiry
                options["properties"] = properties
        self.paho.connect("127.0.0.1", port, 30, **options)
        self.paho.loop_start()
        assert self.connected.wait(TIMEOUT), "no CONNACK"

    def _on_connect(self, _client: Any, _userdata: Any, flags: Any, code: Any, _properties: Any) -> None:
        self.connack_code = code.value
        self.session_present = flags.session_present
        self.connected.set()

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, code: Any, _properties: Any) -> None:
        self.disconnect_code = code.value
        self.disconnected.set()

    def subscribe(self, *filters: tuple[str, int]) -> list[int]:
        self.paho.subscribe(list(filters))
        return self.subacks.get(timeout=TIMEOUT)

    def publish(self, topic: str, payload: bytes, qos: int = 1, *, retain: bool = False,
                properties: PahoProperties | None = None) -> mqtt.MQTTMessageInfo:
        info = self.paho.publish(topic, payload, qos, retain, properties)
        if qos == 1:
            info.wait_for_publish(TIMEOUT)
            assert info.is_published()
        return info

    def get(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=TIMEOUT)

    def topics(self, count: int) -> list[str]:
        return [self.get().topic for _ in range(count)]

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


def raw_connect(port: int, connect: p.Connect) -> tuple[socket.socket, p.Connack, PacketReader]:
    """A socket that sent ``connect``, the CONNACK it got and the reader for what follows."""
    sock = socket.create_connection(("127.0.0.1", port), TIMEOUT)
    sock.settimeout(TIMEOUT)
    sock.sendall(encode(connect, connect.protocol_level))
    reader = PacketReader(connect.protocol_level)
    packets: list[p.Packet] = []
    while not packets:
        data = sock.recv(65536)
        assert data, "closed before CONNACK"
        packets = reader.feed(data)
    assert isinstance(packets[0], p.Connack)
    return sock, packets[0], reader


def read_until_closed(sock: socket.socket, reader: PacketReader) -> list[p.Packet]:
    """What the broker sends until it closes the connection (a reset counts as closed)."""
    received: list[p.Packet] = []
    try:
        while data := sock.recv(65536):
            received += reader.feed(data)
    except ConnectionResetError:
        pass
    sock.close()
    return received
