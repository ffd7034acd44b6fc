"""The wire codec of each AWS protocol: how a request is parsed and a result or error written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from otahub.aws import parser, serializer
from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.spec import OperationModel


@dataclass(frozen=True)
class Codec:
    parse_request: Callable[[OperationModel, AwsRequest, dict[str, str]], dict[str, Any]]
    serialize_result: Callable[[OperationModel, dict[str, Any], str], AwsResponse]
    serialize_error: Callable[[str, int, str, str, dict[str, Any] | None], AwsResponse]
    payload_signed_in_header: bool  # S3 signs x-amz-content-sha256, so auth needs no body


REST_JSON = Codec(parser.parse_request, serializer.serialize_result, serializer.serialize_error, False)


@cache
def codec_for(protocol: str) -> Codec:
    if protocol == "rest-xml":
        from otahub.aws import restxml

        return Codec(restxml.parse_request, restxml.serialize_result, restxml.serialize_error, True)
    return REST_JSON
