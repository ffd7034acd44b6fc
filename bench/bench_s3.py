"""Benchmark 64 MiB S3 uploads and downloads against otahub and moto_server, with a file copy as the bound.

One command: ``.venv/bin/python bench/bench_s3.py`` (or ``make bench-s3``). Every transfer moves one
object of ``--size-mib`` MiB (default 64) along one path, up and then down:

* ``cli``            -- ``aws s3 cp FILE s3://...`` and back (a new ``aws`` process each way, so its
  start-up is in the figure; the CLI goes multipart above 8 MiB, 10 requests at a time);
* ``boto3-transfer`` -- ``upload_file`` / ``download_file`` with the default TransferConfig (multipart
  and ranged GETs of 8 MiB, 10 threads);
* ``boto3-single``   -- one ``put_object(Body=<file>)`` / one ``get_object()['Body'].read()`` into memory.

Targets, all on the same disk as the source file, interleaved round by round (the order rotates each
round) after a warm-up pass with a smaller object:

* otahub -- ``otahub serve --port 0`` on a fresh data dir (blobs spooled to disk and fsynced);
* moto   -- ``moto_server -H 127.0.0.1 -p 0`` (moto[server] from PyPI; it reads request bodies whole into
  memory and keeps keys over ~5 MiB in temporary files, never fsynced);
* file   -- the physical bound: ``shutil.copyfile`` of the source + ``fsync`` of the copy ("up"), then
  a read-back of the copy into memory ("down"). Nothing is dropped from the page cache, so the
  read-back, and every source read, comes from memory.

Every upload carries fresh bytes (a new nonce in the first 32 bytes, so no content-addressed store can
skip work) and every download is checked by sha256 against what was sent; a transfer that fails or
does not match is reported and left out of the figures. Per target and path it reports MiB/s (median
over rounds), the server's CPU seconds per GiB moved (utime+stime of the whole process from
/proc/<pid>/stat), the client's CPU seconds per GiB (this process, plus the ``aws`` child), and the
server's peak RSS: VmHWM from /proc/<pid>/status, reset through /proc/<pid>/clear_refs before each
transfer, so "growth" is the peak within the transfer minus the RSS just before it. For the boto3
paths it also times each request (to the response headers) by operation, and for the CLI the
smallest call (start-up + one HeadBucket), so the cli figures can be read net of start-up.

``--git-ref HEAD`` runs the otahub server from ``git archive HEAD`` rather than the working tree.
After the rounds, untimed: ``--stall-probe N`` sends a HeadBucket every 5 ms during N upload_file
calls per server (does a multipart upload hold other requests up?), and ``--py-spy EXE`` profiles
otahub on every path and prints its hottest lines.
Results: a table on stdout and JSON (plus any py-spy stacks) in bench/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import linecache
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
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

BUCKET = "bench-s3"
TARGETS = ("otahub", "moto", "file")
SERVER_PATHS = ("cli", "boto3-transfer", "boto3-single")
FILE_PATH = "copy"
MIB = 1024 * 1024
GIB = 1024 * MIB
NONCE_BYTES = 32
CHUNK = MIB
LIBRARIES = ("otahub", "boto3", "botocore", "s3transfer", "awscli", "awscrt", "moto", "uvicorn", "uvloop",
             "httptools", "Werkzeug")
REPO = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Server processes (the shared plumbing is in servers.py)
# ---------------------------------------------------------------------------------------------


def start_server(name: str, workdir: Path, otahub_src: Path | None = None) -> Server:
    """otahub_src: run otahub from this source tree (a `git archive`) instead of the editable install."""
    log = workdir / f"{name}.log"
    if name == "otahub":
        command = [str(BIN / "otahub"), "serve", "--port", "0", "--data-dir", str(workdir / "otahub-data"),
                   "--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY]
        env = otahub_env(otahub_src)
        return launch(name, command, log, re.compile(r"listening on (http://\S+)"), env=env)
    command = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", "0"]
    return launch(name, command, log, re.compile(r"Running on (http://127\.0\.0\.1:\d+)"))


def otahub_env(otahub_src: Path | None) -> dict[str, str] | None:
    """PYTHONPATH comes before the editable install's .pth entry, so otahub is imported from otahub_src."""
    return None if otahub_src is None else os.environ | {"PYTHONPATH": str(otahub_src)}


