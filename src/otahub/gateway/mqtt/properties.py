"""MQTT 5 properties (MQTT 5.0 section 2.2.2): one frozen ``Properties`` record for every packet.

A property is either absent (``None``, or ``()`` for the two that may repeat: User Property and, in
PUBLISH, Subscription Identifier) or has its value. Which properties a packet may carry, and which
values are legal, follow the table of section 2.2.2.2 and each packet's property list:

- an identifier that is unknown or not allowed in the packet makes it malformed [2.2.2.2];
- a repeated property that must not repeat, or a value outside its range (a Byte that must be 0 or 1,
  a zero Receive Maximum, Maximum Packet Size, Topic Alias or Subscription Identifier, a Maximum QoS
  above 1) is a protocol error.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from otahub.gateway.mqtt import _wire
from otahub.gateway.mqtt.errors import malformed, protocol_error

WILL = 0
"""The context of the Will Properties inside CONNECT (packet type numbers are 1..15)."""


@dataclass(frozen=True, repr=False)
class Properties:
    payload_format_indicator: int | None = None
    message_expiry_interval: int | None = None
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    subscription_identifiers: tuple[int, ...] = ()
    session_expiry_interval: int | None = None
    assigned_client_identifier: str | None = None
    server_keep_alive: int | None = None
    authentication_method: str | None = None
    authentication_data: bytes | None = None
    request_problem_information: int | None = None
    will_delay_interval: int | None = None
    request_response_information: int | None = None
    response_information: str | None = None
    server_reference: str | None = None
    reason_string: str | None = None
    receive_maximum: int | None = None
    topic_alias_maximum: int | None = None
    topic_alias: int | None = None
    maximum_qos: int | None = None
    retain_available: int | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    maximum_packet_size: int | None = None
    wildcard_subscription_available: int | None = None
    subscription_identifier_available: int | None = None
    shared_subscription_available: int | None = None

    def is_empty(self) -> bool:
        return self == NO_PROPERTIES

    def __repr__(self) -> str:
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        present = (f"{name}={value!r}" for name, value in values if value is not None and value != ())
        return f"Properties({', '.join(present)})"


NO_PROPERTIES = Properties()


class Kind(Enum):
    BYTE = "byte"
    U16 = "two byte integer"
    U32 = "four byte integer"
    VARINT = "variable byte integer"
    STRING = "UTF-8 string"
    BINARY = "binary data"
    PAIR = "UTF-8 string pair"


@dataclass(frozen=True)
class Spec:
    identifier: int
    name: str
    kind: Kind
    contexts: frozenset[int]
    low: int = 0
    high: int | None = None


_CONNECT, _CONNACK, _PUBLISH, _PUBACK, _PUBREC, _PUBREL, _PUBCOMP = 1, 2, 3, 4, 5, 6, 7
_SUBSCRIBE, _SUBACK, _UNSUBSCRIBE, _UNSUBACK, _DISCONNECT, _AUTH = 8, 9, 10, 11, 14, 15
_MESSAGE = frozenset({_PUBLISH, WILL})
_REASON_STRING = frozenset({_CONNACK, _PUBACK, _PUBREC, _PUBREL, _PUBCOMP, _SUBACK, _UNSUBACK, _DISCONNECT, _AUTH})
_ALL = frozenset({WILL, *range(1, 12), _DISCONNECT, _AUTH})


def _spec(identifier: int, name: str, kind: Kind, contexts: set[int] | frozenset[int], low: int = 0,
          high: int | None = None) -> Spec:
    return Spec(identifier, name, kind, frozenset(contexts), low, high)


SPECS: dict[int, Spec] = {spec.identifier: spec for spec in (
    _spec(0x01, "payload_format_indicator", Kind.BYTE, _MESSAGE, 0, 1),
    _spec(0x02, "message_expiry_interval", Kind.U32, _MESSAGE),
    _spec(0x03, "content_type", Kind.STRING, _MESSAGE),
    _spec(0x08, "response_topic", Kind.STRING, _MESSAGE),
    _spec(0x09, "correlation_data", Kind.BINARY, _MESSAGE),
    _spec(0x0B, "subscription_identifiers", Kind.VARINT, {_PUBLISH, _SUBSCRIBE}, 1),
    _spec(0x11, "session_expiry_interval", Kind.U32, {_CONNECT, _CONNACK, _DISCONNECT}),
    _spec(0x12, "assigned_client_identifier", Kind.STRING, {_CONNACK}),
    _spec(0x13, "server_keep_alive", Kind.U16, {_CONNACK}),
    _spec(0x15, "authentication_method", Kind.STRING, {_CONNECT, _CONNACK, _AUTH}),
    _spec(0x16, "authentication_data", Kind.BINARY, {_CONNECT, _CONNACK, _AUTH}),
    _spec(0x17, "request_problem_information", Kind.BYTE, {_CONNECT}, 0, 1),
    _spec(0x18, "will_delay_interval", Kind.U32, {WILL}),
    _spec(0x19, "request_response_information", Kind.BYTE, {_CONNECT}, 0, 1),
    _spec(0x1A, "response_information", Kind.STRING, {_CONNACK}),
    _spec(0x1C, "server_reference", Kind.STRING, {_CONNACK, _DISCONNECT}),
    _spec(0x1F, "reason_string", Kind.STRING, _REASON_STRING),
    _spec(0x21, "receive_maximum", Kind.U16, {_CONNECT, _CONNACK}, 1),
    _spec(0x22, "topic_alias_maximum", Kind.U16, {_CONNECT, _CONNACK}),
    _spec(0x23, "topic_alias", Kind.U16, {_PUBLISH}, 1),
    _spec(0x24, "maximum_qos", Kind.BYTE, {_CONNACK}, 0, 1),
    _spec(0x25, "retain_available", Kind.BYTE, {_CONNACK}, 0, 1),
    _spec(0x26, "user_properties", Kind.PAIR, _ALL),
    _spec(0x27, "maximum_packet_size", Kind.U32, {_CONNECT, _CONNACK}, 1),
    _spec(0x28, "wildcard_subscription_available", Kind.BYTE, {_CONNACK}, 0, 1),
    _spec(0x29, "subscription_identifier_available", Kind.BYTE, {_CONNACK}, 0, 1),
    _spec(0x2A, "shared_subscription_available", Kind.BYTE, {_CONNACK}, 0, 1),
)}
_BY_NAME = {spec.name: spec for spec in SPECS.values()}
_REPEATABLE = {"user_properties", "subscription_identifiers"}
_NUMERIC = {Kind.BYTE, Kind.U16, Kind.U32, Kind.VARINT}
assert set(_BY_NAME) == {f.name for f in fields(Properties)}


def _repeats(spec: Spec, context: int) -> bool:
    """User Property always may repeat; Subscription Identifier only in PUBLISH [3.8.2.1.2]."""
    return spec.name == "user_properties" or (spec.name == "subscription_identifiers" and context == _PUBLISH)


def _read_value(reader: _wire.Reader, kind: Kind) -> Any:
    if kind is Kind.BYTE:
        return reader.u8()
    if kind is Kind.U16:
        return reader.u16()
    if kind is Kind.U32:
        return reader.u32()
    if kind is Kind.VARINT:
        return reader.varint()
    if kind is Kind.STRING:
        return reader.string()
    if kind is Kind.BINARY:
        return reader.binary()
    return (reader.string(), reader.string())


def read_properties(reader: _wire.Reader, context: int) -> Properties:
    """The Property Length and the properties after it; ``context`` is a packet type or ``WILL``."""
    block = _wire.Reader(reader.take(reader.varint()))
    values: dict[str, Any] = {}
    while not block.at_end():
        identifier = block.varint()
        spec = SPECS.get(identifier)
        if spec is None or context not in spec.contexts:
            raise malformed(f"property 0x{identifier:02X} is not allowed here")
        value = _read_value(block, spec.kind)
        if spec.kind in _NUMERIC and (value < spec.low or (spec.high is not None and value > spec.high)):
            raise protocol_error(f"property {spec.name} has the invalid value {value}")
        if spec.name in _REPEATABLE:
            if values.get(spec.name) and not _repeats(spec, context):
                raise protocol_error(f"property {spec.name} appears more than once")
            values[spec.name] = (*values.get(spec.name, ()), value)
        elif spec.name in values:
            raise protocol_error(f"property {spec.name} appears more than once")
        else:
            values[spec.name] = value
    return Properties(**values)


def _write_value(kind: Kind, value: Any) -> bytes:
    if kind is Kind.BYTE:
        return _wire.u8(value)
    if kind is Kind.U16:
        return _wire.u16(value)
    if kind is Kind.U32:
        return _wire.u32(value)
    if kind is Kind.VARINT:
        return _wire.varint(value)
    if kind is Kind.STRING:
        return _wire.string(value)
    if kind is Kind.BINARY:
        return _wire.binary(value)
    key, text = value
    return _wire.string(key) + _wire.string(text)


def write_properties(properties: Properties, context: int) -> bytes:
    """Property Length and properties in identifier order; ValueError for one the packet may not carry."""
    out = bytearray()
    for spec in SPECS.values():
        value = getattr(properties, spec.name)
        if value is None or value == ():
            continue
        if context not in spec.contexts:
            raise ValueError(f"property {spec.name} is not allowed in this packet")
        items = value if spec.name in _REPEATABLE else (value,)
        if len(items) > 1 and not _repeats(spec, context):
            raise ValueError(f"property {spec.name} may appear only once in this packet")
        for item in items:
            out += _wire.varint(spec.identifier) + _write_value(spec.kind, item)
    return _wire.varint(len(out)) + bytes(out)
