"""The decoder on malformed and arbitrary input: ProtocolError with the right reason, never anything else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt._wire import varint
from otahub.gateway.mqtt.codec import PacketReader, decode, encode
from otahub.gateway.mqtt.errors import ProtocolError, ReasonCode
from tests.unit.gateway.mqtt.strategies import chunked, packets

MALFORMED, PROTOCOL = ReasonCode.MALFORMED_PACKET, ReasonCode.PROTOCOL_ERROR
V311_CONNECT = b"\x00\x04MQTT\x04\x02\x00\x3c"
V5_CONNECT = b"\x00\x04MQTT\x05\x02\x00\x3c"


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


CASES = [
    ("packet type 0", 4, b"\x00\x00", MALFORMED),
    ("AUTH at 3.1.1", 4, b"\xf0\x00", MALFORMED),
    ("reserved flags on PUBACK", 4, b"\x41\x02\x00\x01", MALFORMED),
    ("SUBSCRIBE flags 0000", 4, _packet(0x80, b"\x00\x01\x00\x01a\x00"), MALFORMED),
    ("PUBREL flags 0000", 5, b"\x60\x02\x00\x01", MALFORMED),
    ("PUBLISH QoS 3", 4, _packet(0x36, b"\x00\x01t\x00\x01"), MALFORMED),
    ("PUBLISH QoS 0 with DUP", 4, _packet(0x38, b"\x00\x01t"), MALFORMED),
    ("remaining length of five bytes", 4, b"\x30\xff\xff\xff\xff\x01", MALFORMED),
    ("remaining length not minimal", 4, b"\xc0\x80\x00", MALFORMED),
    ("PINGREQ with a body", 4, b"\xc0\x01\x00", MALFORMED),
    ("PUBACK cut short", 4, b"\x40\x01\x00", MALFORMED),
    ("packet identifier 0", 4, b"\x40\x02\x00\x00", PROTOCOL),
    ("invalid UTF-8 topic", 4, _packet(0x30, b"\x00\x02\xc3\x28"), MALFORMED),
    ("UTF-16 surrogate in a topic", 4, _packet(0x30, b"\x00\x03\xed\xa0\x80"), MALFORMED),
    ("U+0000 in a topic", 4, _packet(0x30, b"\x00\x03a\x00b"), MALFORMED),
    ("string longer than the packet", 4, _packet(0x30, b"\x00\x09ab"), MALFORMED),
    ("unknown protocol name", 4, _packet(0x10, b"\x00\x06MQIsdp\x03\x02\x00\x3c\x00\x00"),
     ReasonCode.UNSUPPORTED_PROTOCOL_VERSION),
    ("unknown protocol level", 4, _packet(0x10, b"\x00\x04MQTT\x06\x02\x00\x3c\x00\x00"),
     ReasonCode.UNSUPPORTED_PROTOCOL_VERSION),
    ("reserved CONNECT flag", 4, _packet(0x10, b"\x00\x04MQTT\x04\x03\x00\x3c\x00\x00"), MALFORMED),
    ("Will QoS without Will flag", 4, _packet(0x10, b"\x00\x04MQTT\x04\x0a\x00\x3c\x00\x00"), MALFORMED),
    ("3.1.1 password without user name", 4, _packet(0x10, b"\x00\x04MQTT\x04\x42\x00\x3c\x00\x00\x00\x00"),
     MALFORMED),
    ("CONNECT trailing bytes", 4, _packet(0x10, V311_CONNECT + b"\x00\x00\xff"), MALFORMED),
    ("reserved CONNACK flags", 4, b"\x20\x02\x02\x00", MALFORMED),
    ("SUBSCRIBE without filters", 4, _packet(0x82, b"\x00\x01"), PROTOCOL),
    ("3.1.1 subscription option bits", 4, _packet(0x82, b"\x00\x01\x00\x01a\x04"), MALFORMED),
    ("v5 reserved subscription option bits", 5, _packet(0x82, b"\x00\x01\x00\x00\x01a\x40"), MALFORMED),
    ("v5 retain handling 3", 5, _packet(0x82, b"\x00\x01\x00\x00\x01a\x30"), PROTOCOL),
    ("subscription QoS 3", 5, _packet(0x82, b"\x00\x01\x00\x00\x01a\x03"), MALFORMED),
    ("SUBACK without codes", 4, _packet(0x90, b"\x00\x01"), PROTOCOL),
    ("UNSUBSCRIBE without filters", 5, _packet(0xA2, b"\x00\x01\x00"), PROTOCOL),
    ("unknown property", 5, _packet(0x30, b"\x00\x01t\x02\x07\x00"), MALFORMED),
    ("property not allowed in the packet", 5, _packet(0x30, b"\x00\x01t\x03\x21\x00\x01"), MALFORMED),
    ("duplicate topic alias", 5, _packet(0x30, b"\x00\x01t\x06\x23\x00\x01\x23\x00\x02"), PROTOCOL),
    ("duplicate content type", 5, _packet(0x30, b"\x00\x01t\x08\x03\x00\x01a\x03\x00\x01b"), PROTOCOL),
    ("property cut inside its value", 5, _packet(0x30, b"\x00\x01t\x06\x03\x00\x01a\x03\x00"), MALFORMED),
    ("two subscription identifiers in SUBSCRIBE", 5, _packet(0x82, b"\x00\x01\x04\x0b\x01\x0b\x02\x00\x01a\x00"),
     PROTOCOL),
    ("subscription identifier 0", 5, _packet(0x82, b"\x00\x01\x02\x0b\x00\x00\x01a\x00"), PROTOCOL),
    ("topic alias 0", 5, _packet(0x30, b"\x00\x01t\x03\x23\x00\x00"), PROTOCOL),
    ("payload format indicator 2", 5, _packet(0x30, b"\x00\x01t\x02\x01\x02"), PROTOCOL),
    ("receive maximum 0", 5, _packet(0x10, V5_CONNECT + b"\x03\x21\x00\x00\x00\x00"), PROTOCOL),
    ("property length past the packet", 5, _packet(0x30, b"\x00\x01t\x09\x23\x00\x01"), MALFORMED),
    ("duplicate session expiry", 5,
     _packet(0x10, V5_CONNECT + b"\x0a\x11\x00\x00\x00\x01\x11\x00\x00\x00\x02\x00\x00"), PROTOCOL),
    ("will property in CONNECT properties", 5, _packet(0x10, V5_CONNECT + b"\x05\x18\x00\x00\x00\x01\x00\x00"),
     MALFORMED),
]


@pytest.mark.parametrize(("level", "data", "reason"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_malformed_input_raises_protocol_error(level: int, data: bytes, reason: ReasonCode) -> None:
    with pytest.raises(ProtocolError) as caught:
        PacketReader(level).feed(data)
    assert caught.value.reason_code == reason


def test_packet_too_large_is_refused_before_its_body_arrives() -> None:
    reader = PacketReader(p.MQTT_5, max_packet_size=100)
    assert reader.feed(encode(p.Publish("t", b"x" * 94), p.MQTT_5)) == [p.Publish("t", b"x" * 94)]
    with pytest.raises(ProtocolError) as caught:
        reader.feed(b"\x30\xe8\x07")  # the header of a 1,003-byte packet
    assert caught.value.reason_code == ReasonCode.PACKET_TOO_LARGE
    with pytest.raises(ProtocolError):
        reader.feed(b"")  # a failed reader stays failed


def test_the_largest_remaining_length_is_read_and_one_more_byte_is_not() -> None:
    with pytest.raises(ProtocolError) as caught:
        PacketReader(p.MQTT_311, max_packet_size=1000).feed(b"\x30\xff\xff\xff\x7f")
    assert caught.value.reason_code == ReasonCode.PACKET_TOO_LARGE
    assert PacketReader(p.MQTT_311).feed(b"\x30\xff\xff\xff\x7f") == []


def test_decode_wants_exactly_one_packet() -> None:
    with pytest.raises(ProtocolError):
        decode(b"\xc0", p.MQTT_311)
    with pytest.raises(ProtocolError):
        decode(b"\xc0\x00\xd0\x00", p.MQTT_311)


def test_a_3_1_1_reader_does_not_read_v5_fields() -> None:
    # At level 4 a PUBACK is exactly two bytes: a v5 reason code is trailing garbage.
    with pytest.raises(ProtocolError):
        decode(b"\x40\x03\x00\x01\x10", p.MQTT_311)


@pytest.mark.parametrize("level", [p.MQTT_311, p.MQTT_5])
@settings(max_examples=300, deadline=None)
@given(data=st.data(), junk=st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_protocol_error(level: int, data: st.DataObject, junk: bytes) -> None:
    reader = PacketReader(level, max_packet_size=data.draw(st.integers(2, 300)))
    try:
        for chunk in data.draw(chunked(junk)):
            reader.feed(chunk)
    except ProtocolError:
        pass


@pytest.mark.parametrize("level", [p.MQTT_311, p.MQTT_5])
@settings(max_examples=300, deadline=None)
@given(first=st.integers(0, 255), body=st.binary(max_size=120))
def test_arbitrary_bodies_behind_a_valid_header_raise_only_protocol_error(level: int, first: int, body: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(_packet(first, body), level)


@pytest.mark.parametrize("level", [p.MQTT_311, p.MQTT_5])
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_mutated_valid_packets_raise_only_protocol_error(level: int, data: st.DataObject) -> None:
    wire = bytearray(encode(data.draw(packets(level)), level))
    for _ in range(data.draw(st.integers(1, 4))):
        wire[data.draw(st.integers(0, len(wire) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ProtocolError):
        PacketReader(level).feed(bytes(wire))
