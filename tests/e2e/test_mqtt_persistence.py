"""Persistent MQTT sessions survive a restart of `otahub serve` (SIGTERM, or SIGKILL as in a crash): a device
that comes back with clean_session=0 (or an MQTT 5 session expiry) finds its subscriptions and every QoS 1
message the broker acknowledged for it, in order, once; what was in flight goes out again; a session that
expired while otahub was down is gone; clean sessions leave nothing in the store."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.codec import PacketReader, encode
from tests.harness import OtahubServer
from tests.unit.gateway.mqtt.broker_harness import Client, raw_connect

MESSAGES = 25
SHORT_EXPIRY = 2  # seconds


def server(data: Path) -> OtahubServer:
    return OtahubServer(data, extra_args=["--mqtt-plain-port", "0"]).start()


def stored(data: Path) -> tuple[set[str], dict[str, int]]:
    """The client ids in the store, and how many messages each has there."""
    with sqlite3.connect(data / "otahub.db") as db:
        sessions = {row[0] for row in db.execute("SELECT client_id FROM mqtt_sessions")}
        messages = dict(db.execute("SELECT client_id, count(*) FROM mqtt_messages GROUP BY client_id").fetchall())
    return sessions, messages


def unacknowledged(port: int, client_id: str, topic_filter: str) -> tuple[socket.socket, PacketReader]:
    """A 3.1.1 device with a persistent session that takes its messages and never acknowledges them."""
    sock, connack, reader = raw_connect(port, p.Connect(client_id, clean_start=False))
    assert connack.reason_code == 0
    sock.sendall(encode(p.Subscribe(1, (p.Subscription(topic_filter, 1),)), p.MQTT_311))
    packets: list[p.Packet] = []
    while not any(isinstance(packet, p.Suback) for packet in packets):
        packets += reader.feed(sock.recv(65536))
    return sock, reader


def take(sock: socket.socket, reader: PacketReader, count: int) -> list[p.Publish]:
    publishes: list[p.Publish] = []
    while len(publishes) < count:
        publishes += [packet for packet in reader.feed(sock.recv(65536)) if isinstance(packet, p.Publish)]
    return publishes


def receive_all(client: Client, count: int) -> list[tuple[str, bytes]]:
    """``count`` messages, then nothing more for a moment (each message exactly once)."""
    received = [(m.topic, m.payload) for m in (client.get() for _ in range(count))]
    time.sleep(0.3)
    extra = [(m.topic, m.payload, m.dup) for m in list(client.messages.queue)]
    assert not extra, f"more messages than were published: {received} then {extra}"
    return received


@pytest.mark.parametrize("end", ["sigterm", "sigkill"])
def test_persistent_sessions_survive_a_restart(tmp_path: Path, end: str) -> None:
    data = tmp_path / "data"
    first = server(data)
    try:
        port = first.mqtt_port
        for client_id, options in (("keeper-311", {}), ("keeper-5", {"v5": True, "expiry": 3600}),
                                   ("short-5", {"v5": True, "expiry": SHORT_EXPIRY})):
            device = Client(port, client_id, clean=False, **options)
            assert not device.session_present
            assert device.subscribe(("fleet/alerts/#", 1)) == [1]
            device.close()
        went_away = time.monotonic()
        clean = Client(port, "clean-311")  # connected throughout, acknowledging
        clean.subscribe(("fleet/alerts/#", 1))
        clean_5 = Client(port, "clean-5", v5=True, expiry=0)
        clean_5.subscribe(("fleet/alerts/#", 1))
        in_flight, reader = unacknowledged(port, "in-flight", "fleet/alerts/#")
        publisher = Client(port, "publisher")
        sent = [(f"fleet/alerts/{index}", f"alert {index}".encode()) for index in range(MESSAGES)]
        for topic, payload in sent:
            publisher.publish(topic, payload, qos=1)  # returns once PUBACKed
        assert [(m.topic, m.payload) for m in take(in_flight, reader, MESSAGES)] == sent  # never acknowledged
        assert receive_all(clean, MESSAGES) == sent
        assert receive_all(clean_5, MESSAGES) == sent
        if end == "sigkill":
            first.kill()
        else:
            for client in (clean, clean_5, publisher):
                client.close()
            first.stop()
    finally:
        first.stop()
    in_flight.close()
    time.sleep(max(0.0, went_away + SHORT_EXPIRY + 0.5 - time.monotonic()))  # short-5 expires while otahub is down

    second = server(data)
    try:
        sessions, messages = stored(data)
        assert sessions == {"keeper-311", "keeper-5", "in-flight"}  # short-5 dropped at start, no clean session
        assert messages == {"keeper-311": MESSAGES, "keeper-5": MESSAGES, "in-flight": MESSAGES}
        port = second.mqtt_port
        devices = [Client(port, client_id, clean=False, **options) for client_id, options in (
            ("keeper-311", {}), ("keeper-5", {"v5": True, "expiry": 3600}), ("in-flight", {}))]
        for device in devices:
            assert device.session_present
            assert receive_all(device, MESSAGES) == sent
        later = Client(port, "later")
        later.publish("fleet/alerts/later", b"after", qos=1)  # the subscriptions are back
        for device in devices:
            assert receive_all(device, 1) == [("fleet/alerts/later", b"after")]
        for client in (*devices, later):
            client.close()
        short = Client(port, "short-5", v5=True, clean=False, expiry=SHORT_EXPIRY)
        assert not short.session_present
        time.sleep(0.3)
        assert short.messages.empty()
        short.close()
        deadline = time.monotonic() + 5  # acknowledged now: the messages leave the store
        while stored(data)[1]:
            assert time.monotonic() < deadline, stored(data)
            time.sleep(0.05)
    finally:
        second.stop()
