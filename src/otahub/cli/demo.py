"""`otahub demo`: the whole system in under a minute, on the embedded defaults.

It starts an otahub server in this process (a fresh data directory, SQLite, the embedded MQTT endpoint on
plain TCP, a virtual clock), and then, with boto3 as any user would: creates a thing group of simulated
devices, uploads a signed firmware image to otahub's S3, creates an OTA update with an exponential rollout,
an abort rule and a timeout, and lets a fleet of reference agents (``device/fleet.py``) take it over MQTT:
notify-next, start-next, the image over the MQTT stream (some devices lose their connection and resume),
signature check, A/B install, self-test, report. A share of them fail their self-test or reject the image.

The rollout is rate-limited per minute, so the demo moves the server's clock ``--minute-seconds`` of real
time per rollout minute (the clock is virtual, as in the tests); the display shows the server's own counts
(DescribeJob) live, and the end a summary per status and reason (ListJobExecutionsForJob).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import click
import uvicorn
from botocore.config import Config
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from otahub.app import App, build_app
from otahub.cli.clock import clock_call
from otahub.cli.listen import bind_listener
from otahub.cli.serve_demo import _certificate
from otahub.config import Settings
from otahub.device.fleet import DeviceResult, Fleet, HttpAccess, Mix
from otahub.device.mqtt_link import MqttEndpoint

GROUP = "demo-fleet"
BUCKET = "demo-firmware"
IMAGE_KEY = "fw-1.0.1.bin"
COUNTS = (("numberOfQueuedThings", "queued"), ("numberOfInProgressThings", "running"),
          ("numberOfSucceededThings", "ok"), ("numberOfFailedThings", "failed"),
          ("numberOfRejectedThings", "rejected"), ("numberOfTimedOutThings", "timeout"),
          ("numberOfCanceledThings", "canceled"), ("numberOfRemovedThings", "removed"))


def firmware_image(size: int = 256 * 1024) -> bytes:
    """A deterministic stand-in for a firmware image (SHA-256 counter blocks)."""
    blocks = (hashlib.sha256(n.to_bytes(4, "big")).digest() for n in range(-(-size // 32)))
    return b"".join(blocks)[:size]


@dataclass
class Server:
    """An otahub server on a background thread of this process."""

    app: App
    endpoint: str
    thread: threading.Thread
    server: uvicorn.Server

    @classmethod
    def start(cls, data_dir: Path, port: int) -> Server:
        settings = Settings(data_dir=data_dir, host="127.0.0.1", port=port, virtual_clock=True,
                            mqtt_plain_port=0)
        app = build_app(settings)
        sock = bind_listener("127.0.0.1", port)
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app.endpoints.http = endpoint
        config = uvicorn.Config(app.asgi, log_level="warning", access_log=False, lifespan="on", http="httptools")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="otahub", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not (server.started and app.endpoints.mqtt_plain_port) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            raise click.ClickException("the server did not start")
        return cls(app, endpoint, thread, server)

    def client(self, service: str) -> Any:
        creds = self.app.credentials
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
                            config=Config(retries={"max_attempts": 5}, s3={"addressing_style": "path"}))

    def advance(self, seconds: float) -> str:
        creds = self.app.credentials
        return clock_call(self.endpoint, seconds, Credentials(creds.access_key_id, creds.secret_access_key),
                          "us-east-1")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Staged:
    job_id: str
    ota_id: str
    things: list[str]
    signer_dir: Path


def stage(server: Server, devices: int, work: Path, console: Console) -> Staged:
    """What an operator does with boto3: things in a group, the image in S3, a signed OTA update."""
    iot, s3 = server.client("iot"), server.client("s3")
    iot.create_thing_group(thingGroupName=GROUP)
    things = [f"demo-device-{n:03d}" for n in range(devices)]
    for thing in things:
        iot.create_thing(thingName=thing, attributePayload={"attributes": {"model": "m1"}})
        iot.add_thing_to_thing_group(thingGroupName=GROUP, thingName=thing)
    image = firmware_image()
    s3.create_bucket(Bucket=BUCKET)
    put = s3.put_object(Bucket=BUCKET, Key=IMAGE_KEY, Body=image)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(key)
    signer_dir = work / "signer-certs"
    signer_dir.mkdir(parents=True)
    (signer_dir / "demo-signer.crt").write_text(certificate)
    account = iot.describe_thing_group(thingGroupName=GROUP)["thingGroupArn"].split(":")[4]
    ota_id = "demo-1-0-1"
    iot.create_ota_update(
        otaUpdateId=ota_id, targets=[f"arn:aws:iot:us-east-1:{account}:thinggroup/{GROUP}"],
        protocols=["MQTT", "HTTP"], roleArn=f"arn:aws:iam::{account}:role/otahub-demo",
        awsJobExecutionsRolloutConfig={"maximumPerMinute": 1000, "exponentialRate": {
            "baseRatePerMinute": max(1, devices // 8), "incrementFactor": 2.0,
            "rateIncreaseCriteria": {"numberOfNotifiedThings": max(1, devices // 8)}}},
        awsJobAbortConfig={"abortCriteriaList": [{"failureType": "FAILED", "action": "CANCEL",
                                                  "thresholdPercentage": 50.0, "minNumberOfExecutedThings": 10}]},
        awsJobTimeoutConfig={"inProgressTimeoutInMinutes": 60},
        files=[{"fileName": IMAGE_KEY, "fileLocation": {"s3Location": {"bucket": BUCKET, "key": IMAGE_KEY}},
                "codeSigning": {"customCodeSigning": {
                    "signature": {"inlineDocument": key.sign(image, ec.ECDSA(hashes.SHA256()))},
                    "certificateChain": {"certificateName": "demo-signer.crt", "inlineDocument": certificate},
                    "hashAlgorithm": "SHA256", "signatureAlgorithm": "ECDSA"}}}],
    )
    info = iot.get_ota_update(otaUpdateId=ota_id)["otaUpdateInfo"]
    mqtt_port = server.app.endpoints.mqtt_plain_port
    console.print(f"[bold]otahub demo[/] on {server.endpoint} (MQTT on 127.0.0.1:{mqtt_port})")
    console.print(f"  thing group [cyan]{GROUP}[/]: {devices} simulated devices")
    console.print(f"  s3://{BUCKET}/{IMAGE_KEY}: {len(image) // 1024} KiB, ETag {put['ETag']}, signed ECDSA P-256")
    console.print(f"  OTA update [cyan]{ota_id}[/]: {info['otaUpdateStatus']}, job {info['awsIotJobId']}, "
                  f"exponential rollout from {max(1, devices // 8)}/min, abort at 50% failed")
    return Staged(str(info["awsIotJobId"]), ota_id, things, signer_dir)


@dataclass
class Watch:
    """What the display shows: the server's counts, the devices' own results, the server's time."""

    total: int
    counts: dict[str, int] = field(default_factory=dict)
    job_status: str = "IN_PROGRESS"
    server_time: str = ""
    results: list[DeviceResult] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def view(self) -> Group:
        done = sum(self.counts.get(name, 0) for name, _ in COUNTS[2:])
        progress = Progress(TextColumn("rollout"), BarColumn(), MofNCompleteColumn(), expand=False)
        progress.add_task("", total=self.total, completed=done)
        table = Table(title=f"job {self.job_status} · server time {self.server_time} · "
                            f"{time.monotonic() - self.started:.1f} s", show_edge=False)
        for _, label in COUNTS:
            table.add_column(label, justify="right")
        table.add_row(*(str(self.counts.get(name, 0)) for name, _ in COUNTS))
        reconnects = sum(1 for r in self.results if r.connects > 1)
        return Group(progress, table, f"devices finished: {len(self.results)}/{self.total} "
                                      f"(resumed after a lost connection: {reconnects})\n")


