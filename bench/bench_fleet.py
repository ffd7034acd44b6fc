"""A fleet completes an OTA update over MQTT: ``--devices`` simulated devices (default 5,000) take a signed
256 KiB image over the MQTT stream, on otahub's embedded endpoint and through Mosquitto (external broker mode).

One command: ``.venv/bin/python bench/bench_fleet.py`` (or ``make bench-fleet``). For each mode:

1. a fresh data dir with the things bulk-loaded into one group (``bench_jobs.load_fleet``);
2. ``otahub serve`` as a subprocess (real clock): ``--mqtt-plain-port`` (embedded), or
   ``--mqtt-broker-url`` to a Mosquitto started here (external);
3. the devices (``otahub.device.fleet.Fleet``: reference agents as asyncio tasks in this process, aiomqtt)
   connect and wait for notify-next; the image is uploaded with boto3, and CreateOTAUpdate (protocols MQTT,
   no rollout limit) is the start;
4. the end is the last device outcome. Reported: devices completed per second, job-execution updates
   (UpdateJobExecution over MQTT) per second, all jobs requests per second, stream blocks served, the
   server's RSS before and its peak (VmHWM) after, the CPU seconds of the server, of Mosquitto and of
   this (device) process, so the reader sees which side was the bottleneck.

Output: a table on stdout; JSON to bench/results/fleet-<UTC timestamp>.json (gitignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bench_jobs import KEY, SECRET, load_fleet, machine_info, memory_kib, open_app, thing_name
from otahub.cli.demo import firmware_image
from otahub.cli.serve_demo import _certificate
from otahub.device.fleet import Fleet, HttpAccess, Mix
from otahub.device.mqtt_link import MqttEndpoint

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GROUP = "bench-fleet"
LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")
MQTT_LISTENING = re.compile(r"mqtt \(plain.*listening on [\d.]+:(\d+)")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_mosquitto(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                      "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\nset_tcp_nodelay true\n")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return process, port


def start_server(data_dir: Path, extra: list[str]) -> tuple[subprocess.Popen[str], str, int | None]:
    command = [str(BIN / "otahub"), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir),
               "--access-key-id", KEY, "--secret-access-key", SECRET, "--log-level", "warning", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    endpoint, mqtt_port = "", None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if (found := LISTENING.search(line)) and not endpoint:
            endpoint = found.group(1)
        if found := MQTT_LISTENING.search(line):
            mqtt_port = int(found.group(1))
        if endpoint and ("--mqtt-plain-port" not in extra or mqtt_port) and (
                "--mqtt-broker-url" not in extra or "(external broker) answering" in line):
            return process, endpoint, mqtt_port
    process.kill()
    raise RuntimeError("otahub did not start")


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET, config=Config(s3={"addressing_style": "path"},
                                                                    retries={"max_attempts": 5}))


def create_update(endpoint: str, image: bytes, signer: ec.EllipticCurvePrivateKey, certificate: str) -> str:
    iot, s3 = client("iot", endpoint), client("s3", endpoint)
    s3.create_bucket(Bucket="bench-fw")
    s3.put_object(Bucket="bench-fw", Key="fw.bin", Body=image)
    iot.create_ota_update(
        otaUpdateId="bench", targets=[f"arn:aws:iot:us-east-1:123456789012:thinggroup/{GROUP}"],
        protocols=["MQTT"], roleArn="arn:aws:iam::123456789012:role/ota",
        files=[{"fileName": "fw.bin", "fileLocation": {"s3Location": {"bucket": "bench-fw", "key": "fw.bin"}},
                "codeSigning": {"customCodeSigning": {
                    "signature": {"inlineDocument": signer.sign(image, ec.ECDSA(hashes.SHA256()))},
                    "certificateChain": {"certificateName": "signer.crt", "inlineDocument": certificate},
                    "hashAlgorithm": "SHA256", "signatureAlgorithm": "ECDSA"}}}])
    return str(iot.get_ota_update(otaUpdateId="bench")["otaUpdateInfo"]["awsIotJobId"])


async def run_fleet(fleet: Fleet, start: Any) -> tuple[Any, float, float]:
    """The fleet connects and waits; ``start()`` (in a thread) creates the update; returns (summary, t0, t1)."""
    ends: list[float] = []
    fleet.on_result = lambda _result: ends.append(time.monotonic())
    devices = asyncio.create_task(fleet.run(rounds=3, poll_seconds=600.0))
    await connected(fleet)
    t0 = time.monotonic()
    await asyncio.to_thread(start)
    summary = await devices
    return summary, t0, max(ends) if ends else time.monotonic()


async def connected(fleet: Fleet, timeout: float = 300.0) -> None:
    """Until every device has subscribed (each waits on notify-next after its first empty start-next)."""
    deadline = time.monotonic() + timeout
    while fleet.calls["start_next"] < len(fleet.things) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def one_mode(mode: str, args: argparse.Namespace, work: Path, image: bytes) -> dict[str, Any]:
    data_dir = work / f"data-{mode}"
    app = open_app(data_dir)
    load_fleet(app.engine, args.devices, {GROUP: range(args.devices)}, datetime.now(UTC))
    app.engine.dispose()
    broker = None
    if mode == "embedded":
        extra = ["--mqtt-plain-port", "0"]
    else:
        broker, broker_port = start_mosquitto(work)
        extra = ["--mqtt-broker-url", f"mqtt://127.0.0.1:{broker_port}", "--mqtt-share-group", ""]
    server, endpoint, mqtt_port = start_server(data_dir, extra)
    port = mqtt_port if mode == "embedded" else broker_port
    assert port is not None
    signer = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(signer)
    certs = work / f"certs-{mode}"
    certs.mkdir()
    (certs / "signer.crt").write_text(certificate)
    things = [thing_name(n) for n in range(args.devices)]
    fleet = Fleet(things, Path(tempfile.mkdtemp(prefix=f"fleet-{mode}-", dir=args.device_dir)), certs, Mix(),
                  http=HttpAccess(endpoint, "us-east-1", KEY, SECRET),
                  mqtt=MqttEndpoint("127.0.0.1", port, protocol=5 if mode == "mosquitto" else 4, timeout=300.0),
                  block_size=args.block_size)
    try:
        before = memory_kib(server.pid)
        cpu_server0, cpu_broker0 = cpu_seconds(server.pid), cpu_seconds(broker.pid) if broker else 0.0
        cpu_self0 = resource.getrusage(resource.RUSAGE_SELF)
        summary, t0, t1 = asyncio.run(run_fleet(fleet, lambda: create_update(endpoint, image, signer, certificate)))
        cpu_self1 = resource.getrusage(resource.RUSAGE_SELF)
        wall = t1 - t0
        after = memory_kib(server.pid)
        result = {
            "mode": mode, "devices": args.devices, "image_bytes": len(image), "block_size": args.block_size,
            "outcomes": summary.counts, "wall_s": round(wall, 2),
            "devices_per_s": round(args.devices / wall, 1),
            "updates": fleet.calls["update"], "updates_per_s": round(fleet.calls["update"] / wall, 1),
            "jobs_requests": sum(fleet.calls.values()),
            "blocks": args.devices * -(-len(image) // args.block_size),
            "blocks_per_s": round(args.devices * -(-len(image) // args.block_size) / wall, 1),
            "server_rss_before_mib": round(before["VmRSS"] / 1024, 1),
            "server_peak_rss_mib": round(after["VmHWM"] / 1024, 1),
            "broker_peak_rss_mib": round(memory_kib(broker.pid)["VmHWM"] / 1024, 1) if broker else None,
            "cpu_s": {"server": round(cpu_seconds(server.pid) - cpu_server0, 1),
                      "broker": round(cpu_seconds(broker.pid) - cpu_broker0, 1) if broker else None,
                      "devices": round(cpu_self1.ru_utime + cpu_self1.ru_stime
                                       - cpu_self0.ru_utime - cpu_self0.ru_stime, 1)},
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        if broker is not None:
            broker.terminate()
            broker.wait(timeout=30)
        shutil.rmtree(fleet.work_dir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--image-kib", type=int, default=256)
    parser.add_argument("--block-size", type=int, default=4096)
    parser.add_argument("--modes", default="embedded,mosquitto")
    parser.add_argument("--device-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where the devices' slots go (tmpfs by default: the bench measures the service)")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    image = firmware_image(args.image_kib * 1024)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as scratch:
        for mode in args.modes.split(","):
            results.append(one_mode(mode, args, Path(scratch), image))
            print(json.dumps(results[-1]), flush=True)
    print()
    print(f"{'mode':10} {'devices':>7} {'wall s':>7} {'dev/s':>7} {'upd/s':>7} {'blocks/s':>9} {'peak MiB':>9} "
          f"{'cpu srv':>8} {'cpu brk':>8} {'cpu dev':>8}  outcomes")
    for r in results:
        print(f"{r['mode']:10} {r['devices']:>7} {r['wall_s']:>7} {r['devices_per_s']:>7} {r['updates_per_s']:>7} "
              f"{r['blocks_per_s']:>9} {r['server_peak_rss_mib']:>9} {r['cpu_s']['server']:>8} "
              f"{r['cpu_s']['broker'] or '-':>8} {r['cpu_s']['devices']:>8}  {r['outcomes']}")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"fleet-{stamp}.json").write_text(json.dumps({"machine": machine_info(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
