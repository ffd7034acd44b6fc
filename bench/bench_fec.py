"""TS004 fragmentation FEC: encode and decode a firmware image, against plain per-fragment XOR in Python.

One command: ``.venv/bin/python bench/bench_fec.py`` (or ``make bench-fec``). For each ``--versions``
(TS004 v2, the one AWS speaks, and v1), on one random ``--size`` image cut into ``--frag-size`` fragments:

* **encode** at each ``--redundancy`` percentage: ``fec.encode`` (lockstep parity rows + 8-fragment XOR
  tables) ``--runs`` times, the parity matrix alone as a breakdown, and once the ``naive`` encoder below;
  both outputs must be equal byte for byte.
* **decode** at ``--decode-redundancy`` with ``--loss`` of the fragments dropped at random (a seeded
  pattern, the survivors fed in increasing N as a device hears them): ``fec.FragmentDecoder`` from the
  first add to completion, ``--runs`` times, and once the naive decoder; both must return the image.
* **naive** is written here, in pure Python, as a straightforward implementation would be: one LFSR loop
  per parity row, one Python-int XOR per selected fragment (fragments held as ints, which is already far
  faster than XORing bytes one by one), and for decoding the reference's upper-triangular elimination
  with back-substitution (lorawan-fuota.md 1.5). It counts the bytes it XORs.
* **bandwidth**: numpy copy and ``a ^= b`` rates over ``--bandwidth-mib`` arrays (DRAM) and 256 KiB arrays
  (cache), to turn XOR volumes into lower bounds on time. The table methods XOR less than the naive
  volume (one table row per 8 fragments); their own volume is computed from the sizes.

Output: a table on stdout; the full JSON goes to bench/results/fec-<UTC timestamp>.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from otahub.domain.lorawan import fec

RESULTS_DIR = Path(__file__).resolve().parent / "results"


# --- the naive implementation ----------------------------------------------------------------------------------


def naive_row(y: int, m: int, v2: bool) -> list[int]:
    """Row y's fragment indices (0-based), one LFSR step per Python loop turn."""
    span = m + 1 if m & (m - 1) == 0 else m
    chosen = [False] * m
    x, count = 1 + 1001 * y, 0
    while count < m // 2:
        r = m
        while r >= m:
            x = (x >> 1) + (((x ^ (x >> 5)) & 1) << 22)
            r = x % span
        if not (v2 and chosen[r]):
            chosen[r] = True
            count += 1
    return [j for j in range(m) if chosen[j]]


