"""Property-based round trips of the rest-xml codec (``otahub.aws.restxml``) against botocore, for
every operation of the s3 model.

* Requests: botocore's client serializer writes generated input (path-style: the bucket is the
  first path segment); our router must pick the same operation, our parser must read back the same
  parameters, and the validator must accept them.
* Responses: our serializer writes generated output; botocore's client parser must read it back.
* Errors: our error document, for each modelled error and a few common unmodelled S3 codes, must
  give botocore the code, the message, the extra fields and the HTTP status.

The models come from a botocore session of the test's own, independent of ``otahub.aws.spec``.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.handlers import parse_get_bucket_location
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.parser import InputError
from otahub.aws.restxml import parse_request, serialize_error, serialize_result
from otahub.aws.routing import router_for
from otahub.aws.validate import validate_input
from tests.unit.aws.shape_strategies import Generated, shape_params

SERVICE = "s3"
ENDPOINT = "https://otahub.test"
REQUEST_ID = "4442587FB7D0A2F9"
S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

ROUNDTRIP = settings(
    max_examples=int(os.environ.get("ROUNDTRIP_EXAMPLES", "10")),
    deadline=None,
    derandomize=not os.environ.get("ROUNDTRIP_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# Operations the wire cannot tell from another: same method and requestUri, and (for these
# requests) no query key or required member only the first one knows. The router takes the
# non-deprecated twin, or the model's first; parsing then uses the operation the client meant.
WIRE_TWINS = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
    "ListDirectoryBuckets": "ListBuckets",  # unless max-directory-buckets is sent
}


@cache
def _service() -> ServiceModel:
    return botocore.session.get_session().get_service_model(SERVICE)


OPERATIONS = [pytest.param(name, id=f"{SERVICE}:{name}") for name in _service().operation_names]


def _has_event_stream_output(name: str) -> bool:
    shape = _service().operation_model(name).output_shape
    payload = shape.serialization.get("payload") if shape else None
    return bool(shape is not None and payload and shape.members[payload].serialization.get("eventstream"))


# Event-stream output (SelectObjectContent) is outside otahub's S3 subset: no encoder to compare.
RESPONSE_OPERATIONS = [p for p in OPERATIONS if not _has_event_stream_output(str(p.values[0]))]


# ---------------------------------------------------------------------------------------------
# Normalising what the wire legitimately changes


def _canonical(value: Any) -> Any:
    """Plain data with every timestamp as a UTC instant, so tzutc/tzlocal/UTC compare alike."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _flattened_and_empty(shape: Shape, value: Any) -> bool:
    return shape.type_name in ("list", "map") and bool(shape.serialization.get("flattened")) and value in ([], {})


def _in_xml(shape: Shape, value: Any) -> Any:
    """A body value as XML carries it: an empty flattened list or map leaves no element behind, and
    a None structure member is absent."""
    if shape.type_name == "structure":
        return {
            k: _in_xml(shape.members[k], v)
            for k, v in value.items()
            if v is not None and not _flattened_and_empty(shape.members[k], v)
        }
    if shape.type_name == "list":
        return [_in_xml(shape.member, v) for v in value]
    if shape.type_name == "map":
        return {k: _in_xml(shape.value, v) for k, v in value.items()}
    return value


def _streaming_payload(shape: Shape | None) -> str | None:
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload and shape is not None and shape.members[payload].serialization.get("streaming"):
        return payload
    return None


def _without_shadowed(shape: Shape, value: Any) -> Any:
    """``value`` less the members whose element another member's flattened items also use.

    The deprecated notification shapes (``QueueConfigurationDeprecated`` and the like) give the
    single ``Event`` and the flattened ``Events`` the same ``<Event>`` element: no reader can tell
    them apart, so only ``Events`` is sent (and botocore's reading of ``Event`` is ignored)."""
    if value is None:
        return None
    if shape.type_name == "structure":
        flattened = {
            m.serialization.get("name", n)
            for n, m in shape.members.items()
            if m.type_name == "list" and m.serialization.get("flattened")
        }
        return {
            k: _without_shadowed(shape.members[k], v)
            for k, v in value.items()
            if shape.members[k].type_name == "list" or shape.members[k].serialization.get("name", k) not in flattened
        }
    if shape.type_name == "list":
        return [_without_shadowed(shape.member, v) for v in value]
    if shape.type_name == "map":
        return {k: _without_shadowed(shape.value, v) for k, v in value.items()}
    return value


