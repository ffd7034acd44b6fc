"""Transport-neutral HTTP request and response values passed between the protocol modules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass(slots=True)
class AwsRequest:
    method: str
    path: str  # raw, still percent-encoded, without the query string
    query_string: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes = b""
    # A request body too large to hold in memory, already spooled to disk (S3 uploads); handlers
    # that take streaming payloads receive this object instead of ``body``.
    spooled: Any = None

    def query_items(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)


@dataclass(slots=True)
class AwsResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # A streamed body (S3 GetObject): chunks sent in order after the headers; Content-Length is
    # then taken from ``headers`` as the serializer set it.
    stream: Iterable[bytes] | None = None
