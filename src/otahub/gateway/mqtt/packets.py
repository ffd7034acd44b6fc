"""The MQTT control packets as frozen dataclasses, the same for MQTT 3.1.1 (level 4) and MQTT 5 (level 5).

Fields that exist only in MQTT 5 (properties, most reason codes, the v5 subscription options) keep their
defaults at level 4; ``encode`` refuses a packet that sets them for a level-4 peer. Reason codes are
plain ints (see ``errors.ReasonCode``): the wire allows values the broker must still be able to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from otahub.gateway.mqtt.properties import NO_PROPERTIES, Properties

MQTT_311 = 4
MQTT_5 = 5
PROTOCOL_LEVELS = (MQTT_311, MQTT_5)
PROTOCOL_NAME = "MQTT"


class PacketType(IntEnum):
    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = NO_PROPERTIES


@dataclass(frozen=True)
class Connect:
    client_id: str
    protocol_level: int = MQTT_311
    clean_start: bool = True
    keep_alive: int = 60
    will: Will | None = None
    username: str | None = None
    password: bytes | None = None
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.CONNECT


@dataclass(frozen=True)
class Connack:
    """``reason_code`` is the MQTT 3.1.1 Connect Return Code (0..5) at level 4."""

    reason_code: int = 0
    session_present: bool = False
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.CONNACK


@dataclass(frozen=True)
class Publish:
    """``packet_id`` is None exactly when ``qos`` is 0."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.PUBLISH


@dataclass(frozen=True)
class _PublishAck:
    packet_id: int
    reason_code: int = 0
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType]


@dataclass(frozen=True)
class Puback(_PublishAck):
    packet_type: ClassVar[PacketType] = PacketType.PUBACK


@dataclass(frozen=True)
class Pubrec(_PublishAck):
    """QoS 2 (not offered by AWS IoT): decoded so the broker can refuse it."""

    packet_type: ClassVar[PacketType] = PacketType.PUBREC


@dataclass(frozen=True)
class Pubrel(_PublishAck):
    packet_type: ClassVar[PacketType] = PacketType.PUBREL


@dataclass(frozen=True)
class Pubcomp(_PublishAck):
    packet_type: ClassVar[PacketType] = PacketType.PUBCOMP


@dataclass(frozen=True)
class Subscription:
    """A topic filter and its Subscription Options; the last three exist only in MQTT 5."""

    topic_filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@dataclass(frozen=True)
class Subscribe:
    """The Subscription Identifier travels in ``properties.subscription_identifiers`` (at most one)."""

    packet_id: int
    subscriptions: tuple[Subscription, ...]
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.SUBSCRIBE


@dataclass(frozen=True)
class Suback:
    """One code per subscription: the granted QoS (0..2) or a failure (0x80 at level 4)."""

    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.SUBACK


@dataclass(frozen=True)
class Unsubscribe:
    packet_id: int
    topic_filters: tuple[str, ...]
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.UNSUBSCRIBE


@dataclass(frozen=True)
class Unsuback:
    """``reason_codes`` is empty at level 4, where UNSUBACK has no payload."""

    packet_id: int
    reason_codes: tuple[int, ...] = ()
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.UNSUBACK


@dataclass(frozen=True)
class Pingreq:
    packet_type: ClassVar[PacketType] = PacketType.PINGREQ


@dataclass(frozen=True)
class Pingresp:
    packet_type: ClassVar[PacketType] = PacketType.PINGRESP


@dataclass(frozen=True)
class Disconnect:
    reason_code: int = 0
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.DISCONNECT


@dataclass(frozen=True)
class Auth:
    """MQTT 5 only (packet type 15 is reserved in MQTT 3.1.1)."""

    reason_code: int = 0
    properties: Properties = NO_PROPERTIES
    packet_type: ClassVar[PacketType] = PacketType.AUTH


Packet = (
    Connect | Connack | Publish | Puback | Pubrec | Pubrel | Pubcomp | Subscribe | Suback | Unsubscribe | Unsuback
    | Pingreq | Pingresp | Disconnect | Auth
)
