"""Device downloads: a 64 MiB firmware image over otahub's presigned HTTP URL against nginx serving the same
file, and the same kind of image over otahub's MQTT streams in 4 KiB blocks.

One command: ``.venv/bin/python bench/bench_downloads.py`` (or ``make bench-downloads``). Two parts:

* **http** -- one ``otahub serve`` (port 0, a fresh data dir) and one nginx (the Debian package; installed
  with apt if missing, run in the foreground with a generated config: ``sendfile on``, access log off,
  ``worker_processes auto``, on 127.0.0.1). The image goes into otahub with boto3 ``put_object``; a job
  whose document holds ``${aws:iot:s3-presigned-url:...}`` is created for one thing, and the device's own
  iot-jobs-data DescribeJobExecution hands back the presigned GET URL, exactly what a device fetches.
  nginx serves the source file itself (the bytes that were uploaded). For each ``--clients`` count
  (default 1 and 16), client threads (http.client, one connection per download, ``readinto`` a reused
  1 MiB buffer, so the client copies nothing) download the image until ``--run-mib`` MiB have moved,
  all released together by a barrier; MiB/s = bytes / wall time from the barrier until the last client
  is done. Servers alternate within each of ``--rounds`` rounds (the order swaps every round) after a
  warm-up. Every timed download must be a 200 with exactly the image's length; one untimed download
  per server and round is checked by sha256. ``--range-requests N`` also times N sequential 4 KiB
  ``Range`` GETs on one keep-alive connection (how FreeRTOS's HTTP OTA fetches blocks). The figure
  that matters is otahub's MiB/s over nginx's, per client count (goal: >= 0.7).
* **mqtt** -- the same server with ``--mqtt-plain-port 0``; a ``--stream-mib`` MiB image is uploaded,
  CreateStream makes it file 0 of a stream, and a device (plain TCP, client id = its thing name, MQTT
  3.1.1, QoS 0 as FreeRTOS uses) subscribes to ``.../streams/{id}/data/cbor`` and fetches every 4 KiB
  block with CBOR GetStream requests: ``pipelined`` (requests for 32 blocks, the 128 KiB most one request
  is answered with, ``--window`` of them in flight, the next sent as soon as one is complete) and
  ``1-block`` (``n`` = 1, one request at a time, waiting for its block). The client is a small MQTT
  reader on a raw socket (large recv, cbor2 decode of every block), so the server, not paho, is
  measured. Blocks missing after 2 s are asked for again (a QoS 0 block can be dropped when a client's
  buffer is full); the assembled image is checked by sha256.

Server CPU is utime+stime from /proc (otahub's process; nginx's master and workers); client CPU is this
process's ``process_time`` (or curl's rusage with ``--client curl``); otahub's RSS growth is its VmHWM
after a run minus its RSS before (reset through /proc/<pid>/clear_refs). ``--git-ref REF`` runs otahub
from ``git archive REF``; without it the server inherits PYTHONPATH, so ``PYTHONPATH=<tree>/src`` runs
another source tree (docs/benchmarks.md's before/after ran two snapshots that way).
Results: tables on stdout and JSON in bench/results/downloads-<UTC timestamp>.json (gitignored).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import cbor2
from botocore.config import Config

from bench_s3 import code_info, export_commit, make_source, memory_kib, otahub_env, reset_peak_rss, sha256_file
from servers import (
    ACCESS_KEY_ID,
    BIN,
    CLK_TCK,
    REGION,
    RESULTS_DIR,
    SECRET_ACCESS_KEY,
    Server,
    launch,
    process_cpu_seconds,
    stop,
)

MIB = 1024 * 1024
GIB = 1024 * MIB
BUCKET = "bench-downloads"
KEY = "firmware/image.bin"
THING = "bench-device"
ROLE = "arn:aws:iam::123456789012:role/ota"
BLOCK = 4096
BLOCKS_PER_REQUEST = 131072 // BLOCK  # the server answers at most 128 KiB per GetStream request
RANGE_BYTES = 4096
READ_BUFFER = MIB
REREQUEST_AFTER_S = 2.0
LIBRARIES = ("otahub", "boto3", "botocore", "uvicorn", "uvloop", "httptools", "cbor2")
GOAL_RATIO = 0.7


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------


def start_otahub(workdir: Path, otahub_src: Path | None) -> tuple[Server, int]:
    """otahub with its plain-TCP MQTT endpoint; returns the server and the MQTT port."""
    log = workdir / "otahub.log"
    command = [str(BIN / "otahub"), "serve", "--port", "0", "--data-dir", str(workdir / "otahub-data"),
               "--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY,
               "--mqtt-plain-port", "0"]
    server = launch("otahub", command, log, re.compile(r"listening on (http://\S+)"), env=otahub_env(otahub_src))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"mqtt \(plain.*listening on [\d.]+:(\d+)", log.read_text(errors="replace"))
        if found:
            return server, int(found.group(1))
        time.sleep(0.05)
    stop(server.process)
    raise RuntimeError(f"otahub's MQTT endpoint did not start:\n{log.read_text(errors='replace')}")


def nginx_binary(install: bool) -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found:
        return found
    if not install:
        raise SystemExit("nginx is not installed (apt-get install nginx), and --no-install was given")
    print("installing nginx (Debian package) with apt-get ...", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True, env=env, stdout=subprocess.DEVNULL)
    return nginx_binary(install=False)


def nginx_version(binary: str) -> str:
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).strip()


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground (``daemon off``) on a generated config and a port below 32768."""

    def __init__(self, binary: str, workdir: Path, root: Path, workers: str) -> None:
        self.prefix = workdir / "nginx"
        (self.prefix / "tmp").mkdir(parents=True)
        self.binary, self.root, self.workers = binary, root, workers
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> Nginx:
        for _ in range(20):
            self.port = free_port()
            conf = self.prefix / "nginx.conf"
            conf.write_text(NGINX_CONF.format(workers=self.workers, prefix=self.prefix, port=self.port, root=self.root))
            with (self.prefix / "stderr.log").open("wb") as sink:
                self.process = subprocess.Popen([self.binary, "-p", str(self.prefix), "-e", str(self.prefix /
                                                 "error.log"), "-c", str(conf)], stdout=sink, stderr=sink,
                                                stdin=subprocess.DEVNULL)
            if wait_for_port(self.port, self.process, 10.0):
                return self
            stop(self.process)
        raise RuntimeError(f"nginx did not start: {(self.prefix / 'error.log').read_text(errors='replace')}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def pids(self) -> list[int]:
        """The master and its workers."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [self.pid, *map(int, children)]

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def free_port() -> int:
    """A port below the ephemeral range (so no client connection holds it) that nothing listens on."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------------------------
# otahub set-up: the image, the device's presigned URL, the stream
# ---------------------------------------------------------------------------------------------


def client(service: str, endpoint: str) -> Any:
    return boto3.session.Session().client(
        service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, read_timeout=300),
    )


