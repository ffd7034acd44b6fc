"""decode(encode(p)) == p for every packet type at both levels, fed in random pieces (codec.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.codec import PacketReader, decode, encode
from otahub.gateway.mqtt.properties import Properties
from tests.unit.gateway.mqtt.strategies import by_type, chunked, packets

LEVELS = [p.MQTT_311, p.MQTT_5]


def _feed_all(reader: PacketReader, chunks: list[bytes]) -> list[p.Packet]:
    out: list[p.Packet] = []
    for chunk in chunks:
        out += reader.feed(chunk)
    return out


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_stream_of_packets_round_trips_in_any_chunking(level: int, data: st.DataObject) -> None:
    sent = data.draw(st.lists(packets(level), min_size=1, max_size=4))
    stream = b"".join(encode(packet, level) for packet in sent)
    reader = PacketReader(level)
    assert _feed_all(reader, data.draw(chunked(stream))) == sent
    assert reader.buffered == 0


CASES = [(level, kind) for level in LEVELS for kind in by_type(level)]


@pytest.mark.parametrize(("level", "kind"), CASES, ids=[f"v{level}-{kind.name}" for level, kind in CASES])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_each_packet_type_decodes_to_itself(level: int, kind: p.PacketType, data: st.DataObject) -> None:
    packet = data.draw(by_type(level)[kind])
    assert packet.packet_type == kind
    assert decode(encode(packet, level), level) == packet


def test_a_connect_switches_the_reader_to_its_level_for_what_follows() -> None:
    connect = p.Connect("dev-1", p.MQTT_5, properties=Properties(session_expiry_interval=30))
    publish = p.Publish("t", b"x", 1, packet_id=9, properties=Properties(topic_alias=2))
    reader = PacketReader(p.MQTT_311)
    assert reader.feed(encode(connect, 5) + encode(publish, 5)) == [connect, publish]
    assert reader.protocol_level == p.MQTT_5


def test_remaining_length_boundaries_use_one_to_four_bytes() -> None:
    for size, header in [(127, 2), (128, 3), (16_383, 3), (16_384, 4), (2_097_152, 5)]:
        body_topic = 3  # two length bytes and "t"
        packet = p.Publish("t", b"\xab" * (size - body_topic))
        wire = encode(packet, p.MQTT_311)
        assert len(wire) == size + header
        assert decode(wire, p.MQTT_311) == packet


def test_short_forms_of_v5_acknowledgements() -> None:
    assert encode(p.Puback(5), p.MQTT_5) == b"\x40\x02\x00\x05"
    assert encode(p.Puback(5, 0x10), p.MQTT_5) == b"\x40\x03\x00\x05\x10"
    assert decode(b"\x40\x03\x00\x05\x10", p.MQTT_5) == p.Puback(5, 0x10)
    assert encode(p.Disconnect(), p.MQTT_5) == b"\xe0\x00"
    assert decode(b"\xe0\x01\x8e", p.MQTT_5) == p.Disconnect(0x8E)
    assert decode(b"\xf0\x00", p.MQTT_5) == p.Auth()
    assert encode(p.Pubrel(1), p.MQTT_311) == b"\x62\x02\x00\x01"


@pytest.mark.parametrize(
    "packet",
    [
        p.Publish("t", properties=Properties(topic_alias=1)),
        p.Puback(1, 0x80),
        p.Subscribe(1, (p.Subscription("a", no_local=True),)),
        p.Unsuback(1, (0,)),
        p.Disconnect(0x8E),
        p.Auth(),
        p.Connack(0x86),
        p.Suback(1, (0x8F,)),
        p.Connect("c", p.MQTT_5),
        p.Connect("c", password=b"pw"),
    ],
)
def test_packets_a_311_peer_cannot_receive_are_refused(packet: p.Packet) -> None:
    with pytest.raises(ValueError):
        encode(packet, p.MQTT_311)


@pytest.mark.parametrize(
    "packet",
    [
        p.Publish("t", qos=1),
        p.Publish("t", packet_id=1),
        p.Publish("t", dup=True),
        p.Publish("t\x00"),
        p.Publish("x" * 70_000),
        p.Puback(0),
        p.Subscribe(1, ()),
        p.Connack(properties=Properties(topic_alias=1)),
        p.Subscribe(1, (p.Subscription("a"),), Properties(subscription_identifiers=(1, 2))),
    ],
)
def test_invalid_packets_are_refused_by_the_encoder(packet: p.Packet) -> None:
    with pytest.raises(ValueError):
        encode(packet, p.MQTT_5)
