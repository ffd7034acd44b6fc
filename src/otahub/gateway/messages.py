"""What the device gateway hands a transport to publish, and the JSON and time forms every reply shares."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# QoS of what the gateway publishes [U: AWS does not document it]. Jobs replies and notifications go at
# QoS 1 (the FreeRTOS OTA agent asks `$next/get` and subscribes to notify-next at QoS 1); stream blocks,
# descriptions and stream rejections at QoS 0 (the agent asks and subscribes at QoS 0 and re-requests
# whatever did not arrive).
JOBS_QOS = 1
STREAMS_QOS = 0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish."""

    topic: str
    payload: bytes
    qos: int


def epoch(value: datetime) -> int:
    """Whole epoch seconds, the only time form of the device plane."""
    return int(value.timestamp())


def json_bytes(value: Any) -> bytes:
    """Compact JSON, ASCII only (escapes keep any echoed string, even a lone surrogate, encodable)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def shown(number: int) -> str:
    """A number for a message; a huge one (a CBOR bignum) as its size, since str() refuses > 4300 digits."""
    return str(number) if -(10**30) < number < 10**30 else f"a {number.bit_length()}-bit number"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(payload: bytes) -> Any:
    """A request payload as JSON (strict: UTF-8, no NaN or Infinity); ValueError or RecursionError if it is not.

    The empty payload is read as ``{}`` [U: AWS does not say; devices send no body when they have no fields].
    """
    if not payload:
        return {}
    return json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)


class Refused(Exception):
    """A request the gateway answers with a rejection: the protocol's error code and a message."""

    def __init__(self, code: str, message: str, state: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.state = state  # the jobs executionState a VersionMismatch or InvalidStateTransition carries