def export_commit(ref: str, target: Path) -> tuple[str, Path]:
    """`git archive` of ref's src/ into target; returns the commit and the directory to import otahub from."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return commit, target / "src"


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS since start or since the last reset) of pid, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {name: int(value) for name, value in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE)}


def reset_peak_rss(pid: int) -> bool:
    """Set VmHWM back to the current RSS (Linux >= 4.0: write 5 to /proc/<pid>/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def make_source(path: Path, size: int) -> None:
    with path.open("wb") as out:
        for offset in range(0, size, 8 * MIB):
            out.write(os.urandom(min(8 * MIB, size - offset)))


def restamp(path: Path) -> str:
    """New bytes at the start of path (so every upload is new content); returns its sha256."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, os.urandom(NONCE_BYTES), 0)
    finally:
        os.close(fd)
    return sha256_file(path)


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def copy_and_fsync(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_back(path: Path, buffer: bytearray) -> None:
    """Read path into buffer, a chunk at a time, as a download into memory would."""
    view, done = memoryview(buffer), 0
    with path.open("rb", buffering=0) as handle:
        while done < len(buffer) and (n := handle.readinto(view[done : done + CHUNK])):
            done += n
    if done != len(buffer):
        raise OSError(f"{path}: read {done} bytes, expected {len(buffer)}")


def filesystem_of(path: Path) -> str:
    try:
        found = subprocess.run(["findmnt", "-no", "SOURCE,FSTYPE", "-T", str(path)], capture_output=True,
                               text=True, timeout=10, check=True)
        return " ".join(found.stdout.split())
    except (OSError, subprocess.SubprocessError):
        return f"st_dev {os.stat(path).st_dev}"


def fsync_p50_ms(directory: Path, samples: int = 50) -> float:
    """Median time of a 4 KiB write + fsync on the bench's disk."""
    path, block, times = directory / "fsync-probe", os.urandom(4096), []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for index in range(samples):
            t0 = time.perf_counter()
            os.pwrite(fd, block, 4096 * index)
            os.fsync(fd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------


def make_client(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "s3", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, read_timeout=300),
    )


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                  "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null",
                  "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""}


def run_cli(args: list[str], endpoint: str, timeout: float) -> None:
    quiet = ["--only-show-errors", "--no-progress"] if args[:2] == ["s3", "cp"] else []
    command = [str(BIN / "aws"), *args, "--endpoint-url", endpoint, *quiet]
    done = subprocess.run(command, env=cli_env(), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"aws {' '.join(args[:2])} exited {done.returncode}: {done.stderr.strip()[-500:]}")


class RequestClock:
    """Per-operation request times of a boto3 client: from before-send to the response headers (needs-retry
    fires once per attempt, in the thread that sent it), collected while ``window`` is set."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.window: dict[str, list[float]] | None = None

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send.s3.*", self._sent)
        client.meta.events.register("needs-retry.s3.*", self._answered)

    def _sent(self, **_: Any) -> None:
        self.local.start = time.perf_counter()

    def _answered(self, operation: Any = None, **_: Any) -> None:
        start, self.local.start = getattr(self.local, "start", None), None
        if start is None or operation is None:
            return  # returning None: no retry
        with self.lock:
            if self.window is not None:
                self.window.setdefault(operation.name, []).append(time.perf_counter() - start)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


@dataclass
class Transfer:
    """One timed transfer of one object along one path, one way."""

    target: str
    path: str
    direction: str  # "up" or "down"
    round: int
    bytes: int
    wall_s: float = 0.0
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0
    rss_before_kib: int | None = None
    peak_rss_kib: int | None = None
    requests_s: dict[str, list[float]] | None = None  # boto3 paths: seconds per request, by operation
    verified: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.verified and self.error is None

    @property
    def mib_per_s(self) -> float:
        return self.bytes / MIB / self.wall_s


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, servers: dict[str, Server], otahub_src: Path) -> None:
        self.args = args
        self.otahub_src = otahub_src
        self.workdir = workdir
        self.servers = servers
        self.clients = {name: make_client(server.endpoint) for name, server in servers.items()}
        self.request_clock = RequestClock()
        for client in self.clients.values():
            self.request_clock.attach(client)
        self.hwm_reset = all(reset_peak_rss(server.pid) for server in servers.values())
        self.transfers: list[Transfer] = []
        self.cli_floor_s: dict[str, list[float]] = {name: [] for name in servers}
        self.peaks_kib: dict[str, int] = {name: memory_kib(s.pid)["VmHWM"] for name, s in servers.items()}
        self.start_rss_kib: dict[str, int] = {name: memory_kib(s.pid)["VmRSS"] for name, s in servers.items()}

    # --- one timed window -----------------------------------------------------------------

    def timed(self, record: Transfer, action: Callable[[], None]) -> Transfer:
        server = self.servers.get(record.target)
        if server is not None:
            reset_peak_rss(server.pid)  # VmHWM := VmRSS now, the baseline the growth is measured from
            record.rss_before_kib = memory_kib(server.pid)["VmHWM"]
            cpu0 = process_cpu_seconds(server.pid)
        client0, children0 = time.process_time(), children_cpu_seconds()
        if record.path.startswith("boto3"):
            record.requests_s = self.request_clock.window = {}
        start = time.perf_counter()
        try:
            action()
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        record.wall_s = time.perf_counter() - start
        self.request_clock.window = None
        record.client_cpu_s = time.process_time() - client0 + children_cpu_seconds() - children0
        if server is not None:
            record.server_cpu_s = process_cpu_seconds(server.pid) - cpu0
            record.peak_rss_kib = memory_kib(server.pid)["VmHWM"]
            self.peaks_kib[record.target] = max(self.peaks_kib[record.target], record.peak_rss_kib)
        return record

    # --- one path, up then down, verified -------------------------------------------------

    def run_path(self, target: str, path: str, source: Path, size: int, round_no: int) -> list[Transfer]:
        expected = restamp(source)
        key = f"r{round_no}-{path}-{uuid.uuid4().hex[:8]}"
        sink = self.workdir / f"download-{target}-{path}.bin"
        sink.unlink(missing_ok=True)
        up = Transfer(target, path, "up", round_no, size)
        down = Transfer(target, path, "down", round_no, size)
        got: str | None = None
        if target == "file":
            copy = self.workdir / "file-copy.bin"
            buffer = bytearray(size)
            self.timed(up, lambda: copy_and_fsync(source, copy))
            if up.error is None:
                self.timed(down, lambda: read_back(copy, buffer))
                got = hashlib.sha256(buffer).hexdigest()
            copy.unlink(missing_ok=True)
        else:
            body: list[bytes] = []
            upload, download = self.actions(target, path, source, key, sink, body)
            self.timed(up, upload)
            if up.error is None:
                self.timed(down, download)
            if body:
                got = hashlib.sha256(body[0]).hexdigest()
                body.clear()
            elif down.error is None and sink.exists():
                got = sha256_file(sink)
            self.cleanup(target, key)
        sink.unlink(missing_ok=True)
        if up.error is None and down.error is None:
            if got == expected:
                up.verified = down.verified = True
            else:
                down.error = f"sha256 mismatch: sent {expected[:16]}..., got {(got or 'nothing')[:16]}..."
                up.error = "download did not match"
        return [up, down]

    def actions(self, target: str, path: str, source: Path, key: str, sink: Path,
                body: list[bytes]) -> tuple[Callable[[], None], Callable[[], None]]:
        """Upload source to key and download it again along path (into sink, or, for boto3-single, into body)."""
        client, endpoint, url = self.clients[target], self.servers[target].endpoint, f"s3://{BUCKET}/{key}"
        timeout = self.args.timeout
        if path == "cli":
            return (lambda: run_cli(["s3", "cp", str(source), url], endpoint, timeout),
                    lambda: run_cli(["s3", "cp", url, str(sink)], endpoint, timeout))
        if path == "boto3-transfer":
            return (lambda: client.upload_file(str(source), BUCKET, key),
                    lambda: client.download_file(BUCKET, key, str(sink)))

        def put() -> None:
            with source.open("rb") as handle:
                client.put_object(Bucket=BUCKET, Key=key, Body=handle)

        return put, lambda: body.append(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def cleanup(self, target: str, key: str) -> None:
        try:
            self.clients[target].delete_object(Bucket=BUCKET, Key=key)
        except Exception as exc:  # a failed upload leaves nothing to delete; report anything else
            print(f"  note: {target} delete_object {key}: {type(exc).__name__}: {exc}", flush=True)

    def cli_floor(self, target: str) -> float:
        """Wall time of the smallest CLI call: start-up plus one HeadBucket."""
        start = time.perf_counter()
        run_cli(["s3api", "head-bucket", "--bucket", BUCKET], self.servers[target].endpoint, self.args.timeout)
        return time.perf_counter() - start

    # --- the run --------------------------------------------------------------------------

    def run(self) -> None:
        for client in self.clients.values():
            client.create_bucket(Bucket=BUCKET)
        size = self.args.size_mib * MIB
        targets = list(self.args.targets)
        if self.args.warmup_mib > 0:
            warm = self.workdir / "warmup.bin"
            make_source(warm, self.args.warmup_mib * MIB)
            for target in targets:
                for path in self.paths(target):
                    failed = [t for t in self.run_path(target, path, warm, warm.stat().st_size, -1) if not t.ok]
                    for record in failed:
                        print(f"  warm-up {target} {path} {record.direction}: {record.error}", flush=True)
            warm.unlink()
            print(f"  warm-up done ({self.args.warmup_mib} MiB per path)", flush=True)
        source = self.workdir / "source.bin"
        make_source(source, size)
        for round_no in range(self.args.rounds):
            order = targets[round_no % len(targets) :] + targets[: round_no % len(targets)]
            for target in order:
                if target in self.servers and "cli" in self.args.paths:
                    self.cli_floor_s[target].append(self.cli_floor(target))
                for path in self.paths(target):
                    pair = self.run_path(target, path, source, size, round_no)
                    self.transfers.extend(pair)
                    print(f"  round {round_no + 1}/{self.args.rounds} {target:6s} {path:14s} "
                          + ", ".join(_progress(t) for t in pair), flush=True)
        source.unlink()

    # --- optional: does a multipart upload hold up other requests? ---------------------------

    def stall_probe(self, uploads: int) -> dict[str, Any]:
        """After the rounds, per server: `uploads` upload_file calls (not timed as transfers) while a second
        client sends HeadBucket every 5 ms; the slowest HeadBucket against the upload's
        CompleteMultipartUpload tells whether the server answered anything else meanwhile."""
        source = self.workdir / "probe.bin"
        make_source(source, self.args.size_mib * MIB)
        found: dict[str, Any] = {}
        for name, server in self.servers.items():
            prober = make_client(server.endpoint)
            idle = [_timed_call(prober.head_bucket, Bucket=BUCKET) for _ in range(20)]
            runs = [self._probed_upload(name, prober, source) for _ in range(uploads)]
            found[name] = {"idle_head_bucket_p50_ms": round(1000 * statistics.median(idle), 1), "uploads": runs}
        source.unlink()
        return found

    def _probed_upload(self, target: str, prober: Any, source: Path) -> dict[str, Any]:
        restamp(source)
        key, latencies, done = f"probe-{uuid.uuid4().hex[:8]}", [], threading.Event()

        def probe() -> None:
            while not done.is_set():
                latencies.append(_timed_call(prober.head_bucket, Bucket=BUCKET))
                time.sleep(0.005)

        thread = threading.Thread(target=probe)
        thread.start()
        requests: dict[str, list[float]] = {}
        self.request_clock.window = requests
        try:
            wall = _timed_call(self.clients[target].upload_file, str(source), BUCKET, key)
        finally:
            self.request_clock.window = None
            done.set()
            thread.join()
        self.cleanup(target, key)
        complete = requests.get("CompleteMultipartUpload", [0.0])
        found: dict[str, Any] = {"upload_ms": round(1000 * wall), "complete_ms": round(1000 * max(complete)),
                                 "head_bucket_calls": len(latencies)}
        if latencies:  # none when the upload was over before the first probe
            found |= {"head_bucket_p50_ms": round(1000 * statistics.median(latencies), 1),
                      "head_bucket_max_ms": round(1000 * max(latencies))}
        return found

    # --- optional: where otahub's time goes, by py-spy ------------------------------------

    def profile_otahub(self, py_spy: str, repeats: int, out_dir: Path, stamp: str) -> dict[str, Any]:
        """After the measured rounds: py-spy attached to otahub over `repeats` transfers per path and
        direction (not timed). Raw stacks go next to the JSON; the summary keeps the hottest lines."""
        server, size = self.servers["otahub"], self.args.size_mib * MIB
        source, sink = self.workdir / "profile.bin", self.workdir / "profile-download.bin"
        make_source(source, size)
        found: dict[str, Any] = {}
        for path in self.paths("otahub"):
            for direction in ("up", "down"):
                raw = out_dir / f"s3-{stamp}-pyspy-{path}-{direction}.txt"
                keys = [f"profile-{path}-{uuid.uuid4().hex[:8]}" for _ in range(repeats)]
                body: list[bytes] = []
                if direction == "down":
                    keys = keys[:1]
                    self.actions("otahub", path, source, keys[0], sink, body)[0]()
                spy = subprocess.Popen([py_spy, "record", "--pid", str(server.pid), "--rate", "250", "--threads",
                                        "--format", "raw", "--output", str(raw)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(1.0)  # let it attach
                for index in range(repeats):
                    key = keys[index] if direction == "up" else keys[0]
                    if direction == "up":
                        restamp(source)
                    upload, download = self.actions("otahub", path, source, key, sink, body)
                    (upload if direction == "up" else download)()
                    body.clear()
                time.sleep(0.2)
                spy.send_signal(signal.SIGINT)
                _, errors = spy.communicate(timeout=60)
                for key in keys:
                    self.cleanup("otahub", key)
                if not raw.exists():
                    found[f"{path} {direction}"] = {"error": errors.decode(errors="replace").strip()[-300:]}
                    continue
                found[f"{path} {direction}"] = hot_lines(raw, self.otahub_src) | {"raw": str(raw),
                                                                                  "transfers": repeats}
        sink.unlink(missing_ok=True)
        source.unlink()
        return found

    def paths(self, target: str) -> list[str]:
        return [FILE_PATH] if target == "file" else [p for p in SERVER_PATHS if p in self.args.paths]


def _progress(record: Transfer) -> str:
    if not record.ok:
        return f"{record.direction} FAILED ({record.error})"
    return f"{record.direction} {record.mib_per_s:6.0f} MiB/s"


# ---------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------


def summarize(transfers: list[Transfer]) -> dict[str, dict[str, Any]]:
    """Per "target/path": per direction, the median MiB/s over good rounds and CPU per GiB."""
    summary: dict[str, dict[str, Any]] = {}
    for record in transfers:
        entry = summary.setdefault(f"{record.target}/{record.path}", {"target": record.target, "path": record.path})
        entry.setdefault(record.direction, []).append(record)
    for entry in summary.values():
        for direction in ("up", "down"):
            records: list[Transfer] = entry.pop(direction, [])
            good = [r for r in records if r.ok]
            gib = sum(r.bytes for r in good) / GIB
            server_cpu = [r.server_cpu_s for r in good if r.server_cpu_s is not None]
            peaks = [r.peak_rss_kib for r in good if r.peak_rss_kib is not None]
            growth = [r.peak_rss_kib - r.rss_before_kib for r in good
                      if r.peak_rss_kib is not None and r.rss_before_kib is not None]
            entry[direction] = {
                "mib_per_s": statistics.median(r.mib_per_s for r in good) if good else None,
                "mib_per_s_by_round": [round(r.mib_per_s, 1) if r.ok else None for r in records],
                "wall_s_by_round": [round(r.wall_s, 3) for r in records],
                "wall_s_median": statistics.median(r.wall_s for r in good) if good else None,
                "server_cpu_s_per_gib": sum(server_cpu) / gib if server_cpu and gib else None,
                "client_cpu_s_per_gib": sum(r.client_cpu_s for r in good) / gib if gib else None,
                "server_peak_rss_mib": max(peaks) / 1024 if peaks else None,
                "server_rss_growth_mib": max(growth) / 1024 if growth else None,
                "requests": _request_summary(good),
                "failures": [r.error for r in records if not r.ok],
            }
    return summary


# A leaf frame that is a thread waiting, not working: an executor thread blocked on its work queue.
IDLE_LEAF = re.compile(r"^_worker \(concurrent/futures/thread\.py:\d+\)$")
# Frames that enclose nearly every sample, so their inclusive share says nothing.
ENTRY_FRAME = re.compile(r"\(otahub/cli/|^<module> \(otahub|^AwsAsgiApp\.__call__ ")


def hot_lines(raw: Path, otahub_src: Path, top: int = 8) -> dict[str, Any]:
    """From py-spy's raw (collapsed) stacks, counting only busy samples (not executor threads idling on
    their queue): the lines executing most often (self), with their source when they are otahub's,
    and otahub's functions by inclusive share. A leaf ``Runner.run`` is uvloop's C code: waiting in
    epoll or moving bytes between sockets and buffers."""
    leaves: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames, samples = stack.split(";"), int(count)
        total += samples
        if IDLE_LEAF.match(frames[-1]):
            idle += samples
            continue
        leaves[frames[-1]] = leaves.get(frames[-1], 0) + samples
        for function in {re.sub(r":\d+\)$", ")", f) for f in frames if "(otahub/" in f and not ENTRY_FRAME.search(f)}:
            inclusive[function] = inclusive.get(function, 0) + samples
    busy = max(1, total - idle)

    def source_of(frame: str) -> str:
        match = re.search(r"\((otahub/[^:]+):(\d+)\)$", frame)
        return linecache.getline(str(otahub_src / match.group(1)), int(match.group(2))).strip() if match else ""

    ranked = sorted(leaves.items(), key=lambda item: -item[1])[:top]
    return {
        "samples": total,
        "busy_samples": total - idle,
        "self": [[round(100 * n / busy, 1), frame, source_of(frame)] for frame, n in ranked],
        "otahub_inclusive": [[round(100 * n / busy, 1), function]
                             for function, n in sorted(inclusive.items(), key=lambda item: -item[1])[:top]],
    }


def profile_lines(profile: dict[str, Any]) -> list[str]:
    lines = []
    for name, found in profile.items():
        if "error" in found:
            lines.append(f"py-spy otahub {name}: failed: {found['error']}")
            continue
        lines.append(f"py-spy otahub {name} ({found['transfers']} transfers; {found['busy_samples']} busy samples "
                     f"of {found['samples']}), hottest lines, % of busy samples:")
        lines += [f"  {pct:5.1f}%  {frame}" + (f"   `{text}`" if text else "") for pct, frame, text in found["self"]]
        lines.append("  otahub functions, inclusive: "
                     + ", ".join(f"{pct:.0f}% {function}" for pct, function in found["otahub_inclusive"][:5]))
    return lines


def _timed_call(action: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    start = time.perf_counter()
    action(*args, **kwargs)
    return time.perf_counter() - start


def stall_lines(probe: dict[str, Any]) -> list[str]:
    lines = []
    for name, found in probe.items():
        runs = "; ".join(f"upload {r['upload_ms']} ms, Complete {r['complete_ms']} ms, HeadBucket p50 "
                         f"{r.get('head_bucket_p50_ms', '—')} ms max {r.get('head_bucket_max_ms', '—')} ms"
                         for r in found["uploads"])
        lines.append(f"stall probe {name} (HeadBucket every 5 ms during upload_file; idle p50 "
                     f"{found['idle_head_bucket_p50_ms']} ms): {runs}")
    return lines


def _request_summary(records: list[Transfer]) -> dict[str, dict[str, float]]:
    """Per operation: requests per transfer and the median request time in ms."""
    times: dict[str, list[float]] = {}
    for record in records:
        for operation, seconds in (record.requests_s or {}).items():
            times.setdefault(operation, []).extend(seconds)
    return {op: {"per_transfer": len(ts) / len(records), "median_ms": round(1000 * statistics.median(ts), 1)}
            for op, ts in times.items()}


def request_lines(summary: dict[str, dict[str, Any]]) -> list[str]:
    """Where the wall time of the multipart uploads went, request by request."""
    lines = []
    for entry in summary.values():
        up = entry["up"]
        if entry["path"] != "boto3-transfer" or up["mib_per_s"] is None or not up["requests"]:
            continue
        wall_ms = 1000 * up["wall_s_median"]
        parts = ", ".join(f"{op} {r['per_transfer']:g} x {r['median_ms']:.0f} ms" for op, r in up["requests"].items())
        complete = up["requests"].get("CompleteMultipartUpload")
        share = f"; CompleteMultipartUpload is {complete['median_ms'] / wall_ms:.0%} of it" if complete else ""
        lines.append(f"{entry['target']} upload_file: {wall_ms:.0f} ms per object (median): {parts}{share}")
    return lines


def _fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pair(entry: dict[str, Any], field: str, digits: int) -> str:
    return f"{_fmt(entry['up'][field], digits)} / {_fmt(entry['down'][field], digits)}"


def _rate(side: dict[str, Any]) -> str:
    return "FAIL" if side["failures"] and side["mib_per_s"] is None else _fmt(side["mib_per_s"])


def table(summary: dict[str, dict[str, Any]]) -> str:
    head = ("| target | path | up MiB/s | down MiB/s | server CPU s/GiB up / down | client CPU s/GiB up / down "
            "| server peak RSS MiB up / down | server RSS growth MiB up / down |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for entry in summary.values():
        rows.append(
            f"| {entry['target']} | {entry['path']} | {_rate(entry['up'])} | {_rate(entry['down'])} "
            f"| {_pair(entry, 'server_cpu_s_per_gib', 2)} | {_pair(entry, 'client_cpu_s_per_gib', 2)} "
            f"| {_pair(entry, 'server_peak_rss_mib', 0)} | {_pair(entry, 'server_rss_growth_mib', 1)} |"
        )
    return "\n".join(rows)


def memory_lines(bench: Bench, summary: dict[str, dict[str, Any]], size_mib: int) -> list[str]:
    lines = []
    for name in bench.servers:
        growth = [(e[d]["server_rss_growth_mib"], f"{e['path']} {d}") for e in summary.values()
                  if e["target"] == name for d in ("up", "down") if e[d]["server_rss_growth_mib"] is not None]
        worst = max(growth, default=(None, ""))
        lines.append(
            f"{name}: RSS {bench.start_rss_kib[name] / 1024:.0f} MiB after start-up, peak (VmHWM) "
            f"{bench.peaks_kib[name] / 1024:.0f} MiB over the run; largest growth within one {size_mib} MiB "
            f"transfer {_fmt(worst[0], 1)} MiB ({worst[1]})"
        )
    if not bench.hwm_reset:
        lines.append("note: /proc/<pid>/clear_refs was not writable, so peaks are since server start")
    return lines


def cli_lines(bench: Bench, summary: dict[str, dict[str, Any]], size_mib: int) -> list[str]:
    """The aws CLI's fixed cost, and the cli figures net of it."""
    lines = []
    for name, floor_s in bench.cli_floor_s.items():
        entry = summary.get(f"{name}/cli")
        if not floor_s or entry is None:
            continue
        floor = statistics.median(floor_s)
        net = [f"{d} {size_mib / (entry[d]['wall_s_median'] - floor):.0f}" for d in ("up", "down")
               if entry[d]["wall_s_median"] is not None and entry[d]["wall_s_median"] > floor]
        lines.append(f"{name}: the smallest aws CLI call (start-up + one HeadBucket) takes {floor:.2f} s (median); "
                     f"the cli rows include it once per direction; net of it, MiB/s: {', '.join(net) or '—'}")
    return lines


