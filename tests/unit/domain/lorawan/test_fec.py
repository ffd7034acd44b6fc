"""TS004 FEC (lorawan-fuota.md 1.3-1.5): parity rows, encoder, decoder, v2 MIC."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.domain.errors import InvalidState
from otahub.domain.lorawan.fec import (
    MAX_COUNTER,
    AddResult,
    FragmentDecoder,
    PackageVersion,
    RedundancyPercent,
    coded_fragment_count,
    data_block_int_key,
    data_block_mic,
    encode,
    fragment_count,
    padding_for,
    parity_matrix,
    parity_row,
    prbs23,
)

# --- an independent reference: the spec's pseudo-code on Python ints -----------------------------------------


def reference_row(y: int, m: int, version: int) -> int:
    """Row y as an int, bit j = fragment j + 1 (lorawan-fuota.md 1.3, written out as plainly as possible)."""
    bits = [0] * m
    span = m + 1 if bin(m).count("1") == 1 else m
    x = 1 + 1001 * y
    count = 0
    while count < m // 2:
        r = 65536
        while r >= m:
            x = (x >> 1) + (((x ^ (x >> 5)) & 1) << 22)
            r = x % span
        if version == 1 or bits[r] == 0:  # v1 spends a repeated draw, v2 draws again
            bits[r] = 1
            count += 1
    return sum(bit << j for j, bit in enumerate(bits))


class ReferenceRank:
    """Rank over GF(2) of the rows seen so far, by plain elimination on ints."""

    def __init__(self) -> None:
        self.pivots: dict[int, int] = {}

    def add(self, row: int) -> None:
        while row:
            top = row.bit_length() - 1
            if top not in self.pivots:
                self.pivots[top] = row
                return
            row ^= self.pivots[top]

    @property
    def rank(self) -> int:
        return len(self.pivots)


def fragments_of(mask: int) -> list[int]:
    return [j + 1 for j in range(mask.bit_length()) if mask >> j & 1]


def ones(row: np.ndarray) -> list[int]:
    return [int(j) + 1 for j in np.flatnonzero(row)]


# --- parity rows ----------------------------------------------------------------------------------------------

SPEC_ROWS = {  # lorawan-fuota.md 1.3 worked example, M = 10: y -> (v1 row, v2 row), j = 1..10
    1: ("0010010000", "0111010001"),
    2: ("1010110001", "1010110001"),
    3: ("0101011100", "0101011100"),
    4: ("1110100000", "1110100001"),
    5: ("0001010110", "0001110110"),
}


@pytest.mark.parametrize("version", [1, 2])
def test_the_specs_worked_example_rows(version: int) -> None:
    matrix = parity_matrix(10, 5, version)
    for y, rows in SPEC_ROWS.items():
        expected = rows[version - 1]
        assert "".join("1" if b else "0" for b in parity_row(y, 10, version)) == expected
        assert "".join("1" if b else "0" for b in matrix[y - 1]) == expected


def test_the_specs_extra_rows() -> None:
    assert ones(parity_row(1, 6, 2)) == [1, 2, 5]
    # M = 8 is a power of two: draws are taken mod 9 and 8 is discarded
    assert [ones(r) for r in parity_matrix(8, 4, 1)] == [[1, 2, 5, 7], [1, 5, 8], [1, 2, 4, 7], [3, 5, 6]]
    assert [ones(r) for r in parity_matrix(8, 4, 2)] == [[1, 2, 5, 7], [1, 4, 5, 8], [1, 2, 4, 7], [3, 5, 6, 7]]


def test_prbs23_steps_like_the_references() -> None:
    assert prbs23(1001) == 0x1F4 and prbs23(0x1F4) == 0x4000FA  # the sequence a Rust TS004 crate documents
    # '+', not '|': at or above 2^23 the feedback bit carries into bit 23 (seeds of y > 8380)
    assert prbs23((1 << 23) | 1) == 1 << 23
    assert prbs23(1 + 1001 * 16000) == ((1 + 1001 * 16000) >> 1) + (1 << 22)


@pytest.mark.parametrize("m", [1, 2, 3, 7, 8, 16, 33, 100, 257])
@pytest.mark.parametrize("version", [1, 2])
def test_lockstep_rows_equal_the_reference_rows(m: int, version: int) -> None:
    starts = [1, 8300, MAX_COUNTER - m - 120]  # across the carry region of prbs23 (y > 8380)
    for first in starts:
        matrix = parity_matrix(m, 120, version, first=first)
        for i, row in enumerate(matrix):
            expected = reference_row(first + i, m, version)
            assert sum(1 << int(j) for j in np.flatnonzero(row)) == expected
            assert np.array_equal(row, parity_row(first + i, m, version))


@pytest.mark.parametrize("version", [1, 2])
def test_lockstep_rows_of_a_1_mib_image(version: int) -> None:
    """NbFrag 5243 (1 MiB in 200-byte fragments): the passes, the v2 tail and its undo at full scale."""
    matrix = parity_matrix(5243, 40, version, first=2600)
    for i, row in enumerate(matrix):
        assert sum(1 << int(j) for j in np.flatnonzero(row)) == reference_row(2600 + i, 5243, version)


@given(st.integers(2, 3000), st.integers(1, MAX_COUNTER - 3000))
@settings(max_examples=40, deadline=None)
def test_v2_rows_have_exactly_half_the_fragments_v1_at_most(m: int, y: int) -> None:
    assert parity_row(y, m, 2).sum() == m // 2
    assert 1 <= parity_row(y, m, 1).sum() <= m // 2


# --- encoder --------------------------------------------------------------------------------------------------


def test_the_specs_test_vector() -> None:
    block = bytes(range(20))
    v1 = encode(block, 2, RedundancyPercent(50), version=1)
    v2 = encode(block, 2, 5, version=2)
    assert v1.nb_frag == v2.nb_frag == 10 and v1.coded == v2.coded == 5 and v1.padding == 0
    assert v1.fragments[:10] == v2.fragments[:10] == tuple(bytes([2 * k, 2 * k + 1]) for k in range(10))
    assert b"".join(v1.fragments[10:]).hex() == "0e0e14150c0d0e0e1212"
    assert b"".join(v2.fragments[10:]).hex() == "181914150c0d1c1d1a1b"
    assert v2.fragment(11) == bytes.fromhex("1819") and v2.version is PackageVersion.V2
    with pytest.raises(ValueError):
        v2.fragment(16)


def test_brocaar_lorawan_v1_encoder_vector() -> None:
    """brocaar/lorawan applayer/fragmentation encode_test.go (v1): 100 bytes, FragSize 10, 10 coded."""
    coded = encode(bytes(range(100)), 10, 10, version=1).fragments[10:]
    assert [f.hex() for f in coded] == [
        "262622222e2e22222626", "5455565758596a6b7c7d", "5c5d6e6f101102030405", "363632323e3e22223636",
        "3a3a0e0e0a0a06060a0a", "0e0e3232363622223e3e", "02020e0e727276766262", "1e1e1a1a66665a5a4e4e",
        "1a1b1c1d1e1f30312223", "22232425262718190a0b",
    ]


def test_padding_and_redundancy_percent() -> None:
    assert coded_fragment_count(10, 50) == 5  # the AWS model doc: (100 / 10) + (100 / 10 * 50 %) = 15
    assert coded_fragment_count(7, 50) == 4 and coded_fragment_count(7, 0) == 0 and coded_fragment_count(7, 100) == 7
    assert fragment_count(21, 2) == 11 and padding_for(21, 2) == 1 and padding_for(20, 2) == 0
    image = encode(bytes(range(1, 22)), 2, RedundancyPercent(30))
    assert image.nb_frag == 11 and image.padding == 1 and image.coded == 4
    assert image.fragment(11) == bytes([21, 0])  # the last uncoded fragment is zero-filled
    for y in range(1, 5):  # coded fragments are XORs over the padded block
        expected = 0
        for j in fragments_of(reference_row(y, 11, 2)):
            expected ^= int.from_bytes(image.fragment(j), "big")
        assert image.fragment(11 + y) == expected.to_bytes(2, "big")


@pytest.mark.parametrize(("image", "frag_size", "redundancy"), [
    (b"", 10, 1), (b"x", 0, 1), (b"x", 256, 1), (b"x", 1, -1), (bytes(MAX_COUNTER), 1, 1),
    (b"x", 1, RedundancyPercent(101)),
])
def test_encode_refuses(image: bytes, frag_size: int, redundancy: int | RedundancyPercent) -> None:
    with pytest.raises(ValueError):
        encode(image, frag_size, redundancy)


def test_rows_refuse_what_the_references_do_not_define() -> None:
    for call in (lambda: parity_row(1, 4, 3), lambda: parity_row(0, 4), lambda: parity_matrix(0, 1),
                 lambda: parity_matrix(4, 1, first=0), lambda: encode(b"x", 1, 1, version=0)):
        with pytest.raises(ValueError):
            call()


# --- decoder --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "recovered"), [(1, 43), (2, 44)])
def test_two_lost_fragments_of_the_example(version: int, recovered: int) -> None:
    """The spec's interop check: LoRaMac-node's v1 decoder recovered 43 of the 45 patterns, LBM's v2 44."""
    block = bytes(range(20))
    image = encode(block, 2, 5, version=version)
    done = 0
    for lost in itertools.combinations(range(1, 11), 2):
        decoder = FragmentDecoder(10, 2, version=version)
        rank = ReferenceRank()
        for n in range(1, 16):
            if n in lost:
                continue
            decoder.add(n, image.fragment(n))
            rank.add(1 << (n - 1) if n <= 10 else reference_row(n - 10, 10, version))
        assert decoder.complete == (rank.rank == 10)
        if decoder.complete:
            assert decoder.image() == block
            done += 1
    assert done == recovered