def _input_on_the_wire(shape: Shape | None, params: dict[str, Any], request: AwsRequest) -> dict[str, Any]:
    """The input a server can possibly see once botocore has serialized ``params`` as ``request``."""
    if shape is None:
        return {}
    payload = shape.serialization.get("payload")
    seen: dict[str, Any] = {}
    for name, value in params.items():
        member = shape.members[name]
        location = member.serialization.get("location")
        if location in ("querystring", "header", "headers") and value in ([], {}):
            continue  # an empty list or map puts nothing in the query string or headers
        if location is None and _flattened_and_empty(member, value):
            continue
        if location == "headers":
            value = {key.lower(): item for key, item in value.items()}  # header names fold case
        if name == payload and member.type_name in ("blob", "string") and not value:
            continue  # an empty raw payload is no payload
        seen[name] = _in_xml(member, value) if location is None else value
    streaming = _streaming_payload(shape)
    if streaming:
        seen.setdefault(streaming, b"")  # a streaming payload is always handed over, maybe empty
    for name, member in shape.members.items():
        wire = member.serialization.get("name", name).lower()
        if member.serialization.get("location") == "header" and wire == "content-length" and wire in request.headers:
            seen.setdefault(name, int(request.headers[wire]))  # the HTTP layer sends it anyway
    return seen


def _output_as_botocore_sees_it(
    shape: Shape | None, params: dict[str, Any], response: AwsResponse
) -> dict[str, Any]:
    """The output botocore's parser yields for ``params``: it always fills status-code and header-map
    members, an absent payload reads as an empty one, and the Content-Type we add reads back."""
    if shape is None:
        return {}
    seen = _in_xml(shape, params)
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "statusCode":
            seen[name] = response.status
        elif location == "headers":
            seen[name] = {key.lower(): item for key, item in (params.get(name) or {}).items()}
        elif location == "header" and wire.lower() == "content-type" and "Content-Type" in response.headers:
            seen.setdefault(name, response.headers["Content-Type"])
    payload = shape.serialization.get("payload")
    if payload and seen.get(payload) is None:
        kind = shape.members[payload].type_name
        seen[payload] = b"" if kind == "blob" else "" if kind == "string" else {}
    return seen


# ---------------------------------------------------------------------------------------------
# Requests: botocore serializes, otahub routes, parses and validates


def _wire_request(op: OperationModel, params: dict[str, Any]) -> AwsRequest:
    """Exactly what botocore would put on the wire for ``params`` (path-style, so no host prefix),
    as the ASGI adapter hands it to the pipeline: raw path and query, lower-case headers, body."""
    serializer = create_serializer("rest-xml", include_validation=False)
    serializer._expand_host_prefix = lambda parameters, operation_model: None  # path-style: no host labels
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
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


def _query_keys_known(op: OperationModel, query_string: str) -> bool:
    literal = {key for key, _ in parse_qsl(op.http["requestUri"].partition("?")[2], keep_blank_values=True)}
    members = op.input_shape.members.values() if op.input_shape else ()
    known = literal | {m.serialization.get("name") for m in members if m.serialization.get("location") == "querystring"}
    return all(key in known for key, _ in parse_qsl(query_string, keep_blank_values=True))


@pytest.mark.parametrize("op_name", OPERATIONS)
@ROUNDTRIP
@given(data=st.data())
def test_request_roundtrip(op_name: str, data: st.DataObject) -> None:
    op = _service().operation_model(op_name)
    generated: Generated = data.draw(shape_params(op.input_shape, xml=True), label="input")
    params = _without_shadowed(op.input_shape, generated.params) if op.input_shape else {}
    request = _wire_request(op, params)

    found = router_for(SERVICE).resolve(request.method, request.path, request.query_string, request.headers)
    assert found is not None, f"no route for {request.method} {request.path}?{request.query_string}"
    routed, labels = found
    if routed.name != op_name:
        assert routed.name == WIRE_TWINS.get(op_name), f"{request.method} {request.path}?{request.query_string}"
        assert (routed.http["method"], routed.http["requestUri"]) == (op.http["method"], op.http["requestUri"])
        assert _query_keys_known(routed, request.query_string)
        routed = routed.service_model.operation_model(op_name)

    parsed = parse_request(routed, request, labels)
    expected = _input_on_the_wire(op.input_shape, params, request)
    assert _canonical(parsed) == _canonical(expected)

    if generated.exact and expected.keys() >= params.keys():  # all arrived, all honour their constraints
        assert validate_input(routed.input_shape, parsed).problems == []


