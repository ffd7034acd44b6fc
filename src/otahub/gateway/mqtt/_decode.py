"""Packet bodies to packets (MQTT 3.1.1 chapter 3, MQTT 5.0 chapter 3). Raises only ``ProtocolError``."""

from __future__ import annotations

from collections.abc import Callable

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt._wire import Reader
from otahub.gateway.mqtt.errors import ProtocolError, ReasonCode, malformed, protocol_error
from otahub.gateway.mqtt.properties import NO_PROPERTIES, WILL, Properties, read_properties

_FLAGS_0010 = {p.PacketType.PUBREL, p.PacketType.SUBSCRIBE, p.PacketType.UNSUBSCRIBE}


def check_first_byte(first: int, level: int) -> None:
    """The packet type and the fixed header flags [MQTT-2.1.3-1, 2.2.2 of 3.1.1]."""
    kind, flags = first >> 4, first & 0x0F
    if kind == 0 or (kind == p.PacketType.AUTH and level != p.MQTT_5):
        raise malformed(f"packet type {kind} is reserved")
    if kind == p.PacketType.PUBLISH:
        qos = (flags >> 1) & 0x03
        if qos == 3:
            raise malformed("PUBLISH with QoS 3")
        if qos == 0 and flags & 0x08:
            raise malformed("PUBLISH with QoS 0 has the DUP flag set")
        return
    expected = 0b0010 if kind in _FLAGS_0010 else 0
    if flags != expected:
        raise malformed(f"reserved flags {flags:04b} in packet type {kind}")


def decode_body(first: int, body: bytes, level: int) -> p.Packet:
    """The packet whose fixed header began with ``first`` (already checked) and whose body is ``body``."""
    reader = Reader(body)
    packet = _DECODERS[p.PacketType(first >> 4)](reader, first & 0x0F, level)
    reader.expect_end()
    return packet


def _props(reader: Reader, level: int, context: int) -> Properties:
    return read_properties(reader, context) if level == p.MQTT_5 else NO_PROPERTIES


def _packet_id(reader: Reader) -> int:
    packet_id = reader.u16()
    if packet_id == 0:
        raise protocol_error("packet identifier 0")
    return packet_id


def _connect(reader: Reader, _flags: int, _level: int) -> p.Connect:
    name = reader.string()
    level = reader.u8()
    if name != p.PROTOCOL_NAME or level not in p.PROTOCOL_LEVELS:
        raise ProtocolError(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, f"protocol {name!r} level {level}")
    flags = reader.u8()
    if flags & 0x01:
        raise malformed("the reserved CONNECT flag is set")
    will_flag, will_qos, will_retain = bool(flags & 0x04), (flags >> 3) & 0x03, bool(flags & 0x20)
    has_password, has_username = bool(flags & 0x40), bool(flags & 0x80)
    if will_qos == 3 or (not will_flag and (will_qos or will_retain)):
        raise malformed("invalid Will QoS or Will Retain")
    if level == p.MQTT_311 and has_password and not has_username:
        raise malformed("a password without a user name")
    keep_alive = reader.u16()
    properties = _props(reader, level, p.PacketType.CONNECT)
    client_id = reader.string()
    will = None
    if will_flag:
        will_properties = _props(reader, level, WILL)
        will = p.Will(reader.string(), reader.binary(), will_qos, will_retain, will_properties)
    username = reader.string() if has_username else None
    password = reader.binary() if has_password else None
    return p.Connect(client_id, level, bool(flags & 0x02), keep_alive, will, username, password, properties)


def _connack(reader: Reader, _flags: int, level: int) -> p.Connack:
    acknowledge = reader.u8()
    if acknowledge & 0xFE:
        raise malformed("reserved CONNACK flags are set")
    code = reader.u8()
    return p.Connack(code, bool(acknowledge), _props(reader, level, p.PacketType.CONNACK))


def _publish(reader: Reader, flags: int, level: int) -> p.Publish:
    qos = (flags >> 1) & 0x03
    topic = reader.string()
    packet_id = _packet_id(reader) if qos else None
    properties = _props(reader, level, p.PacketType.PUBLISH)
    return p.Publish(topic, reader.rest(), qos, bool(flags & 0x01), bool(flags & 0x08), packet_id, properties)


def _ack_fields(reader: Reader, level: int, context: int) -> tuple[int, int, Properties]:
    """Packet id, reason code and properties; MQTT 5 may leave out both of the last [3.4.2.1]."""
    packet_id = _packet_id(reader)
    code, properties = 0, NO_PROPERTIES
    if level == p.MQTT_5 and not reader.at_end():
        code = reader.u8()
        if not reader.at_end():
            properties = read_properties(reader, context)
    return packet_id, code, properties


def _puback(reader: Reader, _flags: int, level: int) -> p.Puback:
    return p.Puback(*_ack_fields(reader, level, p.PacketType.PUBACK))


