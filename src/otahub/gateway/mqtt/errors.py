"""Reason codes and the one exception the decoder raises (MQTT 5.0 section 2.4, MQTT 3.1.1 section 3.2.2.3).

```
Exception
 └── ProtocolError(reason_code, message)   malformed or forbidden input; the connection must close
```

MQTT 3.1.1 has no reason codes on DISCONNECT: there the broker just closes the connection, using the
code only for its log (and ``UNSUPPORTED_PROTOCOL_VERSION`` to answer CONNACK return code 1).
"""

from __future__ import annotations

from enum import IntEnum


class ReasonCode(IntEnum):
    """The MQTT 5 reason codes the packet layer and the broker use."""

    SUCCESS = 0x00
    GRANTED_QOS_1 = 0x01
    GRANTED_QOS_2 = 0x02
    NO_MATCHING_SUBSCRIBERS = 0x10
    NO_SUBSCRIPTION_EXISTED = 0x11
    CONTINUE_AUTHENTICATION = 0x18
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    UNSUPPORTED_PROTOCOL_VERSION = 0x84
    CLIENT_IDENTIFIER_NOT_VALID = 0x85
    BAD_USER_NAME_OR_PASSWORD = 0x86
    NOT_AUTHORIZED = 0x87
    SERVER_UNAVAILABLE = 0x88
    SERVER_BUSY = 0x89
    BAD_AUTHENTICATION_METHOD = 0x8C
    KEEP_ALIVE_TIMEOUT = 0x8D
    SESSION_TAKEN_OVER = 0x8E
    TOPIC_FILTER_INVALID = 0x8F
    TOPIC_NAME_INVALID = 0x90
    PACKET_IDENTIFIER_IN_USE = 0x91
    PACKET_IDENTIFIER_NOT_FOUND = 0x92
    RECEIVE_MAXIMUM_EXCEEDED = 0x93
    TOPIC_ALIAS_INVALID = 0x94
    PACKET_TOO_LARGE = 0x95
    QUOTA_EXCEEDED = 0x97
    PAYLOAD_FORMAT_INVALID = 0x99
    RETAIN_NOT_SUPPORTED = 0x9A
    QOS_NOT_SUPPORTED = 0x9B
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2


class ProtocolError(Exception):
    """Input that is not a valid MQTT packet; ``reason_code`` is what an MQTT 5 peer is told."""

    def __init__(self, reason_code: ReasonCode, message: str) -> None:
        super().__init__(f"{message} (reason code 0x{reason_code:02X} {reason_code.name})")
        self.reason_code = reason_code
        self.message = message


def malformed(message: str) -> ProtocolError:
    return ProtocolError(ReasonCode.MALFORMED_PACKET, message)


def protocol_error(message: str) -> ProtocolError:
    return ProtocolError(ReasonCode.PROTOCOL_ERROR, message)
