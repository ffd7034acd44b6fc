"""Benchmark boto3 create_thing/describe_thing against otahub, moto_server and a canned-reply server.

One command: ``.venv/bin/python bench/bench_things.py`` (or ``make bench``). Each "call" is one API
call; calls alternate create_thing / describe_thing on new unique thing names. Targets run in the
same process tree, interleaved round by round after a warm-up:

* otahub    -- ``otahub serve --port 0`` on a fresh data dir (durable writes, SQLite synchronous=FULL);
* moto      -- ``moto_server -H 127.0.0.1 -p 0`` (moto[server] from PyPI);
* canned    -- this file with ``--canned-server``: a keep-alive HTTP/1.1 asyncio server with
  TCP_NODELAY that answers every request with one fixed JSON reply, i.e. the client-bound ceiling.

Per target it reports calls/s with one sequential client, calls/s with N concurrent client processes
(a fixed total of calls), p50/p99 latency of the sequential calls, the share of sequential calls at or
above 38 ms (the signature of Nagle + delayed-ACK stalls), and the server's CPU time per call from
/proc/<pid>/stat (utime+stime of the whole process, all threads). Results: a table on stdout and
JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from threading import BrokenBarrierError
from typing import Any

import boto3
from botocore.config import Config

from servers import (
    ACCESS_KEY_ID,
    BIN,
    REGION,
    RESULTS_DIR,
    SECRET_ACCESS_KEY,
    Server,
    launch,
    process_cpu_seconds,
    stop,
)

TARGETS = ("otahub", "moto", "canned")
STALL_MS = 38.0  # delayed ACK on Linux is ~40 ms; calls this slow on loopback are almost surely stalls
LIBRARIES = ("otahub", "boto3", "botocore", "moto", "uvicorn", "uvloop", "httptools", "SQLAlchemy", "Werkzeug")

# ---------------------------------------------------------------------------------------------
# The canned-reply server (runs in its own process: `bench_things.py --canned-server`)
# ---------------------------------------------------------------------------------------------

CANNED_BODY = json.dumps({
    "thingName": "canned", "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/canned",
    "thingId": "00000000-0000-4000-8000-000000000000", "defaultClientId": "canned",
    "attributes": {}, "version": 1,
}, separators=(",", ":")).encode()
CANNED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"x-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\n"
    + f"Content-Length: {len(CANNED_BODY)}\r\n\r\n".encode() + CANNED_BODY
)
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


def request_length(buffer: bytearray) -> int | None:
    """Length of the first complete HTTP/1.1 request in buffer, or None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    match = CONTENT_LENGTH.search(buffer, 0, end + 2)
    length = end + 4 + (int(match.group(1)) if match else 0)
    return length if len(buffer) >= length else None


class CannedProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (length := request_length(self.buffer)) is not None:
            del self.buffer[:length]
            self.transport.write(CANNED_RESPONSE)  # one write: status line, headers and body


async def serve_canned() -> None:
    server = await asyncio.get_running_loop().create_server(CannedProtocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"canned listening on http://127.0.0.1:{port}", flush=True)
    await server.serve_forever()


# ---------------------------------------------------------------------------------------------
# Server processes
# ---------------------------------------------------------------------------------------------


def start_server(name: str, workdir: Path, sqlite_synchronous: str) -> Server:
    log = workdir / f"{name}.log"
    if name == "otahub":
        command = [str(BIN / "otahub"), "serve", "--port", "0", "--data-dir", str(workdir / "otahub-data"),
                   "--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY,
                   "--sqlite-synchronous", sqlite_synchronous]
        return launch(name, command, log, re.compile(r"listening on (http://\S+)"))
    if name == "moto":
        command = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", "0"]
        return launch(name, command, log, re.compile(r"Running on (http://127\.0\.0\.1:\d+)"))
    command = [sys.executable, str(Path(__file__).resolve()), "--canned-server"]
    return launch(name, command, log, re.compile(r"canned listening on (http://\S+)"))


def thread_count(pid: int) -> int:
    match = re.search(r"^Threads:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


# ---------------------------------------------------------------------------------------------
# Clients and measurement windows
# ---------------------------------------------------------------------------------------------


def make_client(session: boto3.session.Session, endpoint: str) -> Any:
    return session.client(
        "iot", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY, config=Config(retries={"max_attempts": 1}),
    )


def call(client: Any, prefix: str, index: int) -> None:
    """Call number index: even ones create thing prefix-n, odd ones describe the thing just created."""
    name = f"{prefix}-{index // 2}"
    if index % 2 == 0:
        client.create_thing(thingName=name)
    else:
        client.describe_thing(thingName=name)


@dataclass
class Window:
    """One measured phase against one target."""

    calls: int
    wall_s: float
    server_cpu_s: float
    client_cpu_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)


