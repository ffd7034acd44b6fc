"""Packets to bytes. Raises ``ValueError`` for a packet that the given protocol level cannot carry."""

from __future__ import annotations

from otahub.gateway.mqtt import _wire
from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.properties import WILL, Properties, write_properties

_V311_CONNACK_CODES = range(6)
_V311_SUBACK_CODES = frozenset({0x00, 0x01, 0x02, 0x80})


def _needs_v5(level: int, condition: bool, what: str) -> None:
    if condition and level != p.MQTT_5:
        raise ValueError(f"{what} needs MQTT 5")


def _props(properties: Properties, level: int, context: int) -> bytes:
    if level == p.MQTT_5:
        return write_properties(properties, context)
    _needs_v5(level, not properties.is_empty(), "properties")
    return b""


def _packet_id(packet_id: int) -> bytes:
    return _wire.u16(_wire.check_range(packet_id, 1, _wire.MAX_UINT16, "a packet identifier"))


def _qos(qos: int) -> int:
    return _wire.check_range(qos, 0, 2, "QoS")


def _connect(packet: p.Connect, level: int) -> tuple[int, bytes]:
    if packet.protocol_level != level:
        raise ValueError(f"a level {packet.protocol_level} CONNECT cannot be encoded at level {level}")
    will = packet.will
    if level == p.MQTT_311 and packet.password is not None and packet.username is None:
        raise ValueError("MQTT 3.1.1 needs a user name with a password")
    flags = (packet.clean_start << 1) | ((packet.username is not None) << 7) | ((packet.password is not None) << 6)
    if will is not None:
        flags |= 0x04 | (_qos(will.qos) << 3) | (will.retain << 5)
    out = bytearray(_wire.string(p.PROTOCOL_NAME) + bytes([level, flags]) + _wire.u16(packet.keep_alive))
    out += _props(packet.properties, level, p.PacketType.CONNECT) + _wire.string(packet.client_id)
    if will is not None:
        out += _props(will.properties, level, WILL) + _wire.string(will.topic) + _wire.binary(will.payload)
    if packet.username is not None:
        out += _wire.string(packet.username)
    if packet.password is not None:
        out += _wire.binary(packet.password)
    return 0x10, bytes(out)


def _connack(packet: p.Connack, level: int) -> tuple[int, bytes]:
    if level == p.MQTT_311 and packet.reason_code not in _V311_CONNACK_CODES:
        raise ValueError(f"MQTT 3.1.1 CONNACK return codes are 0..5, got {packet.reason_code}")
    body = bytes([int(packet.session_present)]) + _wire.u8(packet.reason_code)
    return 0x20, body + _props(packet.properties, level, p.PacketType.CONNACK)


def _publish(packet: p.Publish, level: int) -> tuple[int, bytes]:
    qos = _qos(packet.qos)
    if (packet.packet_id is None) != (qos == 0):
        raise ValueError("a PUBLISH has a packet identifier exactly when its QoS is above 0")
    if packet.dup and qos == 0:
        raise ValueError("a QoS 0 PUBLISH cannot have DUP set")
    first = 0x30 | (packet.dup << 3) | (qos << 1) | int(packet.retain)
    body = _wire.string(packet.topic)
    if packet.packet_id is not None:
        body += _packet_id(packet.packet_id)
    return first, body + _props(packet.properties, level, p.PacketType.PUBLISH) + packet.payload


def _publish_ack(packet: p.Puback | p.Pubrec | p.Pubrel | p.Pubcomp, level: int) -> tuple[int, bytes]:
    kind = packet.packet_type
    first = (kind << 4) | (0b0010 if kind == p.PacketType.PUBREL else 0)
    body = _packet_id(packet.packet_id)
    _needs_v5(level, packet.reason_code != 0, "a reason code")
    if level == p.MQTT_5 and (packet.reason_code or not packet.properties.is_empty()):
        body += _wire.u8(packet.reason_code)
        if not packet.properties.is_empty():
            body += write_properties(packet.properties, kind)
    elif level != p.MQTT_5:
        _props(packet.properties, level, kind)
    return first, body


