"""Keyset pagination over generated data and insertions between pages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.domain.errors import InvalidInput
from otahub.services.pagination import decode_token, encode_token, fingerprint, paginate


@given(
    initial=st.integers(min_value=0, max_value=60),
    page_size=st.integers(min_value=1, max_value=10),
    inserts=st.lists(st.integers(min_value=0, max_value=4), max_size=30),
)
def test_pages_never_skip_or_repeat_while_rows_are_appended(initial: int, page_size: int, inserts: list[int]) -> None:
    rows = list(range(1, initial + 1))
    seen: list[int] = []
    token = None
    for step in range(1000):
        page = paginate(lambda after, n: [(r, r) for r in rows if r > after][:n], token, page_size, "q")
        seen.extend(page.items)
        assert len(page.items) <= page_size
        added = inserts[step] if step < len(inserts) else 0
        rows.extend(range(len(rows) + 1, len(rows) + 1 + added))
        token = page.next_token
        if token is None:
            break
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert set(range(1, initial + 1)) <= set(seen)


@given(st.integers(min_value=0, max_value=2**40), st.text(max_size=20))
def test_token_round_trip_and_binding_to_query(after: int, query: str) -> None:
    mark = fingerprint(query)
    assert decode_token(encode_token(after, mark), mark) == after
    with pytest.raises(InvalidInput):
        decode_token(encode_token(after, mark), fingerprint(query + "x"))


@given(st.text(max_size=30))
def test_garbage_tokens_are_invalid_input(token: str) -> None:
    mark = fingerprint("q")
    try:
        decode_token(token, mark)
    except InvalidInput as error:
        assert error.field == "nextToken"