def summary_table(iot: Any, job_id: str, results: list[DeviceResult]) -> Table:
    """Things per execution status on the server, with the reasons the devices reported."""
    statuses: Counter[str] = Counter()
    for page in iot.get_paginator("list_job_executions_for_job").paginate(jobId=job_id):
        statuses.update(entry["jobExecutionSummary"]["status"] for entry in page["executionSummaries"])
    reasons: dict[str, Counter[str]] = {}
    for result in results:
        reasons.setdefault(result.status, Counter())[result.reason or result.message or "-"] += 1
    table = Table(title="executions per status, with the reasons the devices reported")
    table.add_column("status")
    table.add_column("things", justify="right")
    table.add_column("reasons reported")
    for status, count in sorted(statuses.items()):
        told = ", ".join(f"{reason} x{n}" for reason, n in reasons.get(status, Counter()).most_common())
        table.add_row(status, str(count), told)
    return table


async def rollout(server: Server, staged: Staged, mqtt: MqttEndpoint, work: Path, mix: Mix, minute_seconds: float,
                  console: Console, timeout: float) -> Watch:
    iot = server.client("iot")
    watch = Watch(len(staged.things))
    creds = server.app.credentials
    fleet = Fleet(staged.things, work / "devices", staged.signer_dir, mix,
                  http=HttpAccess(server.endpoint, "us-east-1", creds.access_key_id, creds.secret_access_key),
                  mqtt=mqtt, on_result=watch.results.append)
    devices = asyncio.create_task(fleet.run(rounds=10_000, poll_seconds=2.0))
    deadline = time.monotonic() + timeout
    next_minute = time.monotonic() + minute_seconds
    with Live(watch.view(), console=console, refresh_per_second=8, transient=False) as live:
        while time.monotonic() < deadline:
            job = await asyncio.to_thread(iot.describe_job, jobId=staged.job_id)
            watch.counts, watch.job_status = dict(job["job"]["jobProcessDetails"]), job["job"]["status"]
            if time.monotonic() >= next_minute:
                watch.server_time = (await asyncio.to_thread(server.advance, 60.0))[11:16]
                next_minute += minute_seconds
            live.update(watch.view())
            if watch.job_status != "IN_PROGRESS" or devices.done():
                break
            await asyncio.sleep(0.1)
        live.update(watch.view())
    devices.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await devices
    return watch