def ensure_bucket(s3: Any) -> None:
    if BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)


def device_url(endpoint: str, source: Path) -> str:
    """Upload the image and return the presigned GET URL a device gets in its job document."""
    s3, iot, jobs_data = client("s3", endpoint), client("iot", endpoint), client("iot-jobs-data", endpoint)
    ensure_bucket(s3)
    with source.open("rb") as body:
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    iot.create_thing(thingName=THING)
    placeholder = f"${{aws:iot:s3-presigned-url:https://s3.{REGION}.amazonaws.com/{BUCKET}/{KEY}}}"
    thing_arn = iot.describe_thing(thingName=THING)["thingArn"]
    iot.create_job(jobId="bench-http", targets=[thing_arn], document=json.dumps({"url": placeholder}),
                   presignedUrlConfig={"roleArn": ROLE, "expiresInSec": 3600})
    execution = jobs_data.describe_job_execution(thingName=THING, jobId="bench-http", includeJobDocument=True)
    url: str = json.loads(execution["execution"]["jobDocument"])["url"]
    if not url.startswith(endpoint) or "X-Amz-Signature=" not in url:
        raise RuntimeError(f"the job document did not carry an otahub presigned URL: {url}")
    return url


def create_stream(endpoint: str, source: Path) -> str:
    s3, iot = client("s3", endpoint), client("iot", endpoint)
    ensure_bucket(s3)
    with source.open("rb") as body:
        s3.put_object(Bucket=BUCKET, Key="firmware/stream.bin", Body=body)
    iot.create_stream(streamId="bench-stream", roleArn=ROLE,
                      files=[{"fileId": 0, "s3Location": {"bucket": BUCKET, "key": "firmware/stream.bin"}}])
    return "bench-stream"