@st.composite
def sessions(draw: st.DrawFn) -> tuple[bytes, int, int, int, list[int]]:
    frag_size = draw(st.integers(1, 24))
    size = draw(st.integers(1, 300 * frag_size if draw(st.booleans()) else 12 * frag_size))
    nb_frag = fragment_count(size, frag_size)
    coded = draw(st.integers(0, min(nb_frag + 8, MAX_COUNTER - nb_frag)))
    version = draw(st.sampled_from([1, 2]))
    seed = draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    loss = draw(st.sampled_from([0.0, 0.05, 0.2, 0.4, 0.7]))
    image = rng.randbytes(size)
    received = [n for n in range(1, nb_frag + coded + 1) if rng.random() >= loss]
    return image, frag_size, coded, version, received


def expected_lost(added: list[int], m: int) -> int:
    """The reference's FragNbLost: gaps below the last uncoded N; all unreceived once a coded one came."""
    uncoded = {n for n in added if n <= m}
    top = m if any(n > m for n in added) else max(uncoded, default=0)
    return sum(1 for k in range(1, top + 1) if k not in uncoded)


@given(sessions())
@settings(max_examples=60, deadline=None)
def test_decoding_succeeds_exactly_at_full_rank(session: tuple[bytes, int, int, int, list[int]]) -> None:
    image, frag_size, coded, version, received = session
    encoded = encode(image, frag_size, coded, version=version)
    m = encoded.nb_frag
    decoder = FragmentDecoder(m, frag_size, padding=encoded.padding, version=version)
    rank, added = ReferenceRank(), []
    for n in received:
        rank.add(1 << (n - 1) if n <= m else reference_row(n - m, m, version))
        added.append(n)
        result = decoder.add(n, encoded.fragment(n))
        assert decoder.complete == (rank.rank == m)  # never early, never late
        assert result is (AddResult.COMPLETE if rank.rank == m else AddResult.ONGOING)
        if decoder.complete:
            break
    status = decoder.status()
    assert status.complete == decoder.complete and status.received == len(added)
    assert status.missing == m - rank.rank and status.lost == expected_lost(added, m)
    if decoder.complete:
        assert decoder.image() == image
    else:
        with pytest.raises(InvalidState):
            decoder.image()


