"""Blocks and bitmaps of GetStream (ota-update-job.md section 3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.domain.blocks import (
    MAX_REQUEST_BYTES,
    bitmap_from_hex,
    bitmap_to_hex,
    blocks_wanted,
    decode_bitmap,
    encode_bitmap,
)


def test_the_specs_worked_example() -> None:
    assert encode_bitmap([20, 21, 24, 43], 20) == bytes([0x13, 0x00, 0x80])
    assert bitmap_to_hex(bytes([0x13, 0x00, 0x80])) == "0x130080"
    assert decode_bitmap(bitmap_from_hex("0x130080"), 20) == [20, 21, 24, 43]
    assert bitmap_from_hex("0X13aBcD") == bytes([0x13, 0xAB, 0xCD])


def test_bitmap_edges() -> None:
    assert encode_bitmap([], 5) == b"" and decode_bitmap(b"", 5) == [] and bitmap_to_hex(b"") == "0x"
    assert encode_bitmap([7], 0) == b"\x80" and encode_bitmap([8], 0) == b"\x00\x01"
    with pytest.raises(ValueError, match="before the offset"):
        encode_bitmap([3], 4)


@pytest.mark.parametrize("text", ["130080", "0x1", "0x13008", "0xg0", "0x 1", "x13", ""])
def test_malformed_hex_bitmaps(text: str) -> None:
    with pytest.raises(ValueError):
        bitmap_from_hex(text)


@given(st.sets(st.integers(0, 3000)), st.integers(0, 3000))
def test_encode_decode_round_trip(relative: set[int], offset: int) -> None:
    blocks = {offset + j for j in relative}
    bitmap = encode_bitmap(blocks, offset)
    assert decode_bitmap(bitmap, offset) == sorted(blocks)
    assert bitmap == b"" or bitmap[-1] != 0  # the shortest form
    assert bitmap_from_hex(bitmap_to_hex(bitmap)) == bitmap


@given(st.binary(max_size=400), st.integers(0, 98304))
def test_decode_encode_round_trip(bitmap: bytes, offset: int) -> None:
    assert encode_bitmap(decode_bitmap(bitmap, offset), offset) == bitmap.rstrip(b"\x00")


def direct(offset: int, count: int | None, bitmap: bytes | None, block_size: int, file_size: int) -> list[int]:
    """blocks_wanted by the spec's words, block by block."""
    blocks = (file_size + block_size - 1) // block_size

    def asked(k: int) -> bool:
        j = k - offset
        if j < 0:
            return False
        if bitmap is None:
            return True
        return j < 8 * len(bitmap) and bool(bitmap[j // 8] & (1 << (j % 8)))

    limit = MAX_REQUEST_BYTES // block_size if count is None else count
    picked: list[int] = []
    for k in [k for k in range(blocks) if asked(k)][:limit]:
        if sum(min(block_size, file_size - i * block_size) for i in [*picked, k]) > MAX_REQUEST_BYTES:
            break
        picked.append(k)
    return picked


@given(st.integers(0, 300), st.one_of(st.none(), st.integers(0, 600)), st.one_of(st.none(), st.binary(max_size=80)),
       st.integers(256, 131072), st.integers(0, 600_000))
def test_blocks_wanted_is_the_direct_computation(
    offset: int, count: int | None, bitmap: bytes | None, block_size: int, file_size: int
) -> None:
    assert blocks_wanted(offset, count, bitmap, block_size, file_size) == direct(
        offset, count, bitmap, block_size, file_size)


def test_blocks_wanted_examples() -> None:
    size = 4096 * 100 + 10
    assert blocks_wanted(0, None, None, 4096, size) == list(range(32))  # 128 KiB by default
    assert blocks_wanted(0, 1000, None, 4096, size) == list(range(32))  # and at most 128 KiB
    assert blocks_wanted(98, 5, None, 4096, size) == [98, 99, 100]  # clipped to the end, last one short
    assert blocks_wanted(101, 5, None, 4096, size) == []
    assert blocks_wanted(20, 3, encode_bitmap([20, 21, 24, 43], 20), 4096, size) == [20, 21, 24]
    assert blocks_wanted(0, 0, None, 4096, size) == []
    assert blocks_wanted(0, None, None, 131072, 131072 + 5) == [0]
    assert blocks_wanted(0, None, None, 100_000, 120_000) == [0]  # n defaults to 131072 // l
    assert blocks_wanted(0, 2, None, 100_000, 120_000) == [0, 1]  # a short last block fits in the 128 KiB
