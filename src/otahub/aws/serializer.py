"""Serialize operation results and errors as rest-json responses, exactly as the model says."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from otahub.aws.messages import AwsResponse
from otahub.aws.spec import OperationModel, Shape

JSON = "application/json"


def serialize_result(op: OperationModel, result: dict[str, Any], request_id: str) -> AwsResponse:
    headers = {"x-amzn-RequestId": request_id}
    shape = op.output_shape
    if shape is None:
        return _with_body(int(op.http.get("responseCode", 200)), headers, b"{}", JSON)
    status, body_members = bind_outside_body(op, shape, result, headers)
    payload = shape.serialization.get("payload")
    if payload:
        return _payload_response(status, headers, shape.members[payload], result.get(payload))
    body = json.dumps(_structure(body_members, result), separators=(",", ":")).encode()
    return _with_body(status, headers, body, JSON)


def bind_outside_body(
    op: OperationModel, shape: Shape, result: dict[str, Any], headers: dict[str, str], lower_prefixed: bool = False
) -> tuple[int, dict[str, Shape]]:
    """What the rest protocols put outside the body (status code, headers, prefixed header maps):
    writes the headers, returns the status and the members left for the body."""
    status = int(op.http.get("responseCode", 200))
    body_members: dict[str, Shape] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        value = result.get(name)
        if location is None:
            body_members[name] = member
        elif value is None:
            continue
        elif location == "statusCode":
            status = int(value)
        elif location == "header":
            headers[member.serialization.get("name", name)] = header_value(member, value)
        elif location == "headers":
            prefix = member.serialization.get("name", name)
            for key, item in value.items():
                wire = f"{prefix}{key}"
                headers[wire.lower() if lower_prefixed else wire] = str(item)
    return status, body_members


def serialize_error(
    code: str, status: int, message: str, request_id: str, fields: dict[str, Any] | None = None
) -> AwsResponse:
    document: dict[str, Any] = {"message": message}
    if fields:
        document.update({k: v for k, v in fields.items() if v is not None})
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
    return _with_body(status, headers, json.dumps(document).encode(), JSON)


def _with_body(status: int, headers: dict[str, str], body: bytes, content_type: str) -> AwsResponse:
    if status == 204:
        return AwsResponse(status, headers, b"")
    headers["Content-Type"] = content_type
    return AwsResponse(status, headers, body)


def _payload_response(status: int, headers: dict[str, str], member: Shape, value: Any) -> AwsResponse:
    if member.type_name == "blob":
        data = value if isinstance(value, bytes) else (value.read() if value is not None else b"")
        content_type = headers.pop("Content-Type", None) or "application/octet-stream"
        return _with_body(status, headers, data, content_type)
    if member.type_name == "string":
        return _with_body(status, headers, (value or "").encode(), "text/plain")
    body = json.dumps(_value(member, value) if value is not None else {}).encode()
    return _with_body(status, headers, body, JSON)


def _structure(members: dict[str, Shape], value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in members.items():
        item = value.get(name)
        if item is not None:
            out[member.serialization.get("name", name)] = _value(member, item)
    return out


def _value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        return _structure(shape.members, value)
    if kind == "list":
        return [_value(shape.member, v) for v in value]
    if kind == "map":
        return {k: _value(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    if kind == "blob":
        return base64.b64encode(value).decode()
    return value


def _timestamp(value: datetime, fmt: str) -> Any:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if fmt == "iso8601":
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if fmt == "rfc822":
        return format_datetime(value.astimezone(UTC), usegmt=True)
    return round(value.timestamp(), 3)


def header_value(member: Shape, value: Any) -> str:
    """A member bound to a header, as the rest protocols write it (timestamps RFC 822 by default)."""
    if member.type_name == "timestamp":
        return str(_timestamp(value, member.serialization.get("timestampFormat", "rfc822")))
    if member.type_name == "boolean":
        return "true" if value else "false"
    if member.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    if member.type_name == "list":
        return ",".join(header_value(member.member, item) for item in value)
    return str(value)
