"""The broker against real paho-mqtt 2.x clients (MQTT 3.1.1 and 5) and raw sockets, in-process on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.codec import encode
from tests.unit.gateway.mqtt.broker_harness import Client, RunningBroker, raw_connect, read_until_closed

Connect = Callable[..., Client]
LEVELS = pytest.mark.parametrize("v5", [False, True], ids=["mqtt311", "mqtt5"])


@pytest.fixture
def running() -> Iterator[RunningBroker]:
    broker = RunningBroker()
    yield broker
    broker.close()


@pytest.fixture
def connect(running: RunningBroker) -> Iterator[Connect]:
    clients: list[Client] = []

    def make(client_id: str, **options: Any) -> Client:
        client = Client(running.port, client_id, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@LEVELS
def test_publish_subscribe_with_wildcards_at_qos_0_and_1(connect: Connect, v5: bool) -> None:
    subscriber = connect("sub", v5=v5)
    assert subscriber.connack_code == 0
    assert subscriber.subscribe(("sensors/+/temp", 1), ("alerts/#", 0)) == [1, 0]
    publisher = connect("pub", v5=not v5)  # across protocol levels
    publisher.publish("sensors/a/temp", b"21", qos=1)
    publisher.publish("sensors/a/humidity", b"40", qos=1)  # matches nothing
    publisher.publish("alerts/fire/kitchen", b"!", qos=1)
    publisher.publish("sensors/b/temp", b"22", qos=0)
    received = [subscriber.get() for _ in range(3)]
    assert [(m.topic, m.payload, m.qos) for m in received] == [
        ("sensors/a/temp", b"21", 1), ("alerts/fire/kitchen", b"!", 0), ("sensors/b/temp", b"22", 0)]


@LEVELS
def test_unsubscribe_stops_delivery(connect: Connect, v5: bool) -> None:
    subscriber = connect("sub", v5=v5)
    subscriber.subscribe(("a/#", 1), ("b/#", 1))
    unsubscribed = threading.Event()
    subscriber.paho.on_unsubscribe = lambda *_args: unsubscribed.set()
    subscriber.paho.unsubscribe("a/#")
    assert unsubscribed.wait(5)
    publisher = connect("pub")
    publisher.publish("a/1", b"")
    publisher.publish("b/1", b"")
    assert subscriber.get().topic == "b/1"


def test_dollar_topics_do_not_reach_hash_subscribers(connect: Connect) -> None:
    everything = connect("everything")
    everything.subscribe(("#", 1))
    aws = connect("aws", username="admin")
    aws.subscribe(("$aws/other/#", 1))
    publisher = connect("pub")
    publisher.publish("$aws/other/x", b"1")  # not answered by ReservedTopics: routed, but not to "#"
    publisher.publish("plain/x", b"2")
    assert aws.get().topic == "$aws/other/x"
    assert everything.get().topic == "plain/x"


@LEVELS
def test_reserved_topics_answer_the_publisher_only(connect: Connect, v5: bool) -> None:
    admin = connect("admin", username="admin")
    admin.subscribe(("$aws/#", 1), ("#", 1))
    device = connect("dev-1", v5=v5)
    device.publish("$aws/things/dev-1/jobs/get", b'{"clientToken":"t"}')
    reply = device.get()
    assert (reply.topic, reply.payload, reply.qos) == ("$aws/things/dev-1/jobs/get/accepted", b'{"clientToken":"t"}', 1)
    device.publish("$aws/things/dev-1/sentinel-not-reserved/x".replace("things", "other"), b"")
    assert admin.get().topic == "$aws/other/dev-1/sentinel-not-reserved/x"  # the reserved one was not routed


@LEVELS
def test_a_refused_subscription_gets_a_failure_code(connect: Connect, v5: bool) -> None:
    device = connect("dev-1", v5=v5)
    codes = device.subscribe(("$aws/things/dev-1/jobs/notify", 1), ("$aws/things/dev-2/jobs/notify", 1),
                             ("forbidden/x", 0))
    assert codes == ([1, 0x87, 0x87] if v5 else [1, 0x80, 0x80])


@LEVELS
def test_an_invalid_filter_gets_a_failure_code(running: RunningBroker, v5: bool) -> None:
    level = p.MQTT_5 if v5 else p.MQTT_311
    sock, _connack, reader = raw_connect(running.port, p.Connect("dev-1", level))
    subscribe = p.Subscribe(1, (p.Subscription("bad/#/filter"), p.Subscription("$share/g"), p.Subscription("ok")))
    sock.sendall(encode(subscribe, level))
    packets: list[p.Packet] = []
    while not packets:
        packets = reader.feed(sock.recv(65536))
    assert packets == [p.Suback(1, (0x8F, 0x8F, 0) if v5 else (0x80, 0x80, 0))]
    sock.close()


def test_a_refused_publish_disconnects_a_311_client(connect: Connect) -> None:
    device = connect("dev-1")
    device.paho.publish("$aws/things/dev-1/forbidden", b"", 1)
    assert device.disconnected.wait(5)


def test_a_refused_publish_gets_puback_0x87_from_mqtt5(connect: Connect) -> None:
    device = connect("dev-1", v5=True)
    codes: list[int] = []
    device.paho.on_publish = lambda _c, _u, _mid, code, _p: codes.append(code.value)
    device.publish("$aws/things/dev-1/forbidden", b"")
    assert codes == [0x87]
    device.publish("$aws/things/dev-1/ok", b"")  # still connected
    assert device.get().topic == "$aws/things/dev-1/ok/accepted"
    assert not device.disconnected.is_set()


def test_authentication_refusal_311_return_code_5(running: RunningBroker) -> None:
    sock, connack, reader = raw_connect(running.port, p.Connect("dev-1", username="refused", password=b"x"))
    assert connack.reason_code == 5
    assert read_until_closed(sock, reader) == []


def test_authentication_refusal_mqtt5_not_authorized(connect: Connect) -> None:
    client = connect("dev-1", v5=True, username="refused")
    assert client.connack_code == 0x87


def test_keep_alive_timeout_closes_a_silent_client_and_publishes_its_will(
        running: RunningBroker, connect: Connect) -> None:
    watcher = connect("watcher")
    watcher.subscribe(("wills/#", 1))
    will = p.Will("wills/silent", b"gone", 1)
    started = time.monotonic()
    sock, connack, reader = raw_connect(running.port, p.Connect("silent", keep_alive=1, will=will))
    assert connack.reason_code == 0
    assert read_until_closed(sock, reader) == []
    assert 1.3 < time.monotonic() - started < 4
    assert watcher.get().payload == b"gone"


def test_keep_alive_timeout_tells_an_mqtt5_client(running: RunningBroker) -> None:
    sock, _connack, reader = raw_connect(running.port, p.Connect("silent", p.MQTT_5, keep_alive=1))
    assert read_until_closed(sock, reader) == [p.Disconnect(0x8D)]


@LEVELS
def test_persistent_session_gets_what_was_sent_while_offline(
        running: RunningBroker, connect: Connect, v5: bool) -> None:
    first = connect("keeper", v5=v5, clean=False, expiry=300)
    assert not first.session_present
    first.subscribe(("jobs/#", 1))
    first.close()
    running.wait_offline("keeper")
    publisher = connect("pub")
    publisher.publish("jobs/1", b"a")
    publisher.publish("jobs/zero", b"-", qos=0)  # QoS 0 is not kept for an offline session
    publisher.publish("jobs/2", b"b")
    again = connect("keeper", v5=v5, clean=False, expiry=300)
    assert again.session_present
    received = [again.get(), again.get()]
    assert [(m.topic, m.payload, m.qos) for m in received] == [("jobs/1", b"a", 1), ("jobs/2", b"b", 1)]
    publisher.publish("jobs/3", b"c")  # the subscription was kept
    assert again.get().topic == "jobs/3"


@LEVELS
def test_a_clean_session_forgets(running: RunningBroker, connect: Connect, v5: bool) -> None:
    first = connect("keeper", v5=v5, clean=False, expiry=300)
    first.subscribe(("jobs/#", 1))
    first.close()
    running.wait_offline("keeper")
    connect("pub").publish("jobs/1", b"a")
    clean = connect("keeper", v5=v5, clean=True)
    assert not clean.session_present
    clean.subscribe(("other", 1))
    connect("pub2").publish("other", b"")
    assert clean.get().topic == "other"


def test_the_offline_queue_is_bounded() -> None:
    running = RunningBroker(session_queue_limit=2)
    try:
        first = Client(running.port, "keeper", clean=False)
        first.subscribe(("q/#", 1))
        first.close()
        running.wait_offline("keeper")
        publisher = Client(running.port, "pub")
        for index in range(4):
            publisher.publish(f"q/{index}", b"")
        again = Client(running.port, "keeper", clean=False)
        assert again.topics(2) == ["q/0", "q/1"]
        publisher.publish("q/after", b"")
        assert again.get().topic == "q/after"
        for client in (publisher, again):
            client.close()
    finally:
        running.close()


def test_will_is_published_on_abrupt_close_not_on_disconnect(running: RunningBroker, connect: Connect) -> None:
    watcher = connect("watcher")
    watcher.subscribe(("wills/#", 1))
    polite = connect("polite", will=("wills/polite", b"x", 1))
    polite.close()
    running.wait_offline("polite")
    sock, _connack, _reader = raw_connect(running.port, p.Connect("abrupt", will=p.Will("wills/abrupt", b"lost", 1)))
    sock.close()
    message = watcher.get()
    assert (message.topic, message.payload) == ("wills/abrupt", b"lost")


@LEVELS
def test_client_id_takeover_closes_the_first_connection(connect: Connect, v5: bool) -> None:
    first = connect("same", v5=v5)
    first.subscribe(("t", 1))
    second = connect("same", v5=v5)
    assert first.disconnected.wait(5)
    if v5:
        assert first.disconnect_code == 0x8E
    second.subscribe(("t", 1))
    connect("pub").publish("t", b"x")
    assert second.get().payload == b"x"
    assert first.messages.empty()


@LEVELS
def test_shared_subscription_round_robin(connect: Connect, v5: bool) -> None:
    members = [connect(f"member-{index}", v5=v5) for index in range(2)]
    for member in members:
        assert member.subscribe(("$share/workers/work/#", 1)) == [1]
    everyone = connect("everyone")
    everyone.subscribe(("work/#", 1))
    publisher = connect("pub")
    for index in range(4):
        publisher.publish(f"work/{index}", b"")
    assert everyone.topics(4) == [f"work/{index}" for index in range(4)]
    got = [sorted(member.topics(2)) for member in members]
    assert sorted(got) == [["work/0", "work/2"], ["work/1", "work/3"]]
    assert all(member.messages.empty() for member in members)


@LEVELS
def test_qos_2_subscription_is_granted_qos_1(connect: Connect, v5: bool) -> None:
    assert connect("sub", v5=v5).subscribe(("x", 2)) == [1]


def test_qos_2_publish_closes_a_311_connection(connect: Connect) -> None:
    client = connect("pub")
    client.paho.publish("x", b"", 2)
    assert client.disconnected.wait(5)


def test_qos_2_publish_gets_disconnect_0x9b_from_mqtt5(connect: Connect) -> None:
    client = connect("pub", v5=True)
    client.paho.publish("x", b"", 2)
    assert client.disconnected.wait(5)
    assert client.disconnect_code == 0x9B


@pytest.mark.parametrize("garbage", [b"\x00\x00", b"\x30\xff\xff\xff\xff\x7f", b"\x82\x03\x00\x01\x00"])
def test_a_malformed_packet_closes_only_that_connection(
        running: RunningBroker, connect: Connect, garbage: bytes) -> None:
    subscriber = connect("sub")
    subscriber.subscribe(("t", 1))
    sock, _connack, reader = raw_connect(running.port, p.Connect("bad"))
    sock.sendall(garbage)
    assert read_until_closed(sock, reader) == []
    connect("pub").publish("t", b"still here")
    assert subscriber.get().payload == b"still here"


def test_broker_publish_reaches_subscribers(running: RunningBroker, connect: Connect) -> None:
    subscriber = connect("dev-1", v5=True)
    subscriber.subscribe(("$aws/things/dev-1/jobs/notify-next", 1))
    running.call(running.broker.publish, "$aws/things/dev-1/jobs/notify-next", b"{}", 1)
    message = subscriber.get()
    assert (message.topic, message.payload, message.qos) == ("$aws/things/dev-1/jobs/notify-next", b"{}", 1)


def test_mqtt5_topic_alias_from_the_client(connect: Connect) -> None:
    subscriber = connect("sub")
    subscriber.subscribe(("long/topic/name", 1))
    publisher = connect("pub", v5=True)
    alias = PahoProperties(PacketTypes.PUBLISH)
    alias.TopicAlias = 1
    publisher.publish("long/topic/name", b"1", properties=alias)
    publisher.publish("", b"2", properties=alias)
    assert [(m.topic, m.payload) for m in (subscriber.get(), subscriber.get())] == [
        ("long/topic/name", b"1"), ("long/topic/name", b"2")]


def test_retained_messages(connect: Connect) -> None:
    publisher = connect("pub")
    publisher.publish("status/a", b"up", retain=True)
    publisher.publish("status/b", b"up", retain=True)
    publisher.publish("status/b", b"", retain=True)  # clears it
    late = connect("late", v5=True)
    late.subscribe(("status/#", 1))
    message = late.get()
    assert (message.topic, message.payload, message.retain) == ("status/a", b"up", True)
    publisher.publish("status/c", b"live")
    assert late.get().topic == "status/c"


@pytest.mark.parametrize("qos", [0, 1])
def test_a_client_that_does_not_read_does_not_hold_up_others(
        running: RunningBroker, connect: Connect, qos: int) -> None:
    stalled, _connack, _reader = raw_connect(running.port, p.Connect("stalled"))
    stalled.sendall(encode(p.Subscribe(1, (p.Subscription("flood/#", qos),)), p.MQTT_311))
    reader_side = connect("reader")
    reader_side.subscribe(("flood/last", 1))
    time.sleep(0.1)  # the SUBSCRIBE of the stalled client is in
    publisher = connect("pub")
    chunk = bytes(100_000)
    for index in range(250):  # 25 MB that the stalled client never reads
        publisher.publish(f"flood/{index}", chunk, qos=qos)
    publisher.publish("flood/last", b"done")
    assert reader_side.get().payload == b"done"
    buffered = running.call(lambda: [c._writer.transport.get_write_buffer_size() for c in running.broker._connections])
    assert max(buffered) < 6_000_000  # QoS 0 past 1 MiB is dropped, QoS 1 waits in the session (32 in flight)
    stalled.close()