# ---------------------------------------------------------------------------------------------
# HTTP clients
# ---------------------------------------------------------------------------------------------


class Target:
    """One server's download URL, split for http.client."""

    def __init__(self, name: str, url: str, cpu: Callable[[], float], pid: int | None = None) -> None:
        parts = urlsplit(url)
        self.name, self.url, self.cpu, self.pid = name, url, cpu, pid  # pid: whose peak RSS to record
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.target = parts.path + (f"?{parts.query}" if parts.query else "")


def download(target: Target, view: memoryview, digest: Any = None) -> int:
    """One GET on a new connection, read into the reused buffer; returns the bytes received."""
    conn = http.client.HTTPConnection(target.host, target.port, timeout=60)
    try:
        conn.request("GET", target.target)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{target.name}: HTTP {response.status} {response.read()[:200]!r}")
        received = 0
        while n := response.readinto(view):
            received += n
            if digest is not None:
                digest.update(view[:n])
        return received
    finally:
        conn.close()


def python_run(target: Target, clients: int, per_client: int, size: int) -> dict[str, Any]:
    """`clients` threads, each downloading `per_client` times, released together."""
    barrier = threading.Barrier(clients + 1)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        view = memoryview(bytearray(READ_BUFFER))
        barrier.wait()
        for _ in range(per_client):
            t0 = time.perf_counter()
            try:
                got = download(target, view)
                if got != size:
                    raise RuntimeError(f"{target.name}: received {got} bytes, not {size}")
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                return
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    server0, client0 = target.cpu(), time.process_time()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {"wall_s": wall, "server_cpu_s": target.cpu() - server0, "client_cpu_s": time.process_time() - client0,
            "downloads": len(latencies), "latencies_s": latencies, "errors": errors}


def curl_run(target: Target, clients: int, per_client: int, size: int) -> dict[str, Any]:
    """The same with `clients` curl processes, each fetching the URL `per_client` times to /dev/null."""
    command = ["curl", "--silent", "--show-error", "--fail", "--header", "Connection: close", "--write-out",
               "%{http_code} %{size_download} %{time_total}\\n"]
    for _ in range(per_client):
        command += ["--output", "/dev/null", target.url]
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server0 = target.cpu()
    start = time.perf_counter()
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(clients)]
    outputs = [proc.communicate() for proc in procs]
    wall = time.perf_counter() - start
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    latencies, errors = [], []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode:
            errors.append(f"curl exited {proc.returncode}: {err.strip()[-200:]}")
        for line in out.split("\n"):
            if line.strip():
                code, got, total = line.split()
                if code != "200" or int(got) != size:
                    errors.append(f"{target.name}: HTTP {code}, {got} bytes")
                else:
                    latencies.append(float(total))
    return {"wall_s": wall, "server_cpu_s": target.cpu() - server0,
            "client_cpu_s": (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime),
            "downloads": len(latencies), "latencies_s": latencies, "errors": errors}


def verify(target: Target, expected: str) -> bool:
    digest = hashlib.sha256()
    download(target, memoryview(bytearray(READ_BUFFER)), digest)
    return digest.hexdigest() == expected


