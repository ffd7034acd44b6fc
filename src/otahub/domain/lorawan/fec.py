"""TS004 fragmentation FEC (lorawan-fuota.md 1.3-1.5): parity matrix, encoder, device-side decoder, v2 MIC.

A data block is cut into ``M`` uncoded fragments (N = 1..M, the last one zero-padded); coded fragment
``y`` (N = M + y) is the XOR of the uncoded fragments that row ``y`` of a pseudo-random parity matrix
selects. The rows follow the Semtech reference helpers bit for bit: LoRaMac-node ``FragDecoder.c`` and
LBM ``fragmentation_helper_v1.0.0.c`` for v1, LBM ``fragmentation_helper_v2.0.0.c`` for v2 (v2 draws
until it has ``M // 2`` *distinct* fragments; v1 counts repeated draws, so its rows may hold fewer).

All GF(2) work is on packed bits: rows are ``uint64`` words (coefficient bits, then the payload), so one
numpy XOR adds a whole equation. Products of the matrix with the fragments and the decoder's
elimination both go eight columns at a time through 256-entry tables (the "Method of Four Russians"),
so no Python loop runs per byte, per fragment pair or per matrix entry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from numpy.typing import NDArray

from otahub.domain.errors import InvalidState

MAX_COUNTER: Final = 0x3FFF  # DataFragment's N is 14 bits: uncoded + coded fragments <= 16383
MAX_FRAG_SIZE: Final = 255  # FragSessionSetupReq.FragSize is one byte
_HIGH: Final = 1 << 23  # x at or above this: prbs23's '+' carries (seeds of y > 8380)
_CHUNK_STEPS: Final = 1024  # LFSR steps drawn per pass (bounds the draw arrays to 8 KiB per row)
_TAIL_STEPS: Final = 64  # v2 passes past the first M // 2 draws: at least this long, overshoot undone
_BATCH_ROWS: Final = 48  # from this many rows at once the table methods beat row-by-row numpy

Words = NDArray[np.uint64]
Bits = NDArray[np.bool_]


class PackageVersion(enum.IntEnum):
    """TS004 PackageVersion: 1 (v1.0.0) and 2 (v2.0.0) differ in the parity matrix (and the wire)."""

    V1 = 1
    V2 = 2


@dataclass(frozen=True, slots=True)
class RedundancyPercent:
    """CreateFuotaTask's RedundancyPercent (0-100), as opposed to a count of coded fragments."""

    percent: int


def prbs23(x: int) -> int:
    """One step of the reference 23-bit LFSR, '+' as the references write it (lorawan-fuota.md 1.3)."""
    return (x >> 1) + (((x ^ (x >> 5)) & 1) << 22)