@pytest.mark.parametrize("version", [1, 2])
def test_a_large_session_through_the_batch_paths(version: int) -> None:
    rng = random.Random(version)
    block = rng.randbytes(700 * 50 - 17)
    encoded = encode(block, 50, RedundancyPercent(60), version=version)
    decoder = FragmentDecoder(encoded.nb_frag, 50, padding=encoded.padding, version=version)
    received = [n for n in range(1, len(encoded.fragments) + 1) if rng.random() >= 0.3]
    midway = received.index(next(n for n in received if n > encoded.nb_frag)) + 100
    for i, n in enumerate(received):
        if i == midway:  # a status request in the middle reduces what is stored so far, exactly
            status = decoder.status()
            assert status.lost > 0 and status.missing == status.lost - 100 and not status.complete
        if decoder.add(n, encoded.fragment(n)) is AddResult.COMPLETE:
            break
    assert decoder.complete and decoder.image() == block
    assert decoder.status().missing == 0


def test_decoder_follows_the_reference_rules() -> None:
    encoded = encode(bytes(range(20)), 2, 5)
    decoder = FragmentDecoder(10, 2, max_lost=3)
    assert decoder.add(2, encoded.fragment(2)) is AddResult.ONGOING
    assert decoder.add(5, encoded.fragment(5)) is AddResult.ONGOING
    assert decoder.add(3, encoded.fragment(3)) is AddResult.IGNORED  # below the last N: dropped
    assert decoder.add(5, encoded.fragment(5)) is AddResult.ONGOING  # the same N again is taken
    status = decoder.status()
    assert (status.received, status.last_counter, status.lost, status.missing) == (3, 5, 3, 8)
    assert decoder.add(12, encoded.fragment(12)) is AddResult.FAILED  # 1, 3, 4, 6..10 lost > max_lost 3
    assert decoder.status().memory_error and decoder.add(13, encoded.fragment(13)) is AddResult.FAILED