def ranged_run(target: Target, requests: int, size: int) -> dict[str, Any]:
    """`requests` sequential 4 KiB Range GETs on one keep-alive connection, walking the image."""
    conn = http.client.HTTPConnection(target.host, target.port, timeout=60)
    blocks = size // RANGE_BYTES
    errors: list[str] = []
    try:
        server0, start = target.cpu(), time.perf_counter()
        for index in range(requests):
            first = (index % blocks) * RANGE_BYTES
            conn.request("GET", target.target, headers={"Range": f"bytes={first}-{first + RANGE_BYTES - 1}"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 206 or len(body) != RANGE_BYTES:
                errors.append(f"HTTP {response.status}, {len(body)} bytes")
                break
        wall = time.perf_counter() - start
        return {"requests": requests, "wall_s": wall, "requests_per_s": requests / wall,
                "server_cpu_ms_per_request": 1000 * (target.cpu() - server0) / requests, "errors": errors}
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# MQTT: a small 3.1.1 client on a raw socket (QoS 0 publish and subscribe only)
# ---------------------------------------------------------------------------------------------


def _remaining(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


class RawMqtt:
    def __init__(self, port: int, client_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()
        self.recv = bytearray(256 * 1024)
        body = _string("MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big") + _string(client_id)
        self.sock.sendall(bytes([0x10]) + _remaining(len(body)) + body)
        kind, payload = self.packet()
        if kind != 0x20 or payload[1] != 0:
            raise RuntimeError(f"CONNACK refused: {kind:#x} {bytes(payload)!r}")

    def subscribe(self, *topics: str) -> None:
        body = (1).to_bytes(2, "big") + b"".join(_string(topic) + b"\x00" for topic in topics)
        self.sock.sendall(bytes([0x82]) + _remaining(len(body)) + body)
        kind, payload = self.packet()
        if kind != 0x90 or any(code & 0x80 for code in payload[2:]):
            raise RuntimeError(f"SUBACK refused: {bytes(payload)!r}")

    def publish(self, topic: str, payload: bytes) -> None:
        body = _string(topic) + payload
        self.sock.sendall(bytes([0x30]) + _remaining(len(body)) + body)

    def packet(self) -> tuple[int, memoryview]:
        """The next packet: its type nibble (as 0xN0) and its body."""
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            view = memoryview(self.recv)
            n = self.sock.recv_into(view)
            if not n:
                raise ConnectionError("the server closed the connection")
            self.buffer += view[:n]

    def _parse(self) -> tuple[int, memoryview] | None:
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        length, multiplier, pos = 0, 1, 1
        while True:
            if pos >= len(buffer):
                return None
            byte = buffer[pos]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            pos += 1
            if not byte & 0x80:
                break
        if len(buffer) < pos + length:
            return None
        kind = buffer[0] & 0xF0
        body = memoryview(bytes(buffer[pos : pos + length]))
        del buffer[: pos + length]
        return kind, body

    def message(self) -> tuple[str, memoryview]:
        """The next PUBLISH (QoS 0): topic and payload."""
        while True:
            kind, body = self.packet()
            if kind == 0x30:
                size = int.from_bytes(body[:2], "big")
                return bytes(body[2 : 2 + size]).decode(), body[2 + size :]

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()


def fetch_stream(port: int, stream_id: str, size: int, mode: str, window: int,
                 cpu: Callable[[], float]) -> dict[str, Any]:
    """Fetch every 4 KiB block of file 0: ``pipelined`` (requests of 32 blocks, ``window`` in flight) or
    ``1-block`` (one block per request, one request at a time)."""
    device = RawMqtt(port, THING)
    prefix = f"$aws/things/{THING}/streams/{stream_id}"
    device.subscribe(f"{prefix}/data/cbor", f"{prefix}/rejected/cbor")
    get = f"{prefix}/get/cbor"
    total = -(-size // BLOCK)
    per_request = BLOCKS_PER_REQUEST if mode == "pipelined" else 1
    requests = -(-total // per_request)
    image = bytearray(size)
    have = bytearray(total)
    left = [min(per_request, total - r * per_request) for r in range(requests)]
    next_request, in_flight, done, sent, rerequests = 0, 0, 0, 0, 0
    limit = window if mode == "pipelined" else 1
    device.sock.settimeout(REREQUEST_AFTER_S)
    server0, client0, start = cpu(), time.process_time(), time.perf_counter()
    try:
        while done < total:
            while in_flight < limit and next_request < requests:
                device.publish(get, cbor2.dumps({"c": "rdy", "f": 0, "l": BLOCK, "o": next_request * per_request,
                                                 "n": per_request}))
                next_request, in_flight, sent = next_request + 1, in_flight + 1, sent + 1
            try:
                topic, payload = device.message()
            except TimeoutError:  # dropped blocks: ask again for what the requests in flight still lack
                for r in range(next_request):
                    if left[r]:
                        first = r * per_request
                        bits = bytearray(-(-per_request // 8))
                        for j in range(per_request):
                            if first + j < total and not have[first + j]:
                                bits[j // 8] |= 1 << (j % 8)
                        device.publish(get, cbor2.dumps({"c": "rdy", "f": 0, "l": BLOCK, "o": first,
                                                         "b": bytes(bits), "n": per_request}))
                        rerequests += 1
                continue
            reply = cbor2.loads(payload)
            if topic.endswith("/rejected/cbor"):
                raise RuntimeError(f"GetStream rejected: {reply}")
            index = reply["i"]
            if have[index]:
                continue
            data = reply["p"]
            image[index * BLOCK : index * BLOCK + len(data)] = data
            have[index] = 1
            done += 1
            r = index // per_request
            left[r] -= 1
            if not left[r]:
                in_flight -= 1
        wall = time.perf_counter() - start
        server_cpu, client_cpu = cpu() - server0, time.process_time() - client0
    finally:
        device.close()
    return {"mode": mode, "blocks": total, "bytes": size, "wall_s": wall, "blocks_per_s": total / wall,
            "mib_per_s": size / MIB / wall, "requests": sent, "rerequests": rerequests,
            "window": limit, "blocks_per_request": per_request,
            "server_cpu_us_per_block": 1e6 * server_cpu / total, "client_cpu_us_per_block": 1e6 * client_cpu / total,
            "sha256": hashlib.sha256(image).hexdigest()}


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def run_http(args: argparse.Namespace, targets: dict[str, Target], size: int, expected: str) -> dict[str, Any]:
    runner = curl_run if args.client == "curl" else python_run
    for target in targets.values():  # warm-up: connections, page cache, the server's first-call paths
        runner(target, 2, 1, size)
    runs: list[dict[str, Any]] = []
    verified: dict[str, list[bool]] = {name: [] for name in targets}
    for round_no in range(args.rounds):
        order = list(targets) if round_no % 2 == 0 else list(reversed(targets))
        for clients in args.clients:
            per_client = max(1, round(args.run_mib * MIB / size / clients))
            for name in order:
                pid = targets[name].pid
                peak_reset = pid is not None and reset_peak_rss(pid)  # VmHWM := VmRSS now
                rss_before = memory_kib(pid)["VmHWM"] if pid is not None else None
                found = runner(targets[name], clients, per_client, size)
                if peak_reset and pid is not None and rss_before is not None:
                    found |= {"rss_before_mib": rss_before / 1024, "peak_rss_mib": memory_kib(pid)["VmHWM"] / 1024}
                found |= {"target": name, "clients": clients, "round": round_no, "per_client": per_client,
                          "mib_per_s": found["downloads"] * size / MIB / found["wall_s"]}
                runs.append(found)
                print(f"  round {round_no + 1}/{args.rounds} {clients:2d} clients {name:6s} "
                      f"{found['mib_per_s']:7.0f} MiB/s ({found['downloads']} x {size // MIB} MiB in "
                      f"{found['wall_s']:.2f} s){' ERRORS ' + str(found['errors'][:2]) if found['errors'] else ''}",
                      flush=True)
        for name, target in targets.items():
            verified[name].append(verify(target, expected))
    ranged = {}
    if args.range_requests:
        for name, target in targets.items():
            ranged_run(target, min(200, args.range_requests), size)  # warm-up
            ranged[name] = ranged_run(target, args.range_requests, size)
            print(f"  {args.range_requests} x 4 KiB Range GETs {name:6s} {ranged[name]['requests_per_s']:7.0f} "
                  f"requests/s", flush=True)
    return {"runs": runs, "verified": verified, "ranged": ranged, "summary": summarize_http(runs, size)}


def summarize_http(runs: list[dict[str, Any]], size: int) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for clients in sorted({run["clients"] for run in runs}):
        row: dict[str, Any] = {}
        for name in ("otahub", "nginx"):
            mine = [run for run in runs if run["clients"] == clients and run["target"] == name and not run["errors"]]
            if not mine:
                row[name] = None
                continue
            moved_gib = sum(run["downloads"] for run in mine) * size / GIB
            latencies = [s for run in mine for s in run["latencies_s"]]
            peaks = [run["peak_rss_mib"] - run["rss_before_mib"] for run in mine if "peak_rss_mib" in run]
            row[name] = {"mib_per_s_median": statistics.median(run["mib_per_s"] for run in mine),
                         "rss_growth_mib_max": max(peaks) if peaks else None,
                         "mib_per_s_each": [round(run["mib_per_s"]) for run in mine],
                         "download_s_median": statistics.median(latencies),
                         "server_cpu_s_per_gib": sum(run["server_cpu_s"] for run in mine) / moved_gib,
                         "client_cpu_s_per_gib": sum(run["client_cpu_s"] for run in mine) / moved_gib}
        if row.get("otahub") and row.get("nginx"):
            row["ratio"] = row["otahub"]["mib_per_s_median"] / row["nginx"]["mib_per_s_median"]
        summary[str(clients)] = row
    return summary


def run_mqtt(args: argparse.Namespace, port: int, stream_id: str, size: int, expected: str,
             cpu: Callable[[], float]) -> list[dict[str, Any]]:
    fetch_stream(port, stream_id, min(size, 2 * MIB), "pipelined", args.window, cpu)  # warm-up
    results = []
    for round_no in range(args.rounds):
        for mode in ("pipelined", "1-block"):
            found = fetch_stream(port, stream_id, size, mode, args.window, cpu) | {"round": round_no}
            found["verified"] = found.pop("sha256") == expected
            results.append(found)
            print(f"  round {round_no + 1}/{args.rounds} mqtt {mode:9s} {found['blocks_per_s']:7.0f} blocks/s "
                  f"{found['mib_per_s']:6.1f} MiB/s ({found['requests']} requests, {found['rerequests']} "
                  f"re-requests){'' if found['verified'] else ' SHA256 MISMATCH'}", flush=True)
    return results


def http_table(summary: dict[str, Any], size_mib: int) -> str:
    head = ("| clients | otahub MiB/s | nginx MiB/s | otahub / nginx | otahub server CPU s/GiB | nginx server CPU "
            "s/GiB | client CPU s/GiB otahub / nginx | one download s, otahub / nginx | otahub RSS growth MiB |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for clients, row in summary.items():
        o, n = row.get("otahub"), row.get("nginx")
        if not o or not n:
            rows.append(f"| {clients} | {'FAIL' if not o else round(o['mib_per_s_median'])} | "
                        f"{'FAIL' if not n else round(n['mib_per_s_median'])} | — | — | — | — | — | — |")
            continue
        rows.append(f"| {clients} | {o['mib_per_s_median']:.0f} | {n['mib_per_s_median']:.0f} | {row['ratio']:.2f} "
                    f"| {o['server_cpu_s_per_gib']:.2f} | {n['server_cpu_s_per_gib']:.2f} "
                    f"| {o['client_cpu_s_per_gib']:.2f} / {n['client_cpu_s_per_gib']:.2f} "
                    f"| {o['download_s_median']:.3f} / {n['download_s_median']:.3f} "
                    f"| {'—' if o['rss_growth_mib_max'] is None else round(o['rss_growth_mib_max'])} |")
    return f"{size_mib} MiB image, MiB/s = median over rounds\n" + "\n".join(rows)


def mqtt_table(results: list[dict[str, Any]]) -> str:
    head = ("| mode | blocks/s | MiB/s | requests | re-requests | server CPU µs/block | client CPU µs/block "
            "| verified |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for mode in ("pipelined", "1-block"):
        mine = [r for r in results if r["mode"] == mode]
        if not mine:
            continue
        rows.append(f"| {mode} (window {mine[0]['window']} x {mine[0]['blocks_per_request']} blocks) "
                    f"| {statistics.median(r['blocks_per_s'] for r in mine):.0f} "
                    f"| {statistics.median(r['mib_per_s'] for r in mine):.1f} | {mine[0]['requests']} "
                    f"| {sum(r['rerequests'] for r in mine)} "
                    f"| {statistics.median(r['server_cpu_us_per_block'] for r in mine):.0f} "
                    f"| {statistics.median(r['client_cpu_us_per_block'] for r in mine):.0f} "
                    f"| {all(r['verified'] for r in mine)} |")
    return "4 KiB blocks, CBOR, QoS 0, one device; blocks/s and MiB/s = median over rounds\n" + "\n".join(rows)


def goals(http: dict[str, Any] | None, mqtt: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for clients, row in (http or {}).get("summary", {}).items():
        ratio = row.get("ratio")
        found.append({"goal": f"otahub presigned GET >= {GOAL_RATIO} x nginx, {clients} client(s)",
                      "measured": "failed downloads" if ratio is None else
                      f"{row['otahub']['mib_per_s_median']:.0f} vs {row['nginx']['mib_per_s_median']:.0f} MiB/s "
                      f"= {ratio:.2f}", "met": ratio is not None and ratio >= GOAL_RATIO})
    if http is not None:
        bad = [name for name, checks in http["verified"].items() if not all(checks)]
        found.append({"goal": "every checked HTTP download matches the image (sha256)",
                      "measured": "all verified" if not bad else f"mismatch: {bad}", "met": not bad})
    if mqtt is not None:
        bad_mqtt = [r["mode"] for r in mqtt if not r["verified"]]
        found.append({"goal": "every MQTT stream download matches the image (sha256)",
                      "measured": "all verified" if not bad_mqtt else f"mismatch: {bad_mqtt}", "met": not bad_mqtt})
    return found


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _command_output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    return (done.stdout or done.stderr).strip()


def machine_info(nginx: str | None, otahub_src: Path | None, commit: str | None) -> dict[str, Any]:
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "nproc": _command_output(["nproc"]),
        "lscpu": _command_output(["lscpu"]).splitlines()[:20],
        "ram_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "nginx": nginx_version(nginx) if nginx else None,
        "curl": _command_output(["curl", "--version"]).splitlines()[0] if shutil.which("curl") else None,
        "otahub_code": code_info(otahub_src, commit),
        "clk_tck": CLK_TCK,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--parts", nargs="+", choices=("http", "mqtt"), default=["http", "mqtt"])
    parser.add_argument("--size-mib", type=int, default=64, help="HTTP image size in MiB")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="concurrent HTTP clients")
    parser.add_argument("--run-mib", type=int, default=1024,
                        help="MiB moved per timed HTTP run (each client downloads the image this / clients / size "
                             "times, at least once)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (HTTP) and repeats (MQTT)")
    parser.add_argument("--client", choices=("python", "curl"), default="python",
                        help="HTTP client: http.client threads into a reused buffer, or curl processes to /dev/null")
    parser.add_argument("--range-requests", type=int, default=2000,
                        help="also time this many sequential 4 KiB Range GETs per server (0: skip)")
    parser.add_argument("--nginx-workers", default="auto", help="nginx worker_processes")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install nginx when missing")
    parser.add_argument("--stream-mib", type=int, default=16, help="MQTT stream file size in MiB")
    parser.add_argument("--window", type=int, default=4,
                        help="pipelined MQTT: GetStream requests (of 32 blocks) in flight")
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the temporary directory")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--git-ref", metavar="REF", default=None,
                        help="run the otahub server from `git archive REF` instead of the working tree")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.size_mib < 1 or args.stream_mib < 1 or min(args.clients) < 1 or args.window < 1:
        parser.error("--rounds, --size-mib, --stream-mib, --clients and --window must be >= 1")
    if args.stream_mib * MIB // BLOCK > 98304:
        parser.error("--stream-mib: a stream file has at most 98,304 blocks of 4 KiB (384 MiB)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    report: dict[str, Any] = {"started": started.isoformat(timespec="seconds"),
                              "command": " ".join([Path(sys.executable).name, *sys.argv]),
                              "config": {k: str(v) for k, v in vars(args).items()}}
    nginx_exe = nginx_binary(not args.no_install) if "http" in args.parts else None
    http_found: dict[str, Any] | None = None
    mqtt_found: list[dict[str, Any]] | None = None
    with tempfile.TemporaryDirectory(prefix="otahub-bench-downloads-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        commit, otahub_src = export_commit(args.git_ref, workdir / "otahub-src") if args.git_ref else (None, None)
        report["machine"] = machine_info(nginx_exe, otahub_src, commit)
        server, mqtt_port = start_otahub(workdir, otahub_src)
        nginx: Nginx | None = None
        try:
            otahub_cpu = lambda: process_cpu_seconds(server.pid)  # noqa: E731
            print(f"otahub: pid {server.pid} at {server.endpoint}, MQTT on 127.0.0.1:{mqtt_port}", flush=True)
            if "http" in args.parts:
                assert nginx_exe is not None
                root = workdir / "www"
                root.mkdir()
                for path in (workdir, root):  # nginx's workers run as nobody when it is started as root
                    path.chmod(0o755)
                source = root / "image.bin"
                make_source(source, args.size_mib * MIB)
                expected = sha256_file(source)
                url = device_url(server.endpoint, source)
                nginx = Nginx(nginx_exe, workdir, root, args.nginx_workers).start()
                print(f"nginx: pid {nginx.pid} ({len(nginx.pids()) - 1} workers) at 127.0.0.1:{nginx.port}",
                      flush=True)
                targets = {"otahub": Target("otahub", url, otahub_cpu, server.pid),
                           "nginx": Target("nginx", f"http://127.0.0.1:{nginx.port}/image.bin", nginx.cpu_seconds)}
                http_found = run_http(args, targets, args.size_mib * MIB, expected)
                report["http"] = http_found
            if "mqtt" in args.parts:
                stream_source = workdir / "stream.bin"
                make_source(stream_source, args.stream_mib * MIB)
                stream_id = create_stream(server.endpoint, stream_source)
                mqtt_found = run_mqtt(args, mqtt_port, stream_id, args.stream_mib * MIB, sha256_file(stream_source),
                                      otahub_cpu)
                report["mqtt"] = mqtt_found
        finally:
            if nginx is not None:
                nginx.stop()
            stop(server.process)
    report["elapsed_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    report["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    report["goals"] = goals(http_found, mqtt_found)
    print()
    if http_found is not None:
        print(http_table(http_found["summary"], args.size_mib))
        for name, ranged in http_found["ranged"].items():
            print(f"{name}: {ranged['requests']} sequential 4 KiB Range GETs on one connection: "
                  f"{ranged['requests_per_s']:.0f} requests/s, server CPU {ranged['server_cpu_ms_per_request']:.3f} "
                  f"ms/request{' ERRORS ' + str(ranged['errors']) if ranged['errors'] else ''}")
        print()
    if mqtt_found is not None:
        print(mqtt_table(mqtt_found))
        print()
    for goal in report["goals"]:
        print(f"{'MET    ' if goal['met'] else 'NOT MET'}  {goal['goal']}: {goal['measured']}")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"downloads-{started.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nresults: {path} ({report['elapsed_s']} s)")
    return 0 if all(goal["met"] for goal in report["goals"]) else 1


if __name__ == "__main__":
    sys.exit(main())
