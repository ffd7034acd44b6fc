"""paho-mqtt 2.x, an independent implementation, against a stub server built on our codec.

The stub decodes what paho writes (CONNECT, SUBSCRIBE, PUBLISH, PUBACK, DISCONNECT) with ``PacketReader``
and answers with ``encode``d CONNACK, SUBACK, PUBACK and a PUBLISH; paho's callbacks show that it read
our bytes as meant, and our decoded packets show that we read paho's.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties
from paho.mqtt.subscribeoptions import SubscribeOptions

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.codec import PacketReader, encode
from otahub.gateway.mqtt.properties import Properties

TIMEOUT = 5.0
NOTIFY = "$aws/things/dev-1/jobs/notify-next"
START_NEXT = "$aws/things/dev-1/jobs/start-next"
PUSHED = p.Publish(
    NOTIFY, b'{"execution":{"jobId":"fw-1"}}', 1, packet_id=1,
    properties=Properties(
        payload_format_indicator=1, message_expiry_interval=60, content_type="application/json",
        response_topic="dev-1/replies", correlation_data=b"\x01\x02", subscription_identifiers=(7,),
        user_properties=(("origin", "otahub"), ("origin", "twice")),
    ),
)
Responder = Callable[[p.Packet, int], list[p.Packet]]


class StubServer:
    """Accepts one connection on 127.0.0.1, decodes it and answers with what ``respond`` returns."""

    def __init__(self, respond: Responder) -> None:
        self._respond = respond
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(TIMEOUT)
        self.port: int = self._listener.getsockname()[1]
        self.received: list[p.Packet] = []
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            connection, _ = self._listener.accept()
            with connection:
                connection.settimeout(TIMEOUT)
                self._serve(connection)
        except Exception as error:  # reported by join()
            self.errors.append(error)
        finally:
            self._listener.close()

    def _serve(self, connection: socket.socket) -> None:
        reader = PacketReader(p.MQTT_311)
        while data := connection.recv(65536):
            for packet in reader.feed(data):
                self.received.append(packet)
                for reply in self._respond(packet, reader.protocol_level):
                    connection.sendall(encode(reply, reader.protocol_level))
                if isinstance(packet, p.Disconnect):
                    return

    def join(self) -> None:
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive()
        assert not self.errors, self.errors

    def first(self, kind: type[Any]) -> Any:
        return next(packet for packet in self.received if isinstance(packet, kind))


def respond(packet: p.Packet, level: int) -> list[p.Packet]:
    if isinstance(packet, p.Connect):
        v5 = Properties(topic_alias_maximum=5, receive_maximum=20, assigned_client_identifier="dev-1")
        return [p.Connack(0, False, v5 if level == p.MQTT_5 else Properties())]
    if isinstance(packet, p.Subscribe):
        granted = p.Suback(packet.packet_id, tuple(item.qos for item in packet.subscriptions))
        pushed = PUSHED if level == p.MQTT_5 else p.Publish(PUSHED.topic, PUSHED.payload, 1, packet_id=1)
        return [granted, pushed]
    if isinstance(packet, p.Publish) and packet.packet_id is not None:
        return [p.Puback(packet.packet_id)]
    return []


class Session:
    """A paho client with its callbacks turned into events and records."""

    def __init__(self, protocol: mqtt.MQTTProtocolVersion) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-1", protocol=protocol)
        self.events = {name: threading.Event() for name in ("connect", "subscribe", "message", "publish")}
        self.seen: dict[str, Any] = {}
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish

    def _on_connect(self, _c: mqtt.Client, _u: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.seen["connect"] = (flags, reason, properties)
        self.events["connect"].set()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, reasons: Any, properties: Any) -> None:
        self.seen["subscribe"] = (mid, reasons)
        self.events["subscribe"].set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.seen["message"] = message
        self.events["message"].set()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, properties: Any) -> None:
        self.seen["publish"] = (mid, reason)
        self.events["publish"].set()

    def wait(self, name: str) -> Any:
        assert self.events[name].wait(TIMEOUT), f"paho's on_{name} did not fire"
        return self.seen[name]


@pytest.fixture
def server() -> Iterator[StubServer]:
    stub = StubServer(respond)
    yield stub
    stub.join()


def _run(session: Session, server: StubServer, subscribe: Callable[[], object], publish: Callable[[], object]) -> None:
    session.client.loop_start()
    try:
        session.wait("connect")
        subscribe()
        session.wait("subscribe")
        session.wait("message")
        publish()
        session.wait("publish")
    finally:
        session.client.disconnect()
        session.client.loop_stop()
    server.join()


def test_paho_mqtt311_session(server: StubServer) -> None:
    session = Session(mqtt.MQTTv311)
    session.client.username_pw_set("thing-user", "secret")
    session.client.will_set("dev-1/status", b"offline", qos=1, retain=True)
    session.client.connect("127.0.0.1", server.port, keepalive=30)
    _run(
        session, server,
        lambda: session.client.subscribe(NOTIFY, qos=1),
        lambda: session.client.publish(START_NEXT, b'{"clientToken":"t1"}', qos=1),
    )

    flags, reason, _ = session.seen["connect"]
    assert not reason.is_failure and not flags.session_present
    assert [code.value for code in session.seen["subscribe"][1]] == [1]
    message = session.seen["message"]
    assert (message.topic, message.payload, message.qos) == (NOTIFY, PUSHED.payload, 1)
    assert not session.seen["publish"][1].is_failure

    assert server.first(p.Connect) == p.Connect(
        "dev-1", 4, True, 30, p.Will("dev-1/status", b"offline", 1, True), "thing-user", b"secret"
    )
    subscribe = server.first(p.Subscribe)
    assert subscribe.subscriptions == (p.Subscription(NOTIFY, 1),)
    publish = server.first(p.Publish)
    assert (publish.topic, publish.payload, publish.qos) == (START_NEXT, b'{"clientToken":"t1"}', 1)
    assert not publish.retain
    assert server.first(p.Puback) == p.Puback(1)
    assert server.received[-1] == p.Disconnect()


def _paho_properties(packet_type: int, **values: Any) -> PahoProperties:
    properties = PahoProperties(packet_type)
    for name, value in values.items():
        setattr(properties, name, value)
    return properties


def test_paho_mqtt5_session_with_properties(server: StubServer) -> None:
    session = Session(mqtt.MQTTv5)
    will = _paho_properties(PacketTypes.WILLMESSAGE, WillDelayInterval=10, ContentType="text/plain")
    session.client.will_set("dev-1/status", b"offline", qos=0, retain=False, properties=will)
    connect = _paho_properties(PacketTypes.CONNECT, SessionExpiryInterval=300, ReceiveMaximum=10,
                               UserProperty=[("sdk", "paho")])
    session.client.connect("127.0.0.1", server.port, keepalive=45, clean_start=True, properties=connect)
    options = SubscribeOptions(qos=1, noLocal=True, retainAsPublished=True,
                               retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
    outgoing = _paho_properties(PacketTypes.PUBLISH, ResponseTopic="dev-1/replies", CorrelationData=b"c-1",
                                TopicAlias=3, UserProperty=[("k", "v")], MessageExpiryInterval=120)
    _run(
        session, server,
        lambda: session.client.subscribe(NOTIFY, options=options,
                                         properties=_paho_properties(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7)),
        lambda: session.client.publish(START_NEXT, b"{}", qos=1, properties=outgoing),
    )

    _, reason, connack_properties = session.seen["connect"]
    assert not reason.is_failure
    assert (connack_properties.TopicAliasMaximum, connack_properties.ReceiveMaximum) == (5, 20)
    assert connack_properties.AssignedClientIdentifier == "dev-1"
    assert [code.value for code in session.seen["subscribe"][1]] == [1]
    message = session.seen["message"]
    assert (message.topic, message.payload, message.qos) == (NOTIFY, PUSHED.payload, 1)
    props = message.properties
    assert (props.PayloadFormatIndicator, props.MessageExpiryInterval, props.ContentType) == (1, 60, "application/json")
    assert (props.ResponseTopic, props.CorrelationData) == ("dev-1/replies", b"\x01\x02")
    assert props.SubscriptionIdentifier == [7]
    assert props.UserProperty == [("origin", "otahub"), ("origin", "twice")]

    assert server.first(p.Connect) == p.Connect(
        "dev-1", 5, True, 45,
        p.Will("dev-1/status", b"offline", properties=Properties(content_type="text/plain", will_delay_interval=10)),
        properties=Properties(session_expiry_interval=300, receive_maximum=10, user_properties=(("sdk", "paho"),)),
    )
    assert server.first(p.Subscribe).subscriptions == (p.Subscription(NOTIFY, 1, True, True, 1),)
    assert server.first(p.Subscribe).properties == Properties(subscription_identifiers=(7,))
    publish = server.first(p.Publish)
    assert (publish.topic, publish.payload, publish.qos) == (START_NEXT, b"{}", 1)
    assert publish.properties == Properties(
        message_expiry_interval=120, response_topic="dev-1/replies", correlation_data=b"c-1", topic_alias=3,
        user_properties=(("k", "v"),),
    )
    assert server.first(p.Puback) == p.Puback(1)
    assert server.received[-1] == p.Disconnect()
