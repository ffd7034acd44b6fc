"""Byte ranges, conditional requests, bucket names and multipart ETags, against their specs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.domain.errors import InvalidInput
from otahub.domain.objects import (
    Conditions,
    NotModified,
    PreconditionFailed,
    RangeNotSatisfiable,
    check_bucket_name,
    multipart_etag,
    parse_range,
)

sizes = st.integers(min_value=0, max_value=10_000)
offsets = st.integers(min_value=0, max_value=12_000)


@given(sizes, offsets, offsets)
def test_closed_range_selects_the_bytes_python_slicing_selects(size: int, first: int, last: int) -> None:
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    header = f"bytes={first}-{last}"
    if last < first:
        assert parse_range(header, size) is None  # invalid: ignored, whole object
        return
    if first >= size:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, size)
        return
    selected = parse_range(header, size)
    assert selected is not None
    start, end = selected
    assert data[start : end + 1] == data[first : last + 1]


@given(sizes, st.integers(min_value=0, max_value=12_000))
def test_suffix_and_open_ranges(size: int, n: int) -> None:
    if size == 0 or n == 0:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(f"bytes=-{n}", size)
    else:
        assert parse_range(f"bytes=-{n}", size) == (max(0, size - n), size - 1)
    if n < size:
        assert parse_range(f"bytes={n}-", size) == (n, size - 1)


@given(st.text(max_size=20))
def test_garbage_range_headers_mean_the_whole_object_or_unsatisfiable(header: str) -> None:
    try:
        result = parse_range(header, 100)
    except RangeNotSatisfiable:
        return
    assert result is None or (0 <= result[0] <= result[1] <= 99)


def test_multipart_etag_is_md5_of_part_md5s() -> None:
    parts = [b"a" * 10, b"b" * 5]
    md5s = [hashlib.md5(p).hexdigest() for p in parts]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert multipart_etag(md5s) == f'"{expected}-2"'


@pytest.mark.parametrize("name", ["ab", "A-bucket", "-abc", "abc-", "a..b", "192.168.1.1", "x" * 64, "a_b"])
def test_bad_bucket_names(name: str) -> None:
    with pytest.raises(InvalidInput):
        check_bucket_name(name)


@pytest.mark.parametrize("name", ["abc", "firmware-images", "my.bucket.01", "x" * 63])
def test_good_bucket_names(name: str) -> None:
    check_bucket_name(name)


def test_read_conditions_follow_rfc_9110_order() -> None:
    modified = datetime(2026, 1, 1, tzinfo=UTC)
    etag = '"abc"'
    Conditions(if_match='"abc"').check_read(etag, modified)
    Conditions(if_match="*").check_read(etag, modified)
    with pytest.raises(PreconditionFailed):
        Conditions(if_match='"other"').check_read(etag, modified)
    with pytest.raises(NotModified):
        Conditions(if_none_match='"abc"').check_read(etag, modified)
    Conditions(if_none_match='"other"').check_read(etag, modified)
    with pytest.raises(NotModified):
        Conditions(if_modified_since=modified + timedelta(seconds=1)).check_read(etag, modified)
    with pytest.raises(PreconditionFailed):
        Conditions(if_unmodified_since=modified - timedelta(seconds=1)).check_read(etag, modified)
    # If-Match wins over If-Unmodified-Since when both are present
    Conditions(if_match='"abc"', if_unmodified_since=modified - timedelta(days=1)).check_read(etag, modified)


def test_write_conditions() -> None:
    Conditions(if_none_match="*").check_write(None)
    with pytest.raises(PreconditionFailed):
        Conditions(if_none_match="*").check_write('"abc"')
    Conditions(if_match='"abc"').check_write('"abc"')
    with pytest.raises(PreconditionFailed):
        Conditions(if_match='"abc"').check_write(None)
