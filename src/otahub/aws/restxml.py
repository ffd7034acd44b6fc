"""The rest-xml codec (S3): requests to input params, results and errors to responses, by the model.

``parser.parse_request`` reads the members bound to the URI, query string and headers (the rest
protocols bind them alike); this module reads and writes the body as botocore's rest-xml serializer
writes it and its parser reads it. Structures are elements with a child per member (named by its
``locationName``; ``xmlAttribute`` members are attributes); lists wrap one element per item (the
list member's ``locationName``, else ``member``) or, ``flattened``, repeat the items in the parent;
maps hold ``entry`` elements (or repeat, flattened) of key and value elements. Body timestamps are
ISO 8601 (written with milliseconds and ``Z``), header ones RFC 822, unless the model says.

Request documents may use any namespace (ignored); a DTD is refused, so no entity is ever expanded
or fetched. A streaming blob payload (``PutObject.Body``) is never read: the parameter is the
spooled file when the transport spooled the body, else the body bytes. botocore's S3 model drops
the ``xmlName`` of output structures, so ``_RESULT_ROOTS`` restores the root names that do not
follow ``<Operation>Result``. XML 1.0 cannot carry C0 controls other than tab, LF and CR (S3
clients ask for ``encoding-type=url`` when keys may hold them); CR is written ``&#13;`` to survive.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from typing import Any

from otahub.aws import parser
from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.parser import InputError, parse_timestamp
from otahub.aws.serializer import bind_outside_body
from otahub.aws.spec import OperationModel, ServiceModel, Shape

XML = "application/xml"
MALFORMED_XML = "MalformedXML"
MALFORMED_MESSAGE = "The XML you provided was not well-formed or did not validate against our published schema"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)
_RESULT_ROOTS = {
    "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
    "DeleteObjectsOutput": "DeleteResult",
    "GetBucketAccelerateConfigurationOutput": "AccelerateConfiguration",
    "GetBucketAclOutput": "AccessControlPolicy",
    "GetBucketCorsOutput": "CORSConfiguration",
    "GetBucketLifecycleOutput": "LifecycleConfiguration",
    "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
    "GetBucketLocationOutput": "LocationConstraint",
    "GetBucketLoggingOutput": "BucketLoggingStatus",
    "NotificationConfigurationDeprecated": "NotificationConfiguration",
    "GetBucketRequestPaymentOutput": "RequestPaymentConfiguration",
    "GetBucketTaggingOutput": "Tagging",
    "GetBucketVersioningOutput": "VersioningConfiguration",
    "GetBucketWebsiteOutput": "WebsiteConfiguration",
    "GetObjectAclOutput": "AccessControlPolicy",
    "GetObjectAttributesOutput": "GetObjectAttributesResponse",
    "GetObjectTaggingOutput": "Tagging",
    "ListBucketAnalyticsConfigurationsOutput": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurationsOutput": "ListBucketIntelligentTieringConfigurationsOutput",
    "ListBucketInventoryConfigurationsOutput": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurationsOutput": "ListMetricsConfigurationsResult",
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "ListDirectoryBucketsOutput": "ListAllMyDirectoryBucketsResult",
    "ListObjectVersionsOutput": "ListVersionsResult",
    "ListObjectsOutput": "ListBucketResult",
    "ListObjectsV2Output": "ListBucketResult",
}


# ---------------------------------------------------------------------------------------------
# Requests


def parse_request(op: OperationModel, request: AwsRequest, labels: dict[str, str]) -> dict[str, Any]:
    params = parser.parse_request(op, replace(request, body=b"", spooled=None), labels)
    shape = op.input_shape
    if shape is None:
        return params
    payload = shape.serialization.get("payload")
    if payload:
        _read_payload(shape.members[payload], payload, request, params)
        return params
    body_members = {n: m for n, m in shape.members.items() if not m.serialization.get("location")}
    if body_members and request.body.strip():
        root = _document(request.body, shape.serialization.get("name", shape.name))
        params.update(_members(body_members, root, ""))
    return params


def _read_payload(member: Shape, name: str, request: AwsRequest, params: dict[str, Any]) -> None:
    if member.type_name == "blob" and member.serialization.get("streaming"):
        params[name] = request.spooled if request.spooled is not None else request.body
    elif member.type_name == "blob":
        if request.body:
            params[name] = request.body
    elif member.type_name == "string":
        if request.body:
            params[name] = request.body.decode("utf-8", errors="replace")
    elif request.body.strip():
        root = _document(request.body, member.serialization.get("name", name))
        params[name] = _members(member.members, root, f"{name}.")


class _NoDoctype(ET.TreeBuilder):
    """Refuses any DTD, hence every entity declaration (billion laughs, external entities)."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise ValueError("a DTD is not accepted")


