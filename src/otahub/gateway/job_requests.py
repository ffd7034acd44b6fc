"""The fields of jobs request payloads (iot-jobs-mqtt.md sections 2 and 3), read and checked.

Each reader takes the decoded JSON object and gives the field's value, None when it is absent (or JSON
null [U]), or raises Refused("InvalidRequest"). Fields an operation does not know are ignored [U].
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from otahub.domain.executions import DEVICE_STATUSES, ExecutionStatus
from otahub.gateway.messages import Refused, parse_json, shown

MAX_TOKEN = 64
MAX_DETAIL_KEY = 128
MAX_DETAIL_VALUE = 1024
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
_DETAIL_KEY = re.compile(r"[a-zA-Z0-9:_-]+")
_NUMERIC = re.compile(r"-?[0-9]{1,19}")

Body = Mapping[str, Any]


def invalid(message: str) -> Refused:
    return Refused("InvalidRequest", message)


def read_body(payload: bytes) -> Body:
    """The payload as a JSON object: InvalidJson if it is not UTF-8 JSON, InvalidRequest if not an object."""
    try:
        body = parse_json(payload)
    except (ValueError, RecursionError) as exc:
        raise Refused("InvalidJson", f"The payload is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid(f"The payload must be a JSON object, not {type(body).__name__}")
    return body


def client_token(body: Body) -> str | None:
    """clientToken, echoed verbatim in the reply: any string of at most 64 characters."""
    token = body.get("clientToken")
    if token is None:
        return None
    if not isinstance(token, str):
        raise invalid("clientToken must be a string")
    if len(token) > MAX_TOKEN:
        raise invalid(f"clientToken is {len(token)} characters long; the most is {MAX_TOKEN}")
    return token


def long_field(body: Body, name: str) -> int | None:
    """A JSON integer in the range of a long (not a boolean, not a fraction)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer")
    if not LONG_MIN <= value <= LONG_MAX:
        raise invalid(f"{name} {shown(value)} is out of range")
    return value


def expected_version(body: Body) -> int | None:
    """expectedVersion as a JSON number or a numeric JSON string (AWS's embedded Jobs library quotes it)."""
    value = body.get("expectedVersion")
    if isinstance(value, str):
        if _NUMERIC.fullmatch(value) is None:
            raise invalid(f"expectedVersion {value!r} is not a number")
        return long_field({"expectedVersion": int(value)}, "expectedVersion")
    return long_field(body, "expectedVersion")


def flag(body: Body, name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false")
    return value


def status(body: Body) -> ExecutionStatus:
    """The status an update asks for: required, one of the statuses a device may set."""
    value = body.get("status")
    if value is None:
        raise invalid("status is required: IN_PROGRESS, SUCCEEDED, FAILED or REJECTED")
    allowed = sorted(s.value for s in DEVICE_STATUSES)
    if not isinstance(value, str) or value not in allowed:
        raise invalid(f"status must be one of {', '.join(allowed)}, not {value!r}")
    return ExecutionStatus(value)


def status_details(body: Body) -> dict[str, str] | None:
    """statusDetails as the iot-jobs-data model's DetailsMap: keys 1-128 of [a-zA-Z0-9:_-], values
    1-1024 characters without control characters (\\p{C})."""
    value = body.get("statusDetails")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("statusDetails must be a JSON object of strings")
    for key, detail in value.items():
        _check_detail(key, detail)
    return dict(value)


def _check_detail(key: str, detail: Any) -> None:
    if len(key) > MAX_DETAIL_KEY or _DETAIL_KEY.fullmatch(key) is None:
        raise invalid(f"statusDetails key {key!r} must be 1 to {MAX_DETAIL_KEY} characters of [a-zA-Z0-9:_-]")
    if not isinstance(detail, str):
        raise invalid(f"statusDetails value of {key} must be a string")
    if not 1 <= len(detail) <= MAX_DETAIL_VALUE:
        raise invalid(f"statusDetails value of {key} must be 1 to {MAX_DETAIL_VALUE} characters, not {len(detail)}")
    if any(unicodedata.category(ch).startswith("C") for ch in detail):
        raise invalid(f"statusDetails value of {key} contains a control character")