def fragment_count(size: int, frag_size: int) -> int:
    """NbFrag for a data block of ``size`` bytes: ceil(size / FragSize)."""
    return -(-size // frag_size)


def padding_for(size: int, frag_size: int) -> int:
    """FragSessionSetupReq.Padding: the filler bytes at the end of the last uncoded fragment."""
    return fragment_count(size, frag_size) * frag_size - size


def coded_fragment_count(nb_frag: int, redundancy_percent: int) -> int:
    """Coded fragments for RedundancyPercent: ceil(NbFrag * percent / 100) (AWS: 10 + 10 * 50 % = 15)."""
    if not 0 <= redundancy_percent <= 100:
        raise ValueError("RedundancyPercent is 0-100")
    return -(-nb_frag * redundancy_percent // 100)


def parity_row(y: int, nb_frag: int, version: int = 2) -> Bits:
    """Row ``y`` (1-based coded index, N = NbFrag + y) of the parity matrix; True = fragment j+1 is in it."""
    v2 = _version(version) is PackageVersion.V2
    if y < 1 or nb_frag < 1:
        raise ValueError("rows and fragments count from 1")
    m, half = nb_frag, nb_frag >> 1
    span = m + 1 if m & (m - 1) == 0 else m  # powers of two draw mod M+1 and discard M
    bits = bytearray(m)
    x, count = 1 + 1001 * y, 0
    while count < half:
        r = m
        while r >= m:
            x = prbs23(x)
            r = x % span
        if not (v2 and bits[r]):
            bits[r] = 1
            count += 1
    return np.frombuffer(bytes(bits), np.uint8).astype(bool)


def parity_matrix(nb_frag: int, coded: int, version: int = 2, *, first: int = 1) -> Bits:
    """Rows ``first .. first + coded - 1`` of the parity matrix, all drawn in lockstep: shape (coded, NbFrag)."""
    if first < 1 or coded < 0 or nb_frag < 1:
        raise ValueError("rows and fragments count from 1")
    ys = np.arange(first, first + coded, dtype=np.int64)
    return _parity_rows(nb_frag, ys, _version(version) is PackageVersion.V2)


@dataclass(frozen=True, slots=True)
class FragmentedImage:
    """An encoded data block: ``fragments[N - 1]`` is the payload of DataFragment N."""

    nb_frag: int
    frag_size: int
    padding: int
    version: PackageVersion
    fragments: tuple[bytes, ...]

    @property
    def coded(self) -> int:
        return len(self.fragments) - self.nb_frag

    def fragment(self, n: int) -> bytes:
        """DataFragment N's payload (N from 1)."""
        if not 1 <= n <= len(self.fragments):
            raise ValueError(f"there is no fragment {n}")
        return self.fragments[n - 1]


def encode(image: bytes, frag_size: int, redundancy: int | RedundancyPercent, *, version: int = 2) -> FragmentedImage:
    """The uncoded fragments (last one zero-padded) followed by the coded ones (a count or a percentage)."""
    if not image:
        raise ValueError("the data block is empty")
    _check_frag_size(frag_size)
    nb_frag = fragment_count(len(image), frag_size)
    if isinstance(redundancy, RedundancyPercent):
        coded = coded_fragment_count(nb_frag, redundancy.percent)
    else:
        coded = redundancy
    if coded < 0 or nb_frag + coded > MAX_COUNTER:
        raise ValueError(f"{nb_frag} + {coded} fragments do not fit the 14-bit fragment counter")
    padded = image + bytes(nb_frag * frag_size - len(image))
    ver = _version(version)
    words = _xor_rows(parity_matrix(nb_frag, coded, ver), _words(np.frombuffer(padded, np.uint8).reshape(nb_frag, -1)))
    uncoded = (padded[i:i + frag_size] for i in range(0, len(padded), frag_size))
    coded_payloads = (row.tobytes() for row in words.view(np.uint8)[:, :frag_size])
    return FragmentedImage(nb_frag, frag_size, len(padded) - len(image), ver, (*uncoded, *coded_payloads))


class AddResult(enum.Enum):
    """What a DataFragment did (the reference FragDecoderProcess's return, in words)."""

    ONGOING = "ongoing"  # taken; the block is not yet determined
    COMPLETE = "complete"  # the block is reconstructed (by this fragment or before it; later ones change nothing)
    IGNORED = "ignored"  # dropped: an uncoded fragment arriving after a higher N (the reference drops these)
    FAILED = "failed"  # more uncoded fragments lost than the matrix memory holds: the session is over


@dataclass(frozen=True, slots=True)
class DecoderStatus:
    """What FragSessionStatusAns reports, taken from the decoder.

    ``missing`` is LBM v2's MissingFrag (fragments still to recover: unreceived uncoded ones, less the
    independent coded equations held); LoRaMac-node's v1 answer puts ``lost`` and ``last_counter`` in
    MissingFrag and NbFragReceived instead. The one-byte MissingFrag field caps at 255 (the codec's job).
    ``memory_error`` is v1's NotEnoughMatrixMemory, v2's MemoryError.
    """

    received: int  # DataFragments taken (duplicates included, ignored ones not)
    last_counter: int  # highest N taken
    lost: int  # uncoded fragments seen to be lost (a gap in N, or all not received once coded ones arrive)
    missing: int
    memory_error: bool
    complete: bool


class FragmentDecoder:
    """A device's incremental TS004 decoder for one fragmentation session (lorawan-fuota.md 1.5).

    As in the reference decoders, fragments come in increasing N: an uncoded fragment below the last N
    taken is dropped, and once a coded fragment arrives every unreceived uncoded fragment is lost for
    good (coded fragments may then come in any order). ``max_lost`` is the matrix memory
    (FRAG_MAX_REDUNDANCY): more lost fragments than that fail the session at the first coded fragment.
    Coded fragments are stored until enough of them could give full rank; the equations are then
    reduced together, and one by one after that, so completion is known exactly when it happens (with
    no loss that is at N = M, as LBM v2 reports it; LoRaMac-node's v1 notices at the next fragment).
    """

    def __init__(self, nb_frag: int, frag_size: int, *, padding: int = 0, version: int = 2,
                 max_lost: int | None = None) -> None:
        if not 1 <= nb_frag <= MAX_COUNTER:
            raise ValueError(f"NbFrag must be 1-{MAX_COUNTER}")
        _check_frag_size(frag_size)
        if not 0 <= padding <= min(255, nb_frag * frag_size - 1):
            raise ValueError("Padding is one byte, and shorter than the block")
        self.nb_frag, self.frag_size, self.padding = nb_frag, frag_size, padding
        self.version = _version(version)
        self._max_lost = max_lost
        self._data = np.zeros((nb_frag, -(-frag_size // 8)), np.uint64)
        self._have = np.zeros(nb_frag, dtype=bool)
        self._received = self._distinct = self._last = self._top = 0
        self._lost_list: list[int] = []
        self._lost: NDArray[np.intp] | None = None  # fixed by the first coded fragment
        self._pending: list[tuple[int, bytes]] = []
        self._basis: _Basis | None = None
        self._complete = self._failed = False

    @property
    def complete(self) -> bool:
        return self._complete

    def add(self, n: int, payload: bytes) -> AddResult:
        """Take DataFragment N's payload (N from 1)."""
        if not 1 <= n <= MAX_COUNTER:
            raise ValueError(f"the fragment counter is 1-{MAX_COUNTER}")
        if len(payload) != self.frag_size:
            raise ValueError(f"a fragment carries {self.frag_size} bytes, not {len(payload)}")
        if self._complete or self._failed:
            return AddResult.COMPLETE if self._complete else AddResult.FAILED
        if n < self._last:
            return AddResult.IGNORED
        self._received += 1
        self._top = max(self._top, n)
        if n <= self.nb_frag:
            return self._add_uncoded(n - 1, payload)
        return self._add_coded(n - self.nb_frag, payload)

    def status(self) -> DecoderStatus:
        if self._basis is not None and self._pending:
            self._absorb()  # cannot complete the block: add() reduces as soon as enough are stored
        lost = len(self._lost_list)
        if self._complete:
            missing = 0
        elif self._basis is not None:
            missing = lost - self._basis.rank
        else:
            missing = self.nb_frag - self._distinct
        return DecoderStatus(self._received, self._top, lost, missing, self._failed, self._complete)

    def image(self) -> bytes:
        """The reconstructed data block without its padding (NbFrag * FragSize - Padding bytes)."""
        if not self._complete:
            raise InvalidState("the data block is not reconstructed yet")
        block = self._data.view(np.uint8)[:, :self.frag_size].tobytes()
        return block[:len(block) - self.padding]

    def _add_uncoded(self, index: int, payload: bytes) -> AddResult:
        self._lost_list.extend(range(self._last, index))
        self._data.view(np.uint8)[index, :self.frag_size] = np.frombuffer(payload, np.uint8)
        if not self._have[index]:
            self._have[index] = True
            self._distinct += 1
        self._last = index + 1
        if self._distinct == self.nb_frag:
            self._complete = True
            return AddResult.COMPLETE
        return AddResult.ONGOING

    def _add_coded(self, y: int, payload: bytes) -> AddResult:
        if self._basis is None:
            self._lost_list.extend(range(self._last, self.nb_frag))
            self._last = self.nb_frag + 1
            if self._max_lost is not None and len(self._lost_list) > self._max_lost:
                self._failed = True
                return AddResult.FAILED
            self._lost = np.array(self._lost_list, dtype=np.intp)
            self._basis = _Basis(len(self._lost_list), self._data.shape[1])
        self._pending.append((y, payload))
        if self._basis.rank + len(self._pending) >= self._basis.ncols:
            self._absorb()
            if self._basis.rank == self._basis.ncols:
                self._finish()
                return AddResult.COMPLETE
        return AddResult.ONGOING

    def _absorb(self) -> None:
        """Reduce the stored coded fragments into the basis: known fragments out, then elimination."""
        assert self._basis is not None and self._lost is not None
        ys = np.array([y for y, _ in self._pending], dtype=np.int64)
        raw = b"".join(p + bytes(self._data.shape[1] * 8 - self.frag_size) for _, p in self._pending)
        payloads = np.frombuffer(raw, np.uint64).reshape(len(ys), -1).copy()
        self._pending.clear()
        if len(ys) >= _BATCH_ROWS:
            rows = _parity_rows(self.nb_frag, ys, self.version is PackageVersion.V2)
        else:  # a lockstep pass costs the same for one row as for thousands
            rows = np.array([parity_row(int(y), self.nb_frag, self.version) for y in ys]).reshape(len(ys), -1)
        payloads ^= _xor_rows(rows, self._data)  # lost fragments are still zero in _data
        coefficients = _pack(rows[:, self._lost])
        self._basis.add(np.hstack([coefficients, payloads]))

    def _finish(self) -> None:
        assert self._basis is not None and self._lost is not None
        self._data[self._lost] = self._basis.solution()
        self._basis = None
        self._complete = True


class _Basis:
    """A reduced row echelon basis over GF(2) of equations in the lost fragments (one word row each)."""

    def __init__(self, ncols: int, payload_words: int) -> None:
        self.ncols, self.cwords = ncols, -(-ncols // 64)
        self.rows = np.zeros((ncols, self.cwords + payload_words), np.uint64)
        self.pivot = np.full(ncols, -1, dtype=np.intp)  # column -> row of self.rows
        self.rank = 0

    def add(self, new: Words) -> None:
        if len(new) >= _BATCH_ROWS:
            stacked = np.vstack([self.rows[:self.rank], new])
            pivots = _rref(stacked, self.ncols)
            have = np.flatnonzero(pivots >= 0)
            self.rank = len(have)
            self.rows[:self.rank] = stacked[pivots[have]]
            self.pivot.fill(-1)
            self.pivot[have] = np.arange(self.rank)
            return
        for row in new:
            self._insert(row.copy())

    def _insert(self, row: Words) -> None:
        bits = np.unpackbits(row[:self.cwords].view(np.uint8), bitorder="little")[:self.ncols].astype(bool)
        held = self.pivot[bits]
        held = held[held >= 0]
        if held.size:
            row ^= np.bitwise_xor.reduce(self.rows[held], axis=0)
        nonzero = np.flatnonzero(row[:self.cwords])
        if not nonzero.size:
            return  # no new information
        word = int(nonzero[0])
        value = int(row[word])
        bit = (value & -value).bit_length() - 1
        column = word * 64 + bit
        body = self.rows[:self.rank]
        hit = np.flatnonzero((body[:, word] >> np.uint64(bit)) & np.uint64(1))
        body[hit] ^= row
        self.rows[self.rank] = row
        self.pivot[column] = self.rank
        self.rank += 1

    def solution(self) -> Words:
        """At full rank each pivot row is (unit vector | value): the lost fragments' payload words."""
        return self.rows[self.pivot, self.cwords:]


def data_block_int_key(root_key: bytes) -> bytes:
    """DataBlockIntKey = aes128_encrypt(RootKey, 0x30 | 0x00 * 15); RootKey is GenAppKey on LoRaWAN 1.0.x."""
    encryptor = Cipher(algorithms.AES(root_key), modes.ECB()).encryptor()
    return encryptor.update(b"\x30" + bytes(15)) + encryptor.finalize()


def data_block_mic(int_key: bytes, data: bytes, *, session_cnt: int, frag_index: int, descriptor: bytes) -> bytes:
    """The v2 FragSessionSetupReq MIC over the data block (lorawan-fuota.md 1.4), as its 4 bytes on the wire."""
    if len(descriptor) != 4 or not 0 <= session_cnt < 1 << 16 or not 0 <= frag_index <= 3:
        raise ValueError("Descriptor is 4 bytes, SessionCnt 16 bits, FragIndex 0-3")
    b0 = (b"\x49" + session_cnt.to_bytes(2, "little") + bytes([frag_index]) + descriptor + bytes(4)
          + len(data).to_bytes(4, "little"))
    cmac = CMAC(algorithms.AES(int_key))
    cmac.update(b0 + data)
    return cmac.finalize()[:4]


# --- vectorised internals ------------------------------------------------------------------------------------


def _version(version: int) -> PackageVersion:
    try:
        return PackageVersion(version)
    except ValueError:
        raise ValueError(f"TS004 PackageVersion is 1 or 2, not {version}") from None


def _check_frag_size(frag_size: int) -> None:
    if not 1 <= frag_size <= MAX_FRAG_SIZE:
        raise ValueError(f"FragSize must be 1-{MAX_FRAG_SIZE}")


def _words(rows: NDArray[np.uint8]) -> Words:
    """Rows of bytes as rows of little-endian uint64 words, zero-filled to a whole word."""
    out = np.zeros((len(rows), -(-rows.shape[1] // 8) * 8), np.uint8)
    out[:, :rows.shape[1]] = rows
    return out.view("<u8")


def _pack(bits: Bits) -> Words:
    """Rows of bits as rows of words, bit j of a row at bit j % 64 of word j // 64."""
    return _words(np.packbits(bits, axis=1, bitorder="little"))


def _lfsr_states(x: NDArray[np.uint32], steps: int) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """The next ``steps`` prbs23 states of every seed in ``x`` (shape (steps, len(x))), and the last state.

    Below 2^23 the LFSR is a plain shift register, so up to 18 steps come from one state at once:
    x[k+d] = x[k] >> d | (low d bits of x[k] ^ x[k] >> 5) << (23 - d). Seeds at or above 2^23 are first
    stepped one at a time with the reference's '+', which carries until they drop below 2^23.
    """
    out = np.empty((steps, len(x)), np.uint32)
    k = 0
    while k < steps and bool((x >= _HIGH).any()):
        x = (x >> 1) + (((x ^ (x >> 5)) & 1) << 22)
        out[k] = x
        k += 1
    shifts = np.arange(1, 19, dtype=np.uint32)[:, None]
    masks = (np.uint32(1) << shifts) - np.uint32(1)
    while k < steps:
        d = min(18, steps - k)
        feedback = (x ^ (x >> 5))[None, :] & masks[:d]
        out[k:k + d] = (x[None, :] >> shifts[:d]) | (feedback << (np.uint32(23) - shifts[:d]))
        x = out[k + d - 1]
        k += d
    return out, x


def _parity_rows(m: int, ys: NDArray[np.int64], v2: bool) -> Bits:
    """Parity rows for the coded indices ``ys``, all seeds stepped together (shape (len(ys), m)).

    v1 draws in passes no longer than the fewest bits any row still lacks, so no row can overshoot its
    M // 2 within a pass and a whole pass is set at once. v2 counts a draw only if its bit is clear: its
    first M // 2 draws cannot overshoot either and are set at once; the rest go one draw per row per
    numpy call, in passes of at least _TAIL_STEPS whose draws past a row's M // 2 are then undone.
    """
    half, span = m >> 1, (m + 1 if m & (m - 1) == 0 else m)
    bits = np.zeros((len(ys), span), dtype=bool)
    bits[:, m:] = True  # the discarded draw r == M (powers of two) reads as "already set"
    flat = bits.reshape(-1)
    row, x = np.arange(len(ys)) * span, (1 + 1001 * ys).astype(np.uint32)
    count = np.zeros(len(ys), np.int64)
    if v2:
        for done in range(0, half, _CHUNK_STEPS):
            states, x = _lfsr_states(x, min(_CHUNK_STEPS, half - done))
            flat[states % np.uint32(span) + row] = True
        count[:] = np.count_nonzero(bits[:, :m], axis=1)
    while half and row.size:
        live = count < half
        row, x, count = row[live], x[live], count[live]
        if not row.size:
            break
        need = half - count
        states, x = _lfsr_states(x, min(_CHUNK_STEPS, max(int(need.min()), _TAIL_STEPS if v2 else 0)))
        draws = states % np.uint32(span)
        if v2:
            count += _take_distinct(flat, draws + row, need)
        else:
            valid = draws < m
            flat[(draws + row)[valid]] = True
            count += valid.sum(axis=0)
    return np.ascontiguousarray(bits[:, :m])


def _take_distinct(flat: Bits, keys: NDArray[np.int64], need: NDArray[np.int64]) -> NDArray[np.int64]:
    """v2: set each draw's bit in turn; a draw counts only if its bit was clear, and only up to ``need``.

    Returns how many each row gained. The draws that counted past a row's need are cleared again:
    they are distinct (a repeat of a fresh draw is not fresh), and the row is finished anyway.
    """
    was_set = np.empty(keys.shape, dtype=bool)
    for k in range(len(keys)):  # one step for every row per call: a row's draws depend on its earlier ones
        np.take(flat, keys[k], out=was_set[k])
        flat[keys[k]] = True
    fresh = ~was_set
    gained = fresh.astype(np.int16)  # a running count: np.cumsum along axis 0 is many times slower
    for k in range(1, len(gained)):
        gained[k] += gained[k - 1]
    flat[keys[fresh & (gained > need)]] = False
    return np.asarray(np.minimum(gained[-1], need), dtype=np.int64)


def _xor_rows(select: Bits, src: Words) -> Words:
    """out[i] = XOR of the rows src[j] with select[i, j] set: the GF(2) product select @ src.

    Eight source rows at a time: a 256-entry table holds every XOR of the eight, and each output row
    takes one table row per group (indexed by its packed selection byte) instead of up to eight XORs.
    """
    n, m = select.shape
    width = src.shape[1]
    if n < _BATCH_ROWS:
        return np.array([np.bitwise_xor.reduce(src[s], axis=0) if s.any() else np.zeros(width, np.uint64)
                         for s in select], dtype=np.uint64).reshape(n, width)
    groups = -(-m // 8)
    padded = np.zeros((groups * 8, width), np.uint64)
    padded[:m] = src
    index = np.ascontiguousarray(np.packbits(select, axis=1, bitorder="little").T)
    out = np.zeros((n, width), np.uint64)
    table = np.zeros((256, width), np.uint64)
    picked = np.empty((n, width), np.uint64)
    for g in range(groups):
        block = padded[8 * g:8 * g + 8]
        for b in range(8):
            np.bitwise_xor(table[:1 << b], block[b], out=table[1 << b:2 << b])
        np.take(table, index[g], axis=0, out=picked)
        out ^= picked
    return out


def _rref(a: Words, ncols: int) -> NDArray[np.intp]:
    """Gauss-Jordan elimination over GF(2) of the word rows ``a`` in place, eight columns per pass.

    Coefficient bit c is bit c % 64 of word c // 64; the words after the coefficients ride along (the
    payloads). For each byte of columns the pivots are found on that byte alone (an n-vector), the few
    pivot rows are reduced among themselves, and every other row is cleared with one lookup into the
    256 XOR-combinations of them. Returns the pivot row of each column (-1: no pivot, rank deficient);
    rows that are not pivots end with all coefficients zero.
    """
    n = len(a)
    view = a.view(np.uint8)
    pivot = np.full(ncols, -1, dtype=np.intp)
    used = np.zeros(n, dtype=bool)
    for g in range(-(-ncols // 8)):
        original = view[:, g].copy()
        current, free = original.copy(), ~used
        chosen: list[tuple[int, int]] = []
        for j in range(min(8, ncols - 8 * g)):
            has = ((current >> j) & 1).astype(bool)
            p = int(np.argmax(has & free))
            if not (has[p] and free[p]):
                continue
            free[p], used[p] = False, True
            chosen.append((j, p))
            has[p] = False
            current[has] ^= current[p]
        if chosen:
            _clear_block(a, g, chosen, original)
            for j, p in chosen:
                pivot[8 * g + j] = p
    return pivot


def _clear_block(a: Words, g: int, chosen: list[tuple[int, int]], original: NDArray[np.uint8]) -> None:
    """Make the block's pivot rows a unit matrix on their columns, then clear those columns everywhere else."""
    w0 = g // 8  # earlier words hold only finished columns, where the new pivot rows are zero
    prows = np.array([p for _, p in chosen], dtype=np.intp)
    sub = a[prows, w0:]
    local = g - 8 * w0
    for i, (j, _) in enumerate(chosen):
        has = ((sub.view(np.uint8)[:, local] >> j) & 1).astype(bool)
        has[i] = False
        sub[has] ^= sub[i]
    table = np.zeros((256, a.shape[1] - w0), np.uint64)
    position = {j: i for i, (j, _) in enumerate(chosen)}
    for b in range(8):
        if b in position:
            np.bitwise_xor(table[:1 << b], sub[position[b]], out=table[1 << b:2 << b])
        else:
            table[1 << b:2 << b] = table[:1 << b]
    index = original & np.uint8(sum(1 << j for j in position))
    index[prows] = 0
    a[:, w0:] ^= np.take(table, index, axis=0)
    a[prows, w0:] = sub