COPY = {"x-amz-copy-source": "source/key"}


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("PUT", "/b/k", "", {}, "PutObject"),
        ("PUT", "/b/k", "", COPY, "CopyObject"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", COPY, "UploadPartCopy"),
        ("PUT", "/b/k", "", None, "PutObject"),  # without headers, header-bound members cannot count
        ("PUT", "/b/k", "tagging", {}, "PutObjectTagging"),
        ("GET", "/b/k", "uploadId=u", {}, "ListParts"),
        ("GET", "/b/k", "versionId=v&x-id=GetObject", {}, "GetObject"),  # other SDKs add x-id
        ("DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload"),
        ("DELETE", "/b/k", "versionId=v", {}, "DeleteObject"),
        ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
        ("POST", "/b/k", "uploadId=u", {}, "CompleteMultipartUpload"),
        ("POST", "/b", "delete", {}, "DeleteObjects"),
        ("GET", "/b", "list-type=2&prefix=p", {}, "ListObjectsV2"),
        ("GET", "/b", "prefix=p", {}, "ListObjects"),
        ("GET", "/b", "versioning", {}, "GetBucketVersioning"),
        ("GET", "/b", "uploads", {}, "ListMultipartUploads"),
        ("GET", "/b", "analytics&id=a", {}, "GetBucketAnalyticsConfiguration"),
        ("GET", "/b", "analytics", {}, "ListBucketAnalyticsConfigurations"),
        ("GET", "/b", "lifecycle", {}, "GetBucketLifecycleConfiguration"),
        ("HEAD", "/b", "", {}, "HeadBucket"),
        ("GET", "/", "", {}, "ListBuckets"),
        ("GET", "/", "max-directory-buckets=5", {}, "ListDirectoryBuckets"),
    ],
)
def test_s3_routes(method: str, path: str, query: str, headers: dict[str, str] | None, expected: str) -> None:
    found = router_for(SERVICE).resolve(method, path, query, headers)
    assert found is not None and found[0].name == expected


# ---------------------------------------------------------------------------------------------
# Responses: otahub serializes, botocore parses


def _botocore_parse(
    op: OperationModel, status: int, headers: dict[str, str], body: bytes, shape: Shape | None
) -> dict[str, Any]:
    """botocore's s3 client parse of the response, from the wire form the ASGI adapter sends."""
    wire_body: Any = body
    if op.has_streaming_output and status < 300:
        wire_body = StreamingBody(io.BytesIO(body), len(body))
    parsed: dict[str, Any] = create_parser("rest-xml").parse(
        {"status_code": status, "headers": HeadersDict(headers), "body": wire_body}, shape
    )
    if op.name == "GetBucketLocation" and status < 300:
        # The client reads this one with a handler: the region is the root element's text.
        parse_get_bucket_location(parsed, SimpleNamespace(raw=object(), content=body))
        if parsed.get("LocationConstraint") is None:
            parsed.pop("LocationConstraint", None)
    return parsed


