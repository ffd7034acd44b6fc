"""Keyset pagination: a token names the last item returned, so pages stay stable while items are added.

The token also carries a fingerprint of the query, so a token cannot be replayed against another query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from otahub.domain.errors import InvalidInput

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


def fingerprint(*query: object) -> str:
    return hashlib.sha256(repr(query).encode()).hexdigest()[:16]


def decode_token(token: str | None, query_fingerprint: str) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
        after, _, mark = raw.partition(":")
        if mark != query_fingerprint:
            raise ValueError(raw)
        return int(after)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"The nextToken '{token}' is not valid for this request", field="nextToken") from exc


def encode_token(after: int, query_fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{after}:{query_fingerprint}".encode()).decode()


def paginate(
    fetch: Callable[[int, int], Sequence[tuple[int, T]]],
    token: str | None,
    max_results: int | None,
    *query: object,
) -> Page[T]:
    """Fetch one page via ``fetch(after, limit)`` (rows ordered by a stable, increasing key)."""
    mark = fingerprint(*query)
    limit = max_results or DEFAULT_PAGE_SIZE
    rows = fetch(decode_token(token, mark), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_token = encode_token(rows[-1][0], mark) if more and rows else None
    return Page([item for _, item in rows], next_token)