def _options(subscription: p.Subscription, level: int) -> bytes:
    v5_only = subscription.no_local or subscription.retain_as_published or subscription.retain_handling != 0
    _needs_v5(level, v5_only, "no-local, retain-as-published and retain handling")
    handling = _wire.check_range(subscription.retain_handling, 0, 2, "retain handling")
    options = _qos(subscription.qos) | (subscription.no_local << 2) | (subscription.retain_as_published << 3)
    return _wire.string(subscription.topic_filter) + bytes([options | (handling << 4)])


def _nonempty(items: tuple[object, ...], what: str) -> None:
    if not items:
        raise ValueError(f"{what} must not be empty")


def _subscribe(packet: p.Subscribe, level: int) -> tuple[int, bytes]:
    _nonempty(packet.subscriptions, "the subscriptions")
    body = _packet_id(packet.packet_id) + _props(packet.properties, level, p.PacketType.SUBSCRIBE)
    return 0x82, body + b"".join(_options(item, level) for item in packet.subscriptions)


def _suback(packet: p.Suback, level: int) -> tuple[int, bytes]:
    _nonempty(packet.reason_codes, "the reason codes")
    if level == p.MQTT_311 and not _V311_SUBACK_CODES.issuperset(packet.reason_codes):
        raise ValueError("MQTT 3.1.1 SUBACK return codes are 0, 1, 2 and 0x80")
    body = _packet_id(packet.packet_id) + _props(packet.properties, level, p.PacketType.SUBACK)
    return 0x90, body + b"".join(_wire.u8(code) for code in packet.reason_codes)


def _unsubscribe(packet: p.Unsubscribe, level: int) -> tuple[int, bytes]:
    _nonempty(packet.topic_filters, "the topic filters")
    body = _packet_id(packet.packet_id) + _props(packet.properties, level, p.PacketType.UNSUBSCRIBE)
    return 0xA2, body + b"".join(_wire.string(item) for item in packet.topic_filters)


def _unsuback(packet: p.Unsuback, level: int) -> tuple[int, bytes]:
    body = _packet_id(packet.packet_id)
    if level == p.MQTT_5:
        _nonempty(packet.reason_codes, "the reason codes")
        body += write_properties(packet.properties, p.PacketType.UNSUBACK)
        return 0xB0, body + b"".join(_wire.u8(code) for code in packet.reason_codes)
    _needs_v5(level, bool(packet.reason_codes), "UNSUBACK reason codes")
    _props(packet.properties, level, p.PacketType.UNSUBACK)
    return 0xB0, body


def _reason_and_properties(packet: p.Disconnect | p.Auth, level: int) -> tuple[int, bytes]:
    kind = packet.packet_type
    _needs_v5(level, kind == p.PacketType.AUTH, "AUTH")
    _needs_v5(level, packet.reason_code != 0, "a reason code")
    _props(packet.properties, level, kind)
    if level != p.MQTT_5 or (packet.reason_code == 0 and packet.properties.is_empty()):
        return kind << 4, b""
    return kind << 4, _wire.u8(packet.reason_code) + write_properties(packet.properties, kind)


def encode(packet: p.Packet, protocol_level: int) -> bytes:
    """The complete packet (fixed header, Remaining Length, body) for a peer at ``protocol_level``."""
    if protocol_level not in p.PROTOCOL_LEVELS:
        raise ValueError(f"protocol level must be 4 or 5, got {protocol_level}")
    first, body = _body(packet, protocol_level)
    return bytes([first]) + _wire.varint(len(body)) + body


def _body(packet: p.Packet, level: int) -> tuple[int, bytes]:
    match packet:
        case p.Connect():
            return _connect(packet, level)
        case p.Connack():
            return _connack(packet, level)
        case p.Publish():
            return _publish(packet, level)
        case p.Puback() | p.Pubrec() | p.Pubrel() | p.Pubcomp():
            return _publish_ack(packet, level)
        case p.Subscribe():
            return _subscribe(packet, level)
        case p.Suback():
            return _suback(packet, level)
        case p.Unsubscribe():
            return _unsubscribe(packet, level)
        case p.Unsuback():
            return _unsuback(packet, level)
        case p.Pingreq() | p.Pingresp():
            return packet.packet_type << 4, b""
        case p.Disconnect() | p.Auth():
            return _reason_and_properties(packet, level)
    raise TypeError(f"not an MQTT packet: {packet!r}")