def _document(body: bytes, root_name: str) -> ET.Element:
    xml_parser = ET.XMLParser(target=_NoDoctype())
    try:
        xml_parser.feed(body)
        root: ET.Element = xml_parser.close()
    except (ET.ParseError, ValueError) as exc:
        raise InputError("body", MALFORMED_MESSAGE, MALFORMED_XML) from exc
    if _local(root.tag) != root_name:
        raise InputError("body", f"{MALFORMED_MESSAGE} (expected root element {root_name})", MALFORMED_XML)
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _flattened(shape: Shape) -> bool:
    return shape.type_name in ("list", "map") and bool(shape.serialization.get("flattened"))


def _members(members: dict[str, Shape], element: ET.Element, prefix: str) -> dict[str, Any]:
    children: dict[str, list[ET.Element]] = {}
    for child in element:
        children.setdefault(_local(child.tag), []).append(child)
    claimed = {m.serialization.get("name", n) for n, m in members.items() if _flattened(m)}
    out: dict[str, Any] = {}
    for name, member in members.items():
        path = f"{prefix}{name}"
        if not _flattened(member) and member.serialization.get("name", name) in claimed:
            continue  # a flattened list's items take the elements it shares with another member
        if member.serialization.get("xmlAttribute"):
            raw = _attribute(element, member.serialization.get("name", name))
            if raw is not None:
                out[name] = _scalar(member, raw, path)
            continue
        nodes = _member_nodes(member, name, children)
        if nodes:
            out[name] = _value(member, nodes, path)
    return out


def _attribute(element: ET.Element, name: str) -> str | None:
    wanted = name.rpartition(":")[2]  # "xsi:type" arrives as "{http://www.w3.org/...}type"
    return next((value for key, value in element.attrib.items() if _local(key) == wanted), None)


def _member_nodes(member: Shape, name: str, children: dict[str, list[ET.Element]]) -> list[ET.Element]:
    wire = member.serialization.get("name", name)
    if not _flattened(member):
        return children.get(wire, [])[:1]
    nodes = children.get(wire)
    if nodes is None and member.type_name == "list":
        nodes = children.get(member.member.serialization.get("name", ""))
    return nodes or []


def _value(shape: Shape, nodes: list[ET.Element], path: str) -> Any:
    """The value of a member from its element (or, for a flattened collection, its elements)."""
    if shape.type_name == "list":
        items = nodes if _flattened(shape) else list(nodes[0])
        return [_element(shape.member, item, f"{path}.member") for item in items]
    if shape.type_name == "map":
        entries = nodes if _flattened(shape) else list(nodes[0])
        pairs = (_entry(shape, entry, path) for entry in entries)
        return {key: value for key, value in pairs if value is not None}
    return _element(shape, nodes[0], path)


def _element(shape: Shape, element: ET.Element, path: str) -> Any:
    if shape.type_name == "structure":
        return _members(shape.members, element, f"{path}.")
    if shape.type_name in ("list", "map"):
        return _value(shape, [element], path)
    return _scalar(shape, element.text or "", path)


