"""Property-based round trips of the rest-json protocol layer against botocore, for every operation.

* Requests: botocore's client serializer writes generated input; our router must pick the same
  operation, our parser must read back the same parameters, and the validator must accept them.
* Responses: our serializer writes generated output; botocore's client parser must read it back.
* Errors: our error serializer writes each modelled error; botocore must see its code and status.

The models come from a botocore session of the test's own, independent of ``otahub.aws.spec``.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.parser import parse_request
from otahub.aws.routing import router_for
from otahub.aws.serializer import serialize_error, serialize_result
from otahub.aws.validate import validate_input
from tests.unit.aws.shape_strategies import Generated, shape_params

SERVICES = ("iot", "iot-jobs-data", "iot-managed-integrations", "iotwireless")
ENDPOINT = "https://otahub.test"
REQUEST_ID = "7c0d7a4e-roundtrip"

# A few examples per operation keep ~1,400 tests fast; ROUNDTRIP_EXAMPLES=200 ROUNDTRIP_RANDOM=1
# explores further (and differently on every run).
ROUNDTRIP = settings(
    max_examples=int(os.environ.get("ROUNDTRIP_EXAMPLES", "10")),
    deadline=None,
    derandomize=not os.environ.get("ROUNDTRIP_RANDOM"),
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@cache
def _service(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def _operations() -> list[Any]:
    return [
        pytest.param(service, op_name, id=f"{service}:{op_name}")
        for service in SERVICES
        for op_name in _service(service).operation_names
    ]


OPERATIONS = _operations()


# ---------------------------------------------------------------------------------------------
# Normalising what the wire legitimately changes


def _canonical(value: Any) -> Any:
    """Plain data with every timestamp as a UTC instant, so tzutc/tzlocal/UTC compare and print
    alike."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _input_on_the_wire(shape: Shape | None, params: dict[str, Any]) -> dict[str, Any]:
    """The input a server can possibly see once botocore has serialized ``params``."""
    if shape is None:
        return {}
    payload = shape.serialization.get("payload")
    seen: dict[str, Any] = {}
    for name, value in params.items():
        member = shape.members[name]
        location = member.serialization.get("location")
        if location in ("querystring", "header", "headers") and value in ([], {}):
            continue  # an empty list or map puts nothing in the query string or headers
        if location == "headers":
            value = {key.lower(): item for key, item in value.items()}  # header names fold case
        if name == payload and member.type_name in ("blob", "string") and not value:
            continue  # an empty raw payload is no payload
        seen[name] = value
    return seen


def _without_nones(shape: Shape, value: Any) -> Any:
    """A None structure member means "absent": serializers leave it out. (Documents keep theirs.)"""
    if shape.type_name == "structure" and not getattr(shape, "is_document_type", False):
        return {
            k: _without_nones(shape.members[k], v) for k, v in value.items() if v is not None
        }
    if shape.type_name == "list":
        return [_without_nones(shape.member, v) for v in value]
    if shape.type_name == "map":
        return {k: _without_nones(shape.value, v) for k, v in value.items()}
    return value


def _output_as_botocore_sees_it(
    shape: Shape | None, params: dict[str, Any], status: int
) -> dict[str, Any]:
    """The output botocore's parser yields for ``params``: it always fills status-code and
    header-map members, and an absent payload reads as an empty one."""
    if shape is None:
        return {}
    seen: dict[str, Any] = _without_nones(shape, params)
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "statusCode":
            seen[name] = status
        elif location == "headers":
            seen[name] = {key.lower(): item for key, item in (params.get(name) or {}).items()}
    payload = shape.serialization.get("payload")
    if payload and seen.get(payload) is None:
        kind = shape.members[payload].type_name
        seen[payload] = b"" if kind == "blob" else "" if kind == "string" else {}
    return seen


# ---------------------------------------------------------------------------------------------
# Requests: botocore serializes, otahub routes, parses and validates


def _wire_request(op: OperationModel, params: dict[str, Any]) -> AwsRequest:
    """Exactly what botocore would put on the wire for ``params``, as the ASGI adapter hands it
    to the pipeline: raw path and query, lower-case latin-1 headers, body bytes."""
    serializer = create_serializer("rest-json", include_validation=False)
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)  # ignores any host prefix's labels
    prepared = create_request_object(request_dict).prepare()
    url = urlsplit(prepared.url)
    headers: dict[str, str] = {}
    for key, value in prepared.headers.items():
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        headers[key.lower()] = raw.decode("latin-1")
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        body = body.read()
    return AwsRequest(prepared.method, url.path, url.query, headers, body)