def naive_encode(image: bytes, size: int, coded: int, v2: bool) -> tuple[list[bytes], int]:
    m = -(-len(image) // size)
    padded = image + bytes(m * size - len(image))
    frags = [int.from_bytes(padded[i * size:(i + 1) * size], "little") for i in range(m)]
    out, xored = [padded[i * size:(i + 1) * size] for i in range(m)], 0
    for y in range(1, coded + 1):
        acc = 0
        for j in naive_row(y, m, v2):
            acc ^= frags[j]
            xored += size
        out.append(acc.to_bytes(size, "little"))
    return out, xored


class NaiveDecoder:
    """The reference decoder's steps on Python ints: known fragments out, triangular elimination, back-substitution."""

    def __init__(self, m: int, size: int, v2: bool) -> None:
        self.m, self.size, self.v2 = m, size, v2
        self.data: list[int | None] = [None] * m
        self.last = 0
        self.lost: dict[int, int] | None = None  # fragment index -> lost column
        self.pivots: dict[int, tuple[int, int]] = {}  # lowest set column -> (coefficients, payload)
        self.xored = 0
        self.done = False

    def add(self, n: int, payload: bytes) -> bool:
        if self.done or n < self.last:
            return self.done
        value = int.from_bytes(payload, "little")
        if n <= self.m:
            self.data[n - 1], self.last = value, n
            self.done = all(d is not None for d in self.data) if n == self.m else False
            return self.done
        if self.lost is None:
            self.lost = {j: c for c, j in enumerate(j for j in range(self.m) if self.data[j] is None)}
            self.last = self.m + 1
        coefficients, coef_bytes = 0, -(-len(self.lost) // 8)
        for j in naive_row(n - self.m, self.m, self.v2):
            known = self.data[j]
            if known is None:
                coefficients |= 1 << self.lost[j]
            else:
                value ^= known
                self.xored += self.size
        while coefficients:
            low = (coefficients & -coefficients).bit_length() - 1
            if low not in self.pivots:
                self.pivots[low] = (coefficients, value)
                break
            pivot_coefficients, pivot_value = self.pivots[low]
            coefficients ^= pivot_coefficients
            value ^= pivot_value
            self.xored += self.size + coef_bytes
        if len(self.pivots) == len(self.lost):
            self._back_substitute()
        return self.done

    def _back_substitute(self) -> None:
        assert self.lost is not None
        solved: dict[int, int] = {}
        for column in sorted(self.pivots, reverse=True):
            coefficients, value = self.pivots[column]
            rest = coefficients & ~(1 << column)
            while rest:
                low = (rest & -rest).bit_length() - 1
                value ^= solved[low]
                self.xored += self.size
                rest &= rest - 1
            solved[column] = value
        for j, column in self.lost.items():
            self.data[j] = solved[column]
        self.done = True

    def image(self, length: int) -> bytes:
        return b"".join(int(d or 0).to_bytes(self.size, "little") for d in self.data)[:length]


# --- measurements ----------------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return samples, result


def rate(op: Callable[[], object], nbytes: int, reps: int) -> float:
    """Bytes per second of ``op`` over ``nbytes``, best of three rounds of ``reps`` calls."""
    op()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            op()
        best = min(best, time.perf_counter() - start)
    return nbytes * reps / best


def bandwidth(total_mib: int) -> dict[str, float]:
    """numpy copy and in-place XOR (bytes of the destination per second), DRAM-sized and cache-sized."""
    rates: dict[str, float] = {}
    for label, nbytes, reps in (("dram", total_mib << 20, 5), ("cache", 256 << 10, 2000)):
        a = np.ones(nbytes // 8, np.uint64)
        b = np.full(nbytes // 8, 3, np.uint64)
        rates[f"copy_{label}"] = rate(lambda a=a, b=b: np.copyto(b, a), nbytes, reps)
        rates[f"xor_{label}"] = rate(lambda a=a, b=b: np.bitwise_xor(a, b, out=a), nbytes, reps)
    return rates


def table_volume(rows: int, groups: int, width_bytes: int) -> int:
    """Bytes the 8-at-a-time table method XORs for a rows x (8 * groups) product: builds plus lookups."""
    return groups * 255 * width_bytes + rows * groups * width_bytes


def decode_pattern(total: int, loss: float, seed: int) -> list[int]:
    keep = np.random.default_rng(seed).random(total) >= loss
    return [int(n) + 1 for n in np.flatnonzero(keep)]


def run_version(version: int, image: bytes, args: argparse.Namespace) -> dict[str, Any]:
    v2, size = version == 2, args.frag_size
    m = fec.fragment_count(len(image), size)
    width = -(-size // 8) * 8
    out: dict[str, Any] = {"version": version, "nb_frag": m, "encode": [], "decode": {}}
    for percent in args.redundancy:
        coded = fec.coded_fragment_count(m, percent)
        samples, encoded = timed(lambda coded=coded: fec.encode(image, size, coded, version=version), args.runs)
        rows, _ = timed(lambda coded=coded: fec.parity_matrix(m, coded, version), args.runs)
        naive_s, (naive_out, naive_xored) = timed(lambda coded=coded: naive_encode(image, size, coded, v2), 1)
        assert list(encoded.fragments) == naive_out, "the table encoder and the naive one disagree"
        out["encode"].append({"percent": percent, "coded": coded, "ours_s": samples, "rows_s": rows,
                              "naive_s": naive_s[0], "naive_xor_bytes": naive_xored,
                              "ours_xor_bytes": table_volume(coded, -(-m // 8), width)})
    coded = fec.coded_fragment_count(m, args.decode_redundancy)
    encoded = fec.encode(image, size, coded, version=version)
    pattern = decode_pattern(m + coded, args.loss, args.seed)

    def ours() -> fec.FragmentDecoder:
        decoder = fec.FragmentDecoder(m, size, padding=encoded.padding, version=version)
        for n in pattern:
            if decoder.add(n, encoded.fragments[n - 1]) is fec.AddResult.COMPLETE:
                break
        return decoder

    def naive() -> NaiveDecoder:
        decoder = NaiveDecoder(m, size, v2)
        for n in pattern:
            if decoder.add(n, encoded.fragments[n - 1]):
                break
        return decoder

    samples, decoder = timed(ours, args.runs)
    assert decoder.complete and decoder.image() == image, "the decoder did not return the image"
    status = decoder.status()
    naive_s, slow = timed(naive, 1)
    assert slow.done and slow.image(len(image)) == image, "the naive decoder did not return the image"
    lost, received_coded = status.lost, sum(1 for n in pattern if n > m)
    cwords = -(-lost // 64) * 8
    ours_volume = (table_volume(lost, -(-m // 8), width)  # known fragments out of the first L coded ones
                   + sum(lost * (cwords + width - (g // 8) * 8) + 255 * (cwords + width) for g in range(-(-lost // 8))))
    out["decode"] = {"percent": args.decode_redundancy, "coded": coded, "loss": args.loss, "lost": lost,
                     "coded_received": received_coded, "ours_s": samples, "naive_s": naive_s[0],
                     "naive_xor_bytes": slow.xored, "ours_xor_bytes": ours_volume}
    return out


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {"nproc": len(os.sched_getaffinity(0)),
            "cpu_model": model.group(1).strip() if model else platform.processor(),
            "kernel": platform.release(), "python": platform.python_version(), "numpy": metadata.version("numpy"),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}


def print_report(report: dict[str, Any]) -> None:
    rates = report["bandwidth"]
    gbs = {k: v / 1e9 for k, v in rates.items()}
    print(f"numpy bandwidth: copy {gbs['copy_dram']:.1f} GB/s (DRAM) / {gbs['copy_cache']:.1f} GB/s (cache); "
          f"a ^= b {gbs['xor_dram']:.1f} / {gbs['xor_cache']:.1f} GB/s of a")
    head = (f"{'':4}{'operation':36}{'ours med':>9}{'min':>7}{'naive':>7}{'ratio':>7}{'naive XOR':>11}"
            f"{'ours XOR':>10}{'bound cache':>12}{'DRAM':>7}")
    print(head + "\n" + "-" * len(head))
    for part in report["versions"]:
        rows: list[tuple[str, list[float], float, int, int]] = [
            (f"encode {p['percent']}% ({p['coded']} coded)", p["ours_s"], p["naive_s"], p["naive_xor_bytes"],
             p["ours_xor_bytes"]) for p in part["encode"]]
        d = part["decode"]
        rows.append((f"decode {d['loss']:.0%} loss at {d['percent']}% (L={d['lost']})", d["ours_s"], d["naive_s"],
                     d["naive_xor_bytes"], d["ours_xor_bytes"]))
        for label, ours, naive, naive_xor, ours_xor in rows:
            med = statistics.median(ours)
            print(f"v{part['version']}  {label:36}{med:9.3f}{min(ours):7.3f}{naive:7.2f}{naive / med:6.0f}x"
                  f"{naive_xor / 2**20:9.0f}Mi{ours_xor / 2**20:8.0f}Mi"
                  f"{ours_xor / rates['xor_cache'] * 1e3:10.1f}ms{ours_xor / rates['xor_dram'] * 1e3:5.0f}ms")
        split = ", ".join(f"{p['percent']}%: {statistics.median(p['rows_s']):.3f} s rows + "
                          f"{statistics.median(p['ours_s']) - statistics.median(p['rows_s']):.3f} s the rest"
                          for p in part["encode"])
        print(f"    (encode medians split: {split}; NbFrag {part['nb_frag']})")
    naive_bounds = ", ".join(
        f"v{part['version']} {label} {volume / rates['xor_cache']:.2f} s"
        for part in report["versions"]
        for label, volume in [*((f"encode {p['percent']}%", p["naive_xor_bytes"]) for p in part["encode"]),
                              ("decode", part["decode"]["naive_xor_bytes"])])
    print("times in s; 'bound' = our XOR volume at the measured numpy a ^= b rate (cache-sized, DRAM-sized)")
    print(f"the naive XOR volume at the cache rate: {naive_bounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=1 << 20, help="image bytes (1 MiB)")
    parser.add_argument("--frag-size", type=int, default=200)
    parser.add_argument("--redundancy", type=int, nargs="+", default=[10, 50], help="encode RedundancyPercent")
    parser.add_argument("--decode-redundancy", type=int, default=50)
    parser.add_argument("--loss", type=float, default=0.3, help="share of all fragments lost before decoding")
    parser.add_argument("--versions", type=int, nargs="+", default=[2, 1], choices=(1, 2))
    parser.add_argument("--runs", type=int, default=5, help="timed runs of our encoder and decoder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bandwidth-mib", type=int, default=256)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    if not 1 <= args.runs <= 100 or not 0 <= args.loss < 1 or not 1 <= args.size <= 16 << 20:
        parser.error("--runs 1-100, --loss in [0, 1), --size up to 16 MiB")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    image = np.random.default_rng(args.seed).integers(0, 256, args.size, dtype=np.uint8).tobytes()
    report: dict[str, Any] = {"started": stamp, "args": {k: str(v) if isinstance(v, Path) else v
                                                         for k, v in vars(args).items()},
                              "machine": machine_info(), "bandwidth": bandwidth(args.bandwidth_mib)}
    report["versions"] = [run_version(v, image, args) for v in args.versions]
    report["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    print_report(report)
    goals = [(f"v{p['version']} encode 50% <= 0.25 s", statistics.median(e["ours_s"]) <= 0.25)
             for p in report["versions"] for e in p["encode"] if e["percent"] == 50]
    goals += [(f"v{p['version']} decode <= 1 s", statistics.median(p["decode"]["ours_s"]) <= 1.0)
              for p in report["versions"]]
    print("goals: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in goals))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"fec-{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    machine = report["machine"]
    print(f"machine: nproc {machine['nproc']}, {machine['cpu_model']}, Python {machine['python']}, numpy "
          f"{machine['numpy']}, loadavg {' '.join(machine['loadavg'])} -> {' '.join(machine['loadavg_end'])}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