def test_decoder_after_completion_and_its_arguments() -> None:
    block = bytes(range(19))
    encoded = encode(block, 2, 3)
    decoder = FragmentDecoder(10, 2, padding=1)
    for n in range(1, 11):
        decoder.add(n, encoded.fragment(n))
    assert decoder.complete and decoder.image() == block
    assert decoder.add(11, encoded.fragment(11)) is AddResult.COMPLETE and decoder.image() == block
    with pytest.raises(ValueError):
        decoder.add(0, b"ab")
    with pytest.raises(ValueError):
        decoder.add(11, b"abc")
    for make in (lambda: FragmentDecoder(0, 2), lambda: FragmentDecoder(10, 0),
                 lambda: FragmentDecoder(10, 2, padding=20), lambda: FragmentDecoder(10, 2, version=3)):
        with pytest.raises(ValueError):
            make()


def test_a_v1_stream_does_not_decode_as_v2() -> None:
    block = bytes(range(20))
    encoded = encode(block, 2, 5, version=1)
    decoder = FragmentDecoder(10, 2, version=2)
    for n in [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]:  # 1 and 2 lost
        decoder.add(n, encoded.fragment(n))
    assert decoder.complete and decoder.image() != block  # the spec's warning: versions must match


# --- v2 MIC ---------------------------------------------------------------------------------------------------


def test_the_specs_mic_example() -> None:
    key = data_block_int_key(bytes(range(16)))
    assert key.hex() == "017a8bd9ecd102ba4bb7946d3d8707e0"
    mic = data_block_mic(key, bytes(range(20)), session_cnt=1, frag_index=0, descriptor=bytes([1, 2, 3, 4]))
    assert mic.hex() == "bd1c45c2"
    assert data_block_mic(key, bytes(range(20)), session_cnt=2, frag_index=0, descriptor=bytes(4)) != mic
    with pytest.raises(ValueError):
        data_block_mic(key, b"", session_cnt=1 << 16, frag_index=0, descriptor=bytes(4))