@pytest.mark.parametrize(("service", "op_name"), OPERATIONS)
@ROUNDTRIP
@given(data=st.data())
def test_request_roundtrip(service: str, op_name: str, data: st.DataObject) -> None:
    op = _service(service).operation_model(op_name)
    generated: Generated = data.draw(shape_params(op.input_shape), label="input")
    request = _wire_request(op, generated.params)

    found = router_for(service).resolve(request.method, request.path, request.query_string)
    assert found is not None, f"no route for {request.method} {request.path}?{request.query_string}"
    routed, labels = found
    assert (routed.service_model.service_name, routed.name) == (service, op_name)

    parsed = parse_request(routed, request, labels)
    expected = _input_on_the_wire(op.input_shape, generated.params)
    payload = op.input_shape.serialization.get("payload") if op.input_shape else None
    if payload and payload not in expected and parsed.get(payload) == {}:
        del parsed[payload]  # botocore sends an absent structure payload as "{}"
    assert _canonical(parsed) == _canonical(expected)

    if generated.exact:  # every generated value honours its constraints
        report = validate_input(routed.input_shape, parsed)
        assert report.problems == []


# ---------------------------------------------------------------------------------------------
# Responses: otahub serializes, botocore parses


def _botocore_parse(op: OperationModel, response: AwsResponse, shape: Shape | None) -> dict[str, Any]:
    """botocore's client parse of ``response``, from the wire form the ASGI adapter sends."""
    headers = HeadersDict(
        {key: value.encode("latin-1").decode("latin-1") for key, value in response.headers.items()}
    )
    body: Any = response.body
    if op.has_streaming_output and response.status < 300:
        body = StreamingBody(io.BytesIO(response.body), len(response.body))
    parsed: dict[str, Any] = create_parser("rest-json").parse(
        {"status_code": response.status, "headers": headers, "body": body}, shape
    )
    return parsed


@pytest.mark.parametrize(("service", "op_name"), OPERATIONS)
@ROUNDTRIP
@given(data=st.data())
def test_response_roundtrip(service: str, op_name: str, data: st.DataObject) -> None:
    op = _service(service).operation_model(op_name)
    model_status = int(op.http.get("responseCode", 200))
    status_codes = tuple(sorted({model_status, 200, 202}))
    generated: Generated = data.draw(
        shape_params(op.output_shape, status_codes, with_nones=True), label="output"
    )

    response = serialize_result(op, generated.params, REQUEST_ID)
    shape = op.output_shape
    status_member = next(
        (
            name
            for name, member in (shape.members.items() if shape else ())
            if member.serialization.get("location") == "statusCode"
        ),
        None,
    )
    expected_status = (generated.params.get(status_member) if status_member else None) or model_status
    assert response.status == expected_status

    parsed = _botocore_parse(op, response, shape)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == REQUEST_ID
    payload = shape.serialization.get("payload") if shape else None
    if payload is not None:
        value = parsed.get(payload)
        if isinstance(value, StreamingBody):
            parsed[payload] = value.read()
        elif isinstance(value, str) and shape is not None and shape.members[payload].type_name == "blob":
            parsed[payload] = value.encode("utf-8")  # botocore decodes non-streaming blob payloads
    expected = _output_as_botocore_sees_it(shape, generated.params, response.status)
    assert _canonical(parsed) == _canonical(expected)


# ---------------------------------------------------------------------------------------------
# Errors: otahub serializes each modelled error, botocore recognises it


def _error_fields(shape: Shape) -> dict[str, str]:
    """A value for each string member the error carries in its body (besides the message)."""
    fields: dict[str, str] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location") or name.lower() == "message":
            continue
        if member.type_name == "string":
            fields[member.serialization.get("name", name)] = (
                member.enum[0] if member.enum else f"{name}-value"
            )
    return fields


@pytest.mark.parametrize(("service", "op_name"), OPERATIONS)
def test_error_roundtrip(service: str, op_name: str) -> None:
    op = _service(service).operation_model(op_name)
    for error_shape in op.error_shapes:
        status = int(error_shape.metadata["error"]["httpStatusCode"])
        fields = _error_fields(error_shape)
        response = serialize_error(error_shape.name, status, "it went wrong", REQUEST_ID, fields)

        parsed = _botocore_parse(op, response, op.output_shape)
        assert parsed["Error"]["Code"] == error_shape.name
        assert parsed["Error"]["Message"] == "it went wrong"
        assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
        assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID

        # The client then raises the modelled exception, filled from the error's own shape.
        modelled = op.service_model.shape_for_error_code(parsed["Error"]["Code"])
        assert modelled is not None and modelled.name == error_shape.name
        extra = _botocore_parse(op, response, modelled)
        extra.pop("ResponseMetadata", None)
        wire_names = {
            member.serialization.get("name", name): name for name, member in modelled.members.items()
        }
        assert {wire_names[k]: v for k, v in fields.items()} == {
            k: v for k, v in extra.items() if k not in ("Error", "message", "Message")
        }