def _pubrec(reader: Reader, _flags: int, level: int) -> p.Pubrec:
    return p.Pubrec(*_ack_fields(reader, level, p.PacketType.PUBREC))


def _pubrel(reader: Reader, _flags: int, level: int) -> p.Pubrel:
    return p.Pubrel(*_ack_fields(reader, level, p.PacketType.PUBREL))


def _pubcomp(reader: Reader, _flags: int, level: int) -> p.Pubcomp:
    return p.Pubcomp(*_ack_fields(reader, level, p.PacketType.PUBCOMP))


def _options(options: int, topic_filter: str, level: int) -> p.Subscription:
    if options & (0xC0 if level == p.MQTT_5 else 0xFC):
        raise malformed("reserved subscription option bits are set")
    qos, retain_handling = options & 0x03, (options >> 4) & 0x03
    if qos == 3:
        raise malformed("a subscription with QoS 3")
    if retain_handling == 3:
        raise protocol_error("retain handling 3")
    return p.Subscription(topic_filter, qos, bool(options & 0x04), bool(options & 0x08), retain_handling)


def _subscribe(reader: Reader, _flags: int, level: int) -> p.Subscribe:
    packet_id = _packet_id(reader)
    properties = _props(reader, level, p.PacketType.SUBSCRIBE)
    subscriptions: list[p.Subscription] = []
    while not reader.at_end():
        topic_filter = reader.string()
        subscriptions.append(_options(reader.u8(), topic_filter, level))
    if not subscriptions:
        raise protocol_error("SUBSCRIBE without a topic filter")
    return p.Subscribe(packet_id, tuple(subscriptions), properties)


def _suback(reader: Reader, _flags: int, level: int) -> p.Suback:
    packet_id = _packet_id(reader)
    properties = _props(reader, level, p.PacketType.SUBACK)
    codes = tuple(reader.rest())
    if not codes:
        raise protocol_error("SUBACK without a return code")
    return p.Suback(packet_id, codes, properties)


def _unsubscribe(reader: Reader, _flags: int, level: int) -> p.Unsubscribe:
    packet_id = _packet_id(reader)
    properties = _props(reader, level, p.PacketType.UNSUBSCRIBE)
    filters: list[str] = []
    while not reader.at_end():
        filters.append(reader.string())
    if not filters:
        raise protocol_error("UNSUBSCRIBE without a topic filter")
    return p.Unsubscribe(packet_id, tuple(filters), properties)


def _unsuback(reader: Reader, _flags: int, level: int) -> p.Unsuback:
    packet_id = _packet_id(reader)
    if level != p.MQTT_5:
        return p.Unsuback(packet_id)
    properties = read_properties(reader, p.PacketType.UNSUBACK)
    codes = tuple(reader.rest())
    if not codes:
        raise protocol_error("UNSUBACK without a reason code")
    return p.Unsuback(packet_id, codes, properties)


def _pingreq(_reader: Reader, _flags: int, _level: int) -> p.Pingreq:
    return p.Pingreq()


def _pingresp(_reader: Reader, _flags: int, _level: int) -> p.Pingresp:
    return p.Pingresp()


def _reason_and_properties(reader: Reader, level: int, context: int) -> tuple[int, Properties]:
    """DISCONNECT and AUTH: an empty body means reason 0 and no properties [3.14.2.1, 3.15.2.1]."""
    if level != p.MQTT_5 or reader.at_end():
        return 0, NO_PROPERTIES
    code = reader.u8()
    return code, (NO_PROPERTIES if reader.at_end() else read_properties(reader, context))


def _disconnect(reader: Reader, _flags: int, level: int) -> p.Disconnect:
    return p.Disconnect(*_reason_and_properties(reader, level, p.PacketType.DISCONNECT))


def _auth(reader: Reader, _flags: int, level: int) -> p.Auth:
    return p.Auth(*_reason_and_properties(reader, level, p.PacketType.AUTH))


_DECODERS: dict[p.PacketType, Callable[[Reader, int, int], p.Packet]] = {
    p.PacketType.CONNECT: _connect,
    p.PacketType.CONNACK: _connack,
    p.PacketType.PUBLISH: _publish,
    p.PacketType.PUBACK: _puback,
    p.PacketType.PUBREC: _pubrec,
    p.PacketType.PUBREL: _pubrel,
    p.PacketType.PUBCOMP: _pubcomp,
    p.PacketType.SUBSCRIBE: _subscribe,
    p.PacketType.SUBACK: _suback,
    p.PacketType.UNSUBSCRIBE: _unsubscribe,
    p.PacketType.UNSUBACK: _unsuback,
    p.PacketType.PINGREQ: _pingreq,
    p.PacketType.PINGRESP: _pingresp,
    p.PacketType.DISCONNECT: _disconnect,
    p.PacketType.AUTH: _auth,
}
