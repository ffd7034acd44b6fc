"""Parse a rest-json HTTP request into the parameters of an operation's input shape.

The result has the form botocore's client takes (timestamps as datetimes, blobs as bytes), so the
same validator and handlers serve every service. Type mistakes are reported as ``InputError``
naming the member; range, length, enum and pattern checks are ``validate.py``'s job.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from otahub.aws.messages import AwsRequest
from otahub.aws.spec import OperationModel, Shape


class InputError(Exception):
    """The request is malformed for its model; ``field`` names the offending member."""

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code  # a fixed error code (e.g. SerializationException), else the validation one


def parse_request(op: OperationModel, request: AwsRequest, labels: dict[str, str]) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    query = _query_multi(request)
    bound_query: set[str] = set()
    body_members: dict[str, Shape] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in labels:
                params[name] = _scalar(member, labels[wire], name, "iso8601")
        elif location == "querystring":
            value = _from_query(member, wire, query, name)
            if member.type_name != "map":
                bound_query.add(wire)
            if value is not None:
                params[name] = value
        elif location in ("header", "headers"):
            value = _from_headers(member, wire, request.headers, name)
            if value is not None:
                params[name] = value
        elif location == "statusCode":
            continue
        else:
            body_members[name] = member
    _fill_query_maps(shape, query, bound_query, params)
    payload = shape.serialization.get("payload")
    if payload:
        _parse_payload(shape.members[payload], payload, request.body, params)
    elif body_members:
        document = _json_body(request.body)
        params.update(_structure_members(body_members, document, ""))
    return params


def _query_multi(request: AwsRequest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_items():
        out.setdefault(key, []).append(value)
    return out


def _from_query(member: Shape, wire: str, query: dict[str, list[str]], path: str) -> Any:
    if member.type_name == "map":
        return None  # filled afterwards from the keys no other member claimed
    values = query.get(wire)
    if not values:
        return None
    if member.type_name == "list":
        return [_scalar(member.member, v, path, "iso8601") for v in values]
    return _scalar(member, values[0], path, "iso8601")


def _fill_query_maps(
    shape: Shape, query: dict[str, list[str]], bound: set[str], params: dict[str, Any]
) -> None:
    for name, member in shape.members.items():
        if member.serialization.get("location") != "querystring" or member.type_name != "map":
            continue
        free = {k: v for k, v in query.items() if k not in bound}
        if not free:
            continue
        if member.value.type_name == "list":
            params[name] = free
        else:
            params[name] = {k: v[0] for k, v in free.items()}


def _from_headers(member: Shape, wire: str, headers: dict[str, str], path: str) -> Any:
    if member.serialization.get("location") == "headers" or member.type_name == "map":
        prefix = wire.lower()
        found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
        return found or None
    raw = headers.get(wire.lower())
    if raw is None:
        return None
    if member.type_name == "list":
        return [_scalar(member.member, v.strip(), path, "rfc822") for v in raw.split(",")]
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(raw))
        except (ValueError, binascii.Error) as exc:
            raise InputError(path, f"Header for '{path}' is not base64-encoded JSON") from exc
    return _scalar(member, raw, path, "rfc822")


def _scalar(shape: Shape, raw: str, path: str, default_ts: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(raw)
        if kind in ("float", "double"):
            return float(raw)
        if kind == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if kind == "timestamp":
            return parse_timestamp(raw, shape.serialization.get("timestampFormat", default_ts))
        if kind == "blob":
            return base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error, OverflowError) as exc:
        raise InputError(path, f"Value '{raw}' at '{path}' is not a valid {kind}") from exc
    return raw


def parse_timestamp(raw: str | float, fmt: str) -> datetime:
    if isinstance(raw, int | float) or fmt == "unixTimestamp":
        try:
            return datetime.fromtimestamp(float(raw), UTC)
        except ValueError:
            if fmt == "unixTimestamp" and isinstance(raw, str):
                return _parse_text_timestamp(raw)
            raise
    return _parse_text_timestamp(raw)


def _parse_text_timestamp(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        parsed = parsedate_to_datetime(raw)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError("body", "The request body is not valid JSON", "SerializationException") from exc
    if not isinstance(document, dict):
        raise InputError("body", "The request body must be a JSON object", "SerializationException")
    return document


def _parse_payload(member: Shape, name: str, body: bytes, params: dict[str, Any]) -> None:
    if member.type_name == "blob":
        if body:
            params[name] = body
    elif member.type_name == "string":
        if body:
            params[name] = body.decode("utf-8", errors="replace")
    elif body.strip():
        params[name] = _value(member, _json_body(body), name)


def _structure_members(members: dict[str, Shape], document: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in members.items():
        wire = member.serialization.get("name", name)
        if wire in document and document[wire] is not None:
            out[name] = _value(member, document[wire], f"{prefix}{name}")
    return out


def _value(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        if not isinstance(value, dict):
            raise InputError(path, f"Value at '{path}' must be a JSON object")
        if shape.metadata.get("union") and len(value) != 1:
            raise InputError(path, f"Union '{path}' must set exactly one member")
        return _structure_members(shape.members, value, f"{path}.")
    if kind == "list":
        if not isinstance(value, list):
            raise InputError(path, f"Value at '{path}' must be a JSON array")
        return [_value(shape.member, v, f"{path}.member") for v in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise InputError(path, f"Value at '{path}' must be a JSON object")
        return {k: _value(shape.value, v, f"{path}.{k}") for k, v in value.items() if v is not None}
    return _json_scalar(shape, value, path)


def _json_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "timestamp":
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            raise InputError(path, f"Value at '{path}' is not a valid timestamp")
        try:
            return parse_timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
        except (ValueError, TypeError, OverflowError) as exc:
            raise InputError(path, f"Value at '{path}' is not a valid timestamp") from exc
    if kind == "blob":
        if not isinstance(value, str):
            raise InputError(path, f"Value at '{path}' must be a base64 string")
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise InputError(path, f"Value at '{path}' is not valid base64") from exc
    return value  # type checks of strings, numbers and booleans happen in validate.py
