"""Transport-neutral HTTP request and response values passed between the protocol modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass(slots=True)
class AwsRequest:
    method: str
    path: str  # raw, still percent-encoded, without the query string
    query_string: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes = b""

    def query_items(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)


@dataclass(slots=True)
class AwsResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