@click.command()
@click.option("--devices", default=40, show_default=True, type=click.IntRange(1, 2000),
              help="How many simulated devices.")
@click.option("--failure-rate", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Share of devices whose self-test fails (rolled back, FAILED).")
@click.option("--reject-rate", default=0.05, show_default=True, type=click.FloatRange(0, 1),
              help="Share of devices whose new image reports the old version (FAILED, rejected).")
@click.option("--drop-rate", default=0.2, show_default=True, type=click.FloatRange(0, 1),
              help="Share of devices that lose their MQTT connection mid-download and resume.")
@click.option("--minute-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Real seconds per rollout minute (the server's clock is virtual).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the server's data here (default: a temporary directory, removed at the end).")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="HTTP port (0: any).")
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(1), help="Give up after (s).")
def demo(devices: int, failure_rate: float, reject_rate: float, drop_rate: float, minute_seconds: float,
         data_dir: Path | None, port: int, timeout: float) -> None:
    """Start otahub and roll a signed OTA update out to a simulated fleet over MQTT, live."""
    console = Console()
    scratch = Path(tempfile.mkdtemp(prefix="otahub-demo-"))
    try:
        mix = Mix(failure_rate, reject_rate, (0, 20), seed=1, drop_rate=drop_rate)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    server = Server.start(data_dir or scratch / "data", port)
    try:
        staged = stage(server, devices, scratch, console)
        mqtt = MqttEndpoint("127.0.0.1", int(server.app.endpoints.mqtt_plain_port or 0))
        watch = asyncio.run(rollout(server, staged, mqtt, scratch, mix, minute_seconds, console, timeout))
        iot = server.client("iot")
        console.print(summary_table(iot, staged.job_id, watch.results))
        job = iot.describe_job(jobId=staged.job_id)["job"]
        console.print(f"job {staged.job_id}: [bold]{job['status']}[/] after {time.monotonic() - watch.started:.1f} s"
                      f" ({len(watch.results)} of {devices} devices reported an outcome)")
        if job["status"] == "IN_PROGRESS":
            raise SystemExit(1)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