def _entry(shape: Shape, entry: ET.Element, path: str) -> tuple[str, Any]:
    parts = {_local(child.tag): child for child in entry}
    key_node = parts.get(shape.key.serialization.get("name", "key"))
    if key_node is None:
        raise InputError(path, f"A map entry of '{path}' has no key", MALFORMED_XML)
    key = key_node.text or ""
    value_node = parts.get(shape.value.serialization.get("name", "value"))
    value = None if value_node is None else _element(shape.value, value_node, f"{path}.{key}")
    return key, value


def _scalar(shape: Shape, text: str, path: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text.strip())
        if kind in ("float", "double"):
            return float(text.strip())
        if kind == "boolean":
            if text.strip() not in ("true", "false"):
                raise ValueError(text)
            return text.strip() == "true"
        if kind == "timestamp":
            return parse_timestamp(text.strip(), shape.serialization.get("timestampFormat", "iso8601"))
        if kind == "blob":
            return base64.b64decode("".join(text.split()), validate=True)
    except (ValueError, binascii.Error, OverflowError) as exc:
        raise InputError(path, f"Value '{text}' at '{path}' is not a valid {kind}", MALFORMED_XML) from exc
    return text


# ---------------------------------------------------------------------------------------------
# Results


def serialize_result(op: OperationModel, result: dict[str, Any], request_id: str) -> AwsResponse:
    headers = {"x-amz-request-id": request_id}
    shape = op.output_shape
    if shape is None:
        return _response(int(op.http.get("responseCode", 200)), headers, "", None)
    status, body_members = bind_outside_body(op, shape, result, headers, lower_prefixed=True)  # as S3 does
    payload = shape.serialization.get("payload")
    if payload:
        return _payload_response(op, status, headers, shape.members[payload], payload, result.get(payload))
    if not body_members:
        return _response(status, headers, "", None)
    root = shape.serialization.get("name") or _RESULT_ROOTS.get(shape.name) or _result_name(shape.name)
    attributes = _namespace(shape) or _default_namespace(op.service_model)
    return _response(status, headers, _root_xml(body_members, result, root, attributes), XML)


def serialize_error(
    code: str, status: int, message: str, request_id: str, fields: dict[str, Any] | None = None
) -> AwsResponse:
    """S3's error document: ``<Error>`` (no namespace) with Code, Message, the extra fields and
    RequestId. Whether a HEAD answer drops the body is the caller's decision."""
    extra = {k: v for k, v in (fields or {}).items() if v is not None and k not in ("Code", "Message", "RequestId")}
    items = {"Code": code, "Message": message, **{k: str(v) for k, v in extra.items()}, "RequestId": request_id}
    body = _DECLARATION + _tag("Error", {}, "".join(_tag(k, {}, _escape(v)) for k, v in items.items()))
    return AwsResponse(status, {"x-amz-request-id": request_id, "Content-Type": XML}, body.encode())


def _result_name(shape_name: str) -> str:
    return shape_name.removesuffix("Output") + "Result" if shape_name.endswith("Output") else shape_name


def _response(status: int, headers: dict[str, str], xml: str, content_type: str | None) -> AwsResponse:
    if status == 204 or content_type is None:
        return AwsResponse(status, headers, b"")
    headers["Content-Type"] = content_type
    return AwsResponse(status, headers, (_DECLARATION + xml).encode())


def _payload_response(
    op: OperationModel, status: int, headers: dict[str, str], member: Shape, name: str, value: Any
) -> AwsResponse:
    if member.serialization.get("eventstream"):  # chunks already in the event-stream encoding
        return _raw_response(status, headers, value or b"", "application/vnd.amazon.eventstream")
    if member.type_name == "blob":
        return _raw_response(status, headers, value or b"", "application/octet-stream")
    if member.type_name == "string":
        return _raw_response(status, headers, (value or "").encode(), "text/plain")
    root = member.serialization.get("name", name)
    attributes = _namespace(member) or _default_namespace(op.service_model)
    return _response(status, headers, _root_xml(member.members, value or {}, root, attributes), XML)


def _raw_response(status: int, headers: dict[str, str], value: bytes | Iterable[bytes], ctype: str) -> AwsResponse:
    if not any(key.lower() == "content-type" for key in headers):
        headers["Content-Type"] = ctype
    if isinstance(value, bytes | bytearray):
        return AwsResponse(status, headers, bytes(value))
    return AwsResponse(status, headers, b"", stream=value)  # never read here: the transport streams it