@pytest.mark.parametrize("op_name", RESPONSE_OPERATIONS)
@ROUNDTRIP
@given(data=st.data())
def test_response_roundtrip(op_name: str, data: st.DataObject) -> None:
    op = _service().operation_model(op_name)
    shape = op.output_shape
    payload = shape.serialization.get("payload") if shape else None
    model_status = int(op.http.get("responseCode", 200))
    generated: Generated = data.draw(
        shape_params(shape, (model_status, 200), with_nones=True, xml=True), label="output"
    )

    params = _without_shadowed(shape, generated.params) if shape else {}
    result = dict(params)
    streamed = _streaming_payload(shape)
    content = result.get(streamed) if streamed else None
    chunked = isinstance(content, bytes) and data.draw(st.booleans(), label="as chunks")
    if streamed and chunked:
        result[streamed] = iter([content[:1], content[1:]])

    response = serialize_result(op, result, REQUEST_ID)
    assert response.status == model_status
    assert response.headers["x-amz-request-id"] == REQUEST_ID
    if chunked:
        assert response.body == b"" and response.stream is result[streamed]  # handed over unread
        body = b"".join(response.stream)
    else:
        assert response.stream is None
        body = response.body

    parsed = _botocore_parse(op, response.status, response.headers, body, shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == REQUEST_ID
    if payload is not None and isinstance(parsed.get(payload), StreamingBody):
        parsed[payload] = parsed[payload].read()
    elif payload is not None and shape is not None and shape.members[payload].type_name == "blob":
        parsed[payload] = parsed[payload].encode("utf-8")  # botocore decodes non-streaming blob payloads
    parsed = _without_shadowed(shape, parsed) if shape else parsed
    assert _canonical(parsed) == _canonical(_output_as_botocore_sees_it(shape, params, response))


# ---------------------------------------------------------------------------------------------
# Errors: otahub writes S3's error document, botocore recognises it


def _error_fields(shape: Shape) -> dict[str, str]:
    """A value for each string member the error carries in its body (besides the message)."""
    fields: dict[str, str] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location") or name.lower() == "message":
            continue
        if member.type_name == "string":
            fields[member.serialization.get("name", name)] = member.enum[0] if member.enum else f"{name}-value"
    return fields


def _parse_error(op: OperationModel, response: AwsResponse, shape: Shape | None) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/xml"
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Error>')
    return _botocore_parse(op, response.status, response.headers, response.body, shape)


@pytest.mark.parametrize("op_name", OPERATIONS)
def test_error_roundtrip(op_name: str) -> None:
    op = _service().operation_model(op_name)
    for error_shape in op.error_shapes:
        status = int(error_shape.metadata["error"]["httpStatusCode"])
        fields = _error_fields(error_shape)
        response = serialize_error(error_shape.name, status, "it went wrong", REQUEST_ID, fields)

        parsed = _parse_error(op, response, op.output_shape)
        assert parsed["Error"] == {"Code": error_shape.name, "Message": "it went wrong", **fields}
        assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
        assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID

        # The client then raises the modelled exception, filled from the error's own shape.
        modelled = op.service_model.shape_for_error_code(parsed["Error"]["Code"])
        assert modelled is not None and modelled.name == error_shape.name
        extra = _parse_error(op, response, modelled)
        extra.pop("ResponseMetadata", None)
        wire_names = {member.serialization.get("name", name): name for name, member in modelled.members.items()}
        assert {wire_names[k]: v for k, v in fields.items()} == {
            k: v for k, v in extra.items() if k not in ("Error", "message", "Message")
        }


UNMODELLED_ERRORS = [
    ("NoSuchBucket", 404, {"BucketName": "firmware"}),
    ("NoSuchKey", 404, {"Key": "images/v1.bin"}),
    ("BucketNotEmpty", 409, {"BucketName": "firmware"}),
    ("InvalidRange", 416, {"RangeRequested": "bytes=100-", "ActualObjectSize": 10}),
    ("PreconditionFailed", 412, {"Condition": "If-Match"}),
    ("BadDigest", 400, {"ExpectedDigest": "1B2M2Y8AsgTpgAmY7PhCfg==", "CalculatedDigest": "rL0Y20zC+Fzt72VPzMSk2A=="}),
    ("SignatureDoesNotMatch", 403, {"AWSAccessKeyId": "AKIDEXAMPLE", "StringToSign": "AWS4-HMAC-SHA256\n<&>"}),
]


@pytest.mark.parametrize(("code", "status", "fields"), UNMODELLED_ERRORS, ids=[e[0] for e in UNMODELLED_ERRORS])
def test_unmodelled_error(code: str, status: int, fields: dict[str, Any]) -> None:
    op = _service().operation_model("GetObject")
    response = serialize_error(code, status, f"{code} <happened> & more", REQUEST_ID, {**fields, "Ignored": None})
    parsed = _parse_error(op, response, op.output_shape)
    assert parsed["Error"] == {"Code": code, "Message": f"{code} <happened> & more"} | {
        k: str(v) for k, v in fields.items()
    }
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID


# ---------------------------------------------------------------------------------------------
# Fixed cases: the documents real clients exchange, and what must be refused


def _op(name: str) -> OperationModel:
    return _service().operation_model(name)


def _request(method: str, path: str, query: str, body: bytes, spooled: Any = None) -> AwsRequest:
    return AwsRequest(method, path, query, {"content-length": str(len(body))}, body, spooled)


def test_documents_without_namespace_or_with_prefixes_are_read() -> None:
    body = (
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part>"
        b"<Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag></Part></CompleteMultipartUpload>"
    )
    params = parse_request(_op("CompleteMultipartUpload"), _request("POST", "/b/k", "uploadId=u", body), {
        "Bucket": "b", "Key": "k"})
    assert params["MultipartUpload"] == {"Parts": [{"PartNumber": 1, "ETag": '"a"'}, {"PartNumber": 2, "ETag": '"b"'}]}
    prefixed = (
        b'<s3:VersioningConfiguration xmlns:s3="' + S3_NAMESPACE.encode() + b'">'
        b"<s3:Status>Enabled</s3:Status></s3:VersioningConfiguration>"
    )
    params = parse_request(_op("PutBucketVersioning"), _request("PUT", "/b", "versioning", prefixed), {"Bucket": "b"})
    assert params["VersioningConfiguration"] == {"Status": "Enabled"}


@pytest.mark.parametrize(
    "body",
    [
        b"<VersioningConfiguration><Status>Enabled</Status>",
        b"<Tagging><TagSet/></Tagging>",  # the wrong document for the operation
        b'<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<VersioningConfiguration><Status>&b;</Status></VersioningConfiguration>",
        b'<!DOCTYPE v SYSTEM "file:///etc/passwd"><VersioningConfiguration/>',
    ],
    ids=["truncated", "wrong-root", "entity-expansion", "external-dtd"],
)
def test_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(InputError) as raised:
        parse_request(_op("PutBucketVersioning"), _request("PUT", "/b", "versioning", body), {"Bucket": "b"})
    assert raised.value.code == "MalformedXML"


def test_bad_values_are_malformed_xml() -> None:
    body = b"<Delete><Object><Key>k</Key></Object><Quiet>maybe</Quiet></Delete>"
    with pytest.raises(InputError) as raised:
        parse_request(_op("DeleteObjects"), _request("POST", "/b", "delete", body), {"Bucket": "b"})
    assert (raised.value.code, raised.value.field) == ("MalformedXML", "Delete.Quiet")


def test_streaming_payload_is_handed_over_unread() -> None:
    spooled = object()
    request = _request("PUT", "/b/k", "", b"", spooled)
    assert parse_request(_op("PutObject"), request, {"Bucket": "b", "Key": "k"})["Body"] is spooled
    request = _request("PUT", "/b/k", "partNumber=1&uploadId=u", b"part")
    assert parse_request(_op("UploadPart"), request, {"Bucket": "b", "Key": "k"})["Body"] == b"part"


@pytest.mark.parametrize(
    ("op_name", "result", "document"),
    [
        ("ListObjectsV2", {"Name": "b", "KeyCount": 0}, "<ListBucketResult {ns}><Name>b</Name><KeyCount>0</KeyCount>"),
        ("CreateMultipartUpload", {"UploadId": "u"}, "<InitiateMultipartUploadResult {ns}><UploadId>u</UploadId>"),
        ("CompleteMultipartUpload", {"ETag": '"e"'}, '<CompleteMultipartUploadResult {ns}><ETag>"e"</ETag>'),
        ("GetBucketVersioning", {"Status": "Enabled"}, "<VersioningConfiguration {ns}><Status>Enabled</Status>"),
        ("ListBuckets", {"Buckets": []}, "<ListAllMyBucketsResult {ns}><Buckets></Buckets>"),
        ("GetBucketLocation", {"LocationConstraint": "eu-west-1"}, "<LocationConstraint {ns}>eu-west-1<"),
        ("ListObjects", {"Contents": [{"Key": "a\rb"}]}, "<ListBucketResult {ns}><Contents><Key>a&#13;b</Key>"),
        (
            "ListObjects",
            {"Contents": [{"LastModified": datetime(2009, 10, 12, 17, 50, 30, 123456, tzinfo=UTC)}]},
            "<Contents><LastModified>2009-10-12T17:50:30.123Z</LastModified>",
        ),
    ],
)
def test_result_documents(op_name: str, result: dict[str, Any], document: str) -> None:
    response = serialize_result(_op(op_name), result, REQUEST_ID)
    assert response.headers["Content-Type"] == "application/xml"
    text = response.body.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert document.format(ns=f'xmlns="{S3_NAMESPACE}"') in text


def test_result_headers() -> None:
    modified = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    result = {"Body": b"abc", "ContentLength": 3, "LastModified": modified, "Metadata": {"sha": "1"}, "ETag": '"e"'}
    response = serialize_result(_op("GetObject"), result, REQUEST_ID)
    assert response.body == b"abc"
    assert response.headers == {
        "x-amz-request-id": REQUEST_ID,
        "Content-Length": "3",
        "ETag": '"e"',
        "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
        "x-amz-meta-sha": "1",
        "Content-Type": "application/octet-stream",
    }


# ---------------------------------------------------------------------------------------------
# A small rest-xml model for what S3 does not exercise: maps (wrapped and flattened, with and
# without member names), lists of lists, doubles, blobs, a root named by the output shape and a
# namespace given by the service metadata.

_DOCUMENT_MEMBERS = {
    "Wrapped": {"shape": "WrappedMap"},
    "Flat": {"shape": "FlatMap", "locationName": "Pair"},
    "Matrix": {"shape": "Matrix"},
    "Letters": {"shape": "Letters", "locationName": "Letter"},
    "When": {"shape": "Time"},
    "Data": {"shape": "Data"},
    "Ratio": {"shape": "Ratio"},
}
_SYNTHETIC = {
    "metadata": {
        "protocol": "rest-xml", "apiVersion": "2020-01-01", "endpointPrefix": "synthetic",
        "serviceId": "Synthetic", "signatureVersion": "v4", "xmlNamespace": "https://synthetic.example/doc/",
    },
    "operations": {
        "Put": {
            "name": "Put", "http": {"method": "PUT", "requestUri": "/{Id}"},
            "input": {"shape": "PutInput"}, "output": {"shape": "PutOutput"},
        }
    },
    "shapes": {
        "PutInput": {
            "type": "structure", "required": ["Id"], "payload": "Document",
            "members": {
                "Id": {"shape": "Text", "location": "uri", "locationName": "Id"},
                "Document": {"shape": "Document", "locationName": "Doc"},
            },
        },
        "PutOutput": {"type": "structure", "locationName": "PutResult", "members": _DOCUMENT_MEMBERS},
        "Document": {"type": "structure", "members": _DOCUMENT_MEMBERS},
        "WrappedMap": {
            "type": "map", "key": {"shape": "Text", "locationName": "Name"}, "value": {"shape": "Document"}
        },
        "FlatMap": {"type": "map", "key": {"shape": "Text"}, "value": {"shape": "Number"}, "flattened": True},
        "Matrix": {"type": "list", "member": {"shape": "Row", "locationName": "Row"}},
        "Row": {"type": "list", "member": {"shape": "Number"}},
        "Letters": {"type": "list", "member": {"shape": "Text"}, "flattened": True},
        "Text": {"type": "string"},
        "Number": {"type": "integer"},
        "Time": {"type": "timestamp"},
        "Data": {"type": "blob"},
        "Ratio": {"type": "double"},
    },
}


@cache
def _synthetic() -> OperationModel:
    return ServiceModel(_SYNTHETIC, "synthetic").operation_model("Put")


@ROUNDTRIP
@given(data=st.data())
def test_synthetic_request_roundtrip(data: st.DataObject) -> None:
    op = _synthetic()
    params = data.draw(shape_params(op.input_shape, xml=True), label="input").params
    request = _wire_request(op, params)
    parsed = parse_request(op, request, {"Id": params["Id"]})
    assert _canonical(parsed) == _canonical(_input_on_the_wire(op.input_shape, params, request))


@ROUNDTRIP
@given(data=st.data())
def test_synthetic_response_roundtrip(data: st.DataObject) -> None:
    op = _synthetic()
    params = data.draw(shape_params(op.output_shape, with_nones=True, xml=True), label="output").params
    response = serialize_result(op, params, REQUEST_ID)
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><PutResult xmlns="https://synthetic')
    parsed = _botocore_parse(op, response.status, response.headers, response.body, op.output_shape)
    parsed.pop("ResponseMetadata")
    assert _canonical(parsed) == _canonical(_output_as_botocore_sees_it(op.output_shape, params, response))