def goals(summary: dict[str, dict[str, Any]], size_mib: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def worst_growth(target: str) -> float | None:
        growth = [e[d]["server_rss_growth_mib"] for e in summary.values() if e["target"] == target
                  for d in ("up", "down") if e[d]["server_rss_growth_mib"] is not None]
        return max(growth, default=None)

    worst, moto = worst_growth("otahub"), worst_growth("moto")
    if worst is not None:
        contrast = f"; moto: {moto:.1f} MiB" if moto is not None else ""
        found.append({"goal": f"otahub streams: no transfer grows its RSS by the {size_mib} MiB object "
                              "(a server that buffers a body grows by at least its size)",
                      "measured": f"{worst:.1f} MiB at most = {worst / size_mib:.0%} of the object{contrast}",
                      "met": worst < size_mib})
    failures = [f"{e['target']}/{e['path']} {d}: {error}" for e in summary.values() for d in ("up", "down")
                for error in e[d]["failures"]]
    found.append({"goal": "every download matches what was uploaded (sha256)",
                  "measured": "all verified" if not failures else "; ".join(failures), "met": not failures})
    return found


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cli_version() -> str:
    try:
        done = subprocess.run([str(BIN / "aws"), "--version"], env=cli_env(), capture_output=True, text=True,
                              timeout=60, check=False)
        return (done.stdout or done.stderr).strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"


def code_info(otahub_src: Path | None, commit: str | None) -> dict[str, Any]:
    """What otahub code the server ran: a `git archive` of a commit, or the working tree (then with any
    uncommitted changes under src/ listed)."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30,
                                  check=True)
        except (OSError, subprocess.SubprocessError):
            return "unknown"
        return done.stdout.strip()

    probe = subprocess.run([sys.executable, "-c", "import otahub; print(otahub.__file__)"], capture_output=True,
                           text=True, env=otahub_env(otahub_src), check=False)
    info: dict[str, Any] = {"imported_from": probe.stdout.strip() or probe.stderr.strip()[-200:]}
    if commit is not None:
        return info | {"source": "git archive", "commit": commit, "subject": git("log", "-1", "--format=%s", commit)}
    return info | {"source": "working tree", "commit": git("rev-parse", "HEAD"),
                   "subject": git("log", "-1", "--format=%s"),
                   "uncommitted_in_src": git("status", "--porcelain", "--", "src").splitlines()}


def crt_in_use() -> bool:
    """Whether botocore found awscrt (then it signs with the CRT signer and computes CRCs with it)."""
    from botocore.compat import HAS_CRT

    return bool(HAS_CRT)


def machine_info(workdir: Path, otahub_src: Path | None, commit: str | None) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "ram_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "botocore_uses_crt": crt_in_use(),
        "aws_cli": cli_version(),
        "otahub_code": code_info(otahub_src, commit),
        "workdir": str(workdir),
        "filesystem": filesystem_of(workdir),
        "fsync_4k_p50_ms": round(fsync_p50_ms(workdir), 3),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds over all targets")
    parser.add_argument("--size-mib", type=int, default=64, help="object size in MiB")
    parser.add_argument("--warmup-mib", type=int, default=16,
                        help="object size of the unmeasured warm-up pass over every target and path (0: none)")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--paths", nargs="+", choices=SERVER_PATHS, default=list(SERVER_PATHS),
                        help="client paths for the server targets")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed for one aws CLI call")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="parent of the temporary directory holding the source, downloads and otahub's data "
                             "dir (default: the system temp dir)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--git-ref", metavar="REF", default=None,
                        help="run the otahub server from `git archive REF` (e.g. HEAD) instead of the working tree")
    parser.add_argument("--py-spy", metavar="EXE", default=None,
                        help="after the rounds, profile otahub with this py-spy over --profile-repeats untimed "
                             "transfers per path and direction (pip install --target /tmp/pyspy py-spy)")
    parser.add_argument("--profile-repeats", type=int, default=3)
    parser.add_argument("--stall-probe", type=int, default=0, metavar="N",
                        help="after the rounds, N upload_file calls per server with a HeadBucket every 5 ms "
                             "alongside: how long does the server leave other requests waiting?")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.size_mib < 1 or args.warmup_mib < 0:
        parser.error("need --rounds >= 1, --size-mib >= 1 and --warmup-mib >= 0")
    return args


def _stamp(report: dict[str, Any]) -> str:
    return str(report["started"]).replace(":", "").replace("-", "")[:15]


def write_results(args: argparse.Namespace, report: dict[str, Any]) -> Path:
    results_dir: Path = args.results_dir
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"s3-{_stamp(report)}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    report: dict[str, Any] = {"started": started.isoformat(timespec="seconds"),
                              "config": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="otahub-bench-s3-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        commit, otahub_src = export_commit(args.git_ref, workdir / "otahub-src") if args.git_ref else (None, None)
        report["machine"] = machine_info(workdir, otahub_src, commit)
        servers: dict[str, Server] = {}
        try:
            for name in args.targets:
                if name != "file":
                    servers[name] = start_server(name, workdir, otahub_src)
                    print(f"{name}: pid {servers[name].pid} at {servers[name].endpoint}", flush=True)
            bench = Bench(args, workdir, servers, otahub_src or REPO / "src")
            bench.run()
            if args.stall_probe > 0 and servers:
                report["stall_probe"] = bench.stall_probe(args.stall_probe)
            if args.py_spy and "otahub" in servers:
                args.results_dir.mkdir(parents=True, exist_ok=True)
                report["profile"] = bench.profile_otahub(args.py_spy, args.profile_repeats, args.results_dir,
                                                         _stamp(report))
        finally:
            for server in servers.values():
                stop(server.process)
    summary = summarize(bench.transfers)
    report["elapsed_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    report["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    report["summary"] = summary
    report["memory"] = {"hwm_reset_per_transfer": bench.hwm_reset,
                        "start_rss_mib": {k: v / 1024 for k, v in bench.start_rss_kib.items()},
                        "peak_rss_mib": {k: v / 1024 for k, v in bench.peaks_kib.items()}}
    report["cli_floor_s"] = bench.cli_floor_s
    report["transfers"] = [asdict(t) for t in bench.transfers]
    report["goals"] = goals(summary, args.size_mib)
    print()
    print(table(summary))
    print()
    for line in memory_lines(bench, summary, args.size_mib):
        print(line)
    for line in request_lines(summary) + cli_lines(bench, summary, args.size_mib):
        print(line)
    for line in stall_lines(report.get("stall_probe", {})) + profile_lines(report.get("profile", {})):
        print(line)
    for goal in report["goals"]:
        print(f"{'MET    ' if goal['met'] else 'NOT MET'}  {goal['goal']}: {goal['measured']}")
    print(f"\nresults: {write_results(args, report)} ({report['elapsed_s']} s)")
    return 0 if all(goal["met"] for goal in report["goals"]) else 1


if __name__ == "__main__":
    sys.exit(main())