def _root_xml(members: dict[str, Shape], value: dict[str, Any], root: str, attributes: dict[str, str]) -> str:
    if len(members) == 1:
        ((name, member),) = members.items()
        if member.type_name not in ("structure", "list", "map") and member.serialization.get("name", name) == root:
            # The only member names the root itself (S3's <LocationConstraint>eu-west-1</...>).
            item = value.get(name)
            return _tag(root, attributes, "" if item is None else _escape(_text(member, item)))
    return _structure_xml(members, value, root, attributes)


def _xml(shape: Shape, value: Any, name: str) -> str:
    kind = shape.type_name
    if kind == "structure":
        return _structure_xml(shape.members, value, name, _namespace(shape))
    if kind == "list":
        if _flattened(shape):  # botocore reads repeated items by the list member's name, if any
            item_name = shape.member.serialization.get("name", name)
            return "".join(_xml(shape.member, item, item_name) for item in value)
        item_name = shape.member.serialization.get("name", "member")
        return _tag(name, _namespace(shape), "".join(_xml(shape.member, item, item_name) for item in value))
    if kind == "map":
        return _map_xml(shape, value, name)
    return _tag(name, _namespace(shape), _escape(_text(shape, value)))


def _structure_xml(members: dict[str, Shape], value: dict[str, Any], name: str, attributes: dict[str, str]) -> str:
    attributes = dict(attributes)
    inner: list[str] = []
    for key, member in members.items():
        item = value.get(key)
        if item is None:
            continue
        wire = member.serialization.get("name", key)
        if member.serialization.get("xmlAttribute"):
            attributes[wire] = _text(member, item)
        else:
            inner.append(_xml(member, item, wire))
    return _tag(name, attributes, "".join(inner))


def _map_xml(shape: Shape, value: dict[str, Any], name: str) -> str:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    flat = _flattened(shape)
    entries = "".join(
        _tag(name if flat else "entry", {}, _xml(shape.key, key, key_name) + _xml(shape.value, item, value_name))
        for key, item in value.items()
        if item is not None
    )
    return entries if flat else _tag(name, _namespace(shape), entries)


def _tag(name: str, attributes: dict[str, str], inner: str) -> str:
    spelled = "".join(f' {key}="{value.translate(_ATTRIBUTE_ESCAPES)}"' for key, value in attributes.items())
    return f"<{name}{spelled}>{inner}</{name}>"


def _escape(text: str) -> str:
    return text.translate(_TEXT_ESCAPES)


def _namespace(shape: Shape) -> dict[str, str]:
    namespace = shape.serialization.get("xmlNamespace")
    if namespace is None:
        return {}
    if isinstance(namespace, str):
        return {"xmlns": namespace}
    prefix = namespace.get("prefix")
    return {f"xmlns:{prefix}" if prefix else "xmlns": namespace["uri"]}


@cache
def _default_namespace(service: ServiceModel) -> dict[str, str]:
    """The service's document namespace: the model's, else the one its request payloads declare
    (botocore's S3 model only gives it there)."""
    declared = service.metadata.get("xmlNamespace")
    if isinstance(declared, str):
        return {"xmlns": declared}
    for name in service.operation_names:
        shape = service.operation_model(name).input_shape
        payload = shape.serialization.get("payload") if shape is not None else None
        namespace = _namespace(shape.members[payload]) if shape is not None and payload else {}
        if "xmlns" in namespace:
            return {"xmlns": namespace["xmlns"]}
    return {}


def _text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return _timestamp(value, shape.serialization.get("timestampFormat", "iso8601"))
    if kind == "blob":
        return base64.b64encode(value).decode()
    return str(value)


def _timestamp(value: datetime, fmt: str) -> str:
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if fmt == "rfc822":
        return format_datetime(value, usegmt=True)
    if fmt == "unixTimestamp":
        return f"{value.timestamp():.3f}"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
