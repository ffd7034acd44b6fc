"""Stream blocks (ota-update-job.md section 3): which blocks a GetStream request wants, and its bitmap. Pure.

Block ``i`` of a file covers bytes ``i * block_size`` up to the next block or the end of the file (the
last block is short). A bitmap names blocks relative to an offset ``o``: block ``o + j`` is wanted iff bit
``j`` is set, bit ``j`` being bit ``j & 7`` (counted from the least significant) of byte ``j >> 3``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

MIN_BLOCK_SIZE = 256
MAX_BLOCK_SIZE = 131072
MAX_OFFSET = 98304
MAX_BLOCK_COUNT = 98304
MAX_BITMAP_BYTES = 12288  # a bitmap must be shorter than this
MAX_REQUEST_BYTES = 131072  # block bytes answered per request


def block_count(file_size: int, block_size: int) -> int:
    return -(-file_size // block_size)


def block_span(index: int, block_size: int, file_size: int) -> tuple[int, int]:
    """(start, end) of a block, end exclusive."""
    start = index * block_size
    return start, min(start + block_size, file_size)


def default_count(block_size: int) -> int:
    """``n`` when a request leaves it out: as many blocks as fit in one request's 128 KiB."""
    return MAX_REQUEST_BYTES // block_size


def bitmap_bits(bitmap: bytes) -> Iterator[int]:
    """The set bit positions of a bitmap, ascending."""
    for position, byte in enumerate(bitmap):
        if byte:
            for bit in range(8):
                if byte >> bit & 1:
                    yield position * 8 + bit


def decode_bitmap(bitmap: bytes, offset: int) -> list[int]:
    """The block numbers a bitmap names, ascending."""
    return list(decode_lazily(bitmap, offset))


def encode_bitmap(blocks: Iterable[int], offset: int) -> bytes:
    """The shortest bitmap naming these blocks relative to ``offset`` (each at least ``offset``)."""
    bits = sorted({block - offset for block in blocks})
    if bits and bits[0] < 0:
        raise ValueError(f"block {bits[0] + offset} lies before the offset {offset}")
    bitmap = bytearray(bits[-1] // 8 + 1 if bits else 0)
    for j in bits:
        bitmap[j >> 3] |= 1 << (j & 7)
    return bytes(bitmap)


def bitmap_to_hex(bitmap: bytes) -> str:
    """A bitmap's JSON form: ``"0x"`` and two hex digits per byte, first byte first."""
    return "0x" + bitmap.hex()


def bitmap_from_hex(text: str) -> bytes:
    """A JSON bitmap back to bytes; ValueError unless it is ``0x`` and whole bytes of hex digits [U]."""
    if text[:2] not in ("0x", "0X"):
        raise ValueError("a bitmap is a hex string starting with 0x")
    digits = text[2:]
    if len(digits) % 2 or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
        raise ValueError("a bitmap has two hex digits per byte")
    return bytes.fromhex(digits)


def blocks_wanted(offset: int, count: int | None, bitmap: bytes | None, block_size: int, file_size: int) -> list[int]:
    """The blocks to answer, ascending: those the bitmap names (without one, ``offset`` onwards) that lie
    in the file, at most ``count`` of them (None: the default), and no more than 128 KiB of them."""
    total = block_count(file_size, block_size)
    limit = default_count(block_size) if count is None else count
    candidates: Iterable[int] = range(offset, total) if bitmap is None else decode_lazily(bitmap, offset)
    chosen: list[int] = []
    size = 0
    for index in candidates:
        if index >= total or len(chosen) >= limit:
            break
        start, end = block_span(index, block_size, file_size)
        if size + end - start > MAX_REQUEST_BYTES:
            break
        chosen.append(index)
        size += end - start
    return chosen


def decode_lazily(bitmap: bytes, offset: int) -> Iterator[int]:
    return (offset + j for j in bitmap_bits(bitmap))