def measure_sequential(server: Server, client: Any, calls: int, prefix: str) -> Window:
    latencies: list[float] = []
    cpu0, client0, start = process_cpu_seconds(server.pid), time.process_time(), time.perf_counter()
    for index in range(calls):
        t0 = time.perf_counter()
        call(client, prefix, index)
        latencies.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - start
    return Window(calls, wall, process_cpu_seconds(server.pid) - cpu0, time.process_time() - client0, latencies)


def worker(session: boto3.session.Session, endpoint: str, calls: int, prefix: str,
           barrier: Barrier, results: Queue[str | None]) -> None:
    """One concurrent client process: connect and warm up, wait for the start signal, run its share."""
    try:
        client = make_client(session, endpoint)
        for index in range(4):
            call(client, f"{prefix}-w", index)
        barrier.wait(timeout=120)
        for index in range(calls):
            call(client, prefix, index)
        results.put(None)
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")
        barrier.abort()  # release the others at once instead of at the barrier's timeout


def shares(total: int, parts: int) -> list[int]:
    """Split total calls into parts even shares (so every create is followed by its describe)."""
    pairs = total // 2
    return [2 * (pairs // parts + (1 if i < pairs % parts else 0)) for i in range(parts)]


def measure_concurrent(server: Server, session: boto3.session.Session, processes: int, total: int,
                       prefix: str) -> Window:
    context = multiprocessing.get_context("fork")  # children inherit the loaded botocore models
    barrier = context.Barrier(processes + 1)
    results: Queue[str | None] = context.Queue()
    counts = shares(total, processes)
    children = [
        context.Process(target=worker, args=(session, server.endpoint, n, f"{prefix}-p{i}", barrier, results))
        for i, n in enumerate(counts)
    ]
    for child in children:
        child.start()
    try:
        try:
            barrier.wait(timeout=120)
        except BrokenBarrierError as exc:
            raise RuntimeError(f"{server.name}: a client process failed: {results.get(timeout=10)}") from exc
        cpu0, start = process_cpu_seconds(server.pid), time.perf_counter()
        errors = [error for error in (results.get(timeout=600) for _ in children) if error]
        wall = time.perf_counter() - start
        cpu = process_cpu_seconds(server.pid) - cpu0
    finally:
        for child in children:
            child.join(timeout=30)
    if errors:
        raise RuntimeError(f"{server.name}: concurrent clients failed: {errors}")
    return Window(sum(counts), wall, cpu)


# ---------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summarize(sequential: list[Window], concurrent: list[Window]) -> dict[str, Any]:
    latencies = [ms for w in sequential for ms in w.latencies_ms]
    seq_calls, conc_calls = sum(w.calls for w in sequential), sum(w.calls for w in concurrent)
    return {
        "seq_calls_per_s": seq_calls / sum(w.wall_s for w in sequential),
        "seq_calls_per_s_by_round": [w.calls / w.wall_s for w in sequential],
        "conc_calls_per_s": conc_calls / sum(w.wall_s for w in concurrent),
        "conc_calls_per_s_by_round": [w.calls / w.wall_s for w in concurrent],
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "create_p50_ms": percentile(latencies[0::2], 50),
        "describe_p50_ms": percentile(latencies[1::2], 50),
        "stalled_share": sum(ms >= STALL_MS for ms in latencies) / len(latencies),
        "server_cpu_ms_per_call_seq": 1000 * sum(w.server_cpu_s for w in sequential) / seq_calls,
        "server_cpu_ms_per_call_conc": 1000 * sum(w.server_cpu_s for w in concurrent) / conc_calls,
        "client_cpu_ms_per_call_seq": 1000 * sum(w.client_cpu_s for w in sequential) / seq_calls,
        "seq_calls": seq_calls,
        "conc_calls": conc_calls,
    }


def goals(summary: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if "otahub" in summary and "moto" in summary:
        ratio = summary["otahub"]["server_cpu_ms_per_call_seq"] / summary["moto"]["server_cpu_ms_per_call_seq"]
        found.append({"goal": "otahub server CPU per call <= 1/3 of moto's (sequential window)",
                      "measured": f"{ratio:.2f}x moto's", "met": ratio <= 1 / 3})
    if "otahub" in summary and "canned" in summary:
        ratio = summary["otahub"]["seq_calls_per_s"] / summary["canned"]["seq_calls_per_s"]
        found.append({"goal": "otahub sequential calls/s within 20% of the canned ceiling",
                      "measured": f"{ratio:.0%} of canned", "met": ratio >= 0.8})
    return found


def stall_warnings(summary: dict[str, dict[str, Any]]) -> list[str]:
    return [
        f"WARNING  {name}: {s['stalled_share']:.0%} of sequential calls took >= {STALL_MS:.0f} ms "
        f"(p50 {s['p50_ms']:.1f} ms): the signature of Nagle's algorithm meeting delayed ACKs"
        for name, s in summary.items() if s["stalled_share"] >= 0.1
    ]


def table(summary: dict[str, dict[str, Any]], processes: int) -> str:
    head = (f"| target | seq calls/s | {processes}-proc calls/s | p50 ms | p99 ms | calls >= {STALL_MS:.0f} ms "
            "| server CPU ms/call seq | server CPU ms/call conc | client CPU ms/call seq |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, s in summary.items():
        rows.append(
            f"| {name} | {s['seq_calls_per_s']:.0f} | {s['conc_calls_per_s']:.0f} | {s['p50_ms']:.1f} "
            f"| {s['p99_ms']:.1f} | {s['stalled_share']:.0%} | {s['server_cpu_ms_per_call_seq']:.3f} "
            f"| {s['server_cpu_ms_per_call_conc']:.3f} | {s['client_cpu_ms_per_call_seq']:.2f} |"
        )
    return "\n".join(rows)


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "ram_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "libraries": {name: metadata.version(name) for name in LIBRARIES},
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over all targets")
    parser.add_argument("--seq-calls", type=int, default=300, help="sequential calls per target per round")
    parser.add_argument("--conc-calls", type=int, default=600,
                        help="total calls per target per round, shared by the concurrent processes")
    parser.add_argument("--processes", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured calls per target before round 1")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--sqlite-synchronous", choices=["FULL", "NORMAL"], default="FULL",
                        help="passed to otahub serve (FULL is its default: every commit fsynced)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--canned-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seq_calls < 2 or args.conc_calls < 2 * args.processes or args.rounds < 1:
        parser.error("need --rounds >= 1, --seq-calls >= 2 and --conc-calls >= 2 * --processes")
    return args


def run_rounds(args: argparse.Namespace, servers: dict[str, Server], run_id: str) -> dict[str, Any]:
    session = boto3.session.Session()
    clients = {name: make_client(session, server.endpoint) for name, server in servers.items()}
    for name, client in clients.items():
        for index in range(args.warmup):
            call(client, f"{run_id}-{name}-warm", index)
    sequential: dict[str, list[Window]] = {name: [] for name in servers}
    concurrent: dict[str, list[Window]] = {name: [] for name in servers}
    for round_no in range(args.rounds):
        for name, server in servers.items():
            prefix = f"{run_id}-{name}-r{round_no}"
            sequential[name].append(measure_sequential(server, clients[name], args.seq_calls, f"{prefix}-s"))
            concurrent[name].append(
                measure_concurrent(server, session, args.processes, args.conc_calls, f"{prefix}-c")
            )
            print(f"  round {round_no + 1}/{args.rounds} {name:7s} "
                  f"seq {args.seq_calls / sequential[name][-1].wall_s:7.0f} calls/s, "
                  f"{args.processes}-proc {args.conc_calls / concurrent[name][-1].wall_s:7.0f} calls/s", flush=True)
    return {
        "summary": {name: summarize(sequential[name], concurrent[name]) for name in servers},
        "windows": {name: {"sequential": [_window_json(w) for w in sequential[name]],
                           "concurrent": [_window_json(w) for w in concurrent[name]]} for name in servers},
        "threads": {name: thread_count(server.pid) for name, server in servers.items()},
    }


def _window_json(window: Window) -> dict[str, Any]:
    data = asdict(window)
    data.pop("latencies_ms")
    return data


def write_results(args: argparse.Namespace, report: dict[str, Any]) -> Path:
    results_dir: Path = args.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"things-{report['started'].replace(':', '').replace('-', '')[:15]}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.canned_server:
        asyncio.run(serve_canned())
        return 0
    started = datetime.now(UTC)
    report: dict[str, Any] = {"started": started.isoformat(timespec="seconds"), "machine": machine_info(),
                              "config": {k: str(v) for k, v in vars(args).items() if k != "canned_server"}}
    run_id = f"b{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="otahub-bench-") as tmp:
        servers: dict[str, Server] = {}
        try:
            for name in args.targets:
                servers[name] = start_server(name, Path(tmp), args.sqlite_synchronous)
                print(f"{name}: pid {servers[name].pid} at {servers[name].endpoint}", flush=True)
            report.update(run_rounds(args, servers, run_id))
        finally:
            for server in servers.values():
                stop(server.process)
    report["elapsed_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    report["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    report["goals"] = goals(report["summary"])
    report["stall_warnings"] = stall_warnings(report["summary"])
    print()
    print(table(report["summary"], args.processes))
    print()
    for line in stall_warnings(report["summary"]):
        print(line)
    for goal in report["goals"]:
        print(f"{'MET    ' if goal['met'] else 'NOT MET'}  {goal['goal']}: {goal['measured']}")
    print(f"\nresults: {write_results(args, report)} ({report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
