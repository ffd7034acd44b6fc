"""`otahub simulate`: a fleet of reference agents (``device/fleet.py``) against an otahub, and a summary table.

Things are named ``PREFIX-0000``, ``PREFIX-0001``, ...; ``--create-things`` creates them (and the group) with
boto3 first, so that an OTA update can target the group. Credentials come from boto3's usual chain
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). The exit status is 1 when a device got no outcome (no job, or
an error in its last round); planned failures and rejections are outcomes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import boto3
import click
from botocore.config import Config
from botocore.exceptions import ClientError

from otahub.device.fleet import ERROR, NO_JOB, Fleet, HttpAccess, Mix, Summary
from otahub.device.mqtt_link import MqttEndpoint


def _latency(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    low, _, high = value.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError as exc:
        raise click.BadParameter(f"expected A-B in milliseconds, e.g. 0-50, not {value!r}") from exc
    if not 0 <= bounds[0] <= bounds[1]:
        raise click.BadParameter(f"expected 0 <= A <= B, not {value!r}")
    return bounds


def thing_names(prefix: str, devices: int) -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(devices)]


def _ignore_existing(call: Any, **params: Any) -> None:
    try:
        call(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
            raise


def provision_things(iot: Any, things: list[str], group: str) -> None:
    """The group and the things, created unless they exist, and every thing in the group."""
    _ignore_existing(iot.create_thing_group, thingGroupName=group)
    for thing in things:
        _ignore_existing(iot.create_thing, thingName=thing)
        iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing)


def format_summary(summary: Summary) -> str:
    """A plain-text table of the devices, then the count per status."""
    header = ("THING", "PLAN", "STATUS", "ROUNDS", "REASON")
    rows = [header] + [(r.thing, str(r.fate), r.status, str(r.rounds), r.reason or r.message)
                       for r in summary.results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
             for row in rows]
    counts = "  ".join(f"{status} {count}" for status, count in summary.counts.items())
    return "\n".join([*lines, "", f"{len(summary.results)} devices: {counts}"])


@click.command()
@click.option("--devices", required=True, type=click.IntRange(1, 10_000), help="How many devices to run.")
@click.option("--prefix", required=True, help="Thing names are PREFIX-0000, PREFIX-0001, ...")
@click.option("--endpoint", "--endpoint-url", "endpoint", required=True, envvar="OTAHUB_ENDPOINT",
              help="The otahub server, e.g. http://127.0.0.1:4680.")
@click.option("--mqtt", "mqtt", default=None,
              help="HOST:PORT of otahub's plain MQTT endpoint: devices take jobs and streams over MQTT.")
@click.option("--mqtt-protocol", type=click.Choice(["3.1.1", "5"]), default="3.1.1", show_default=True)
@click.option("--drop-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of MQTT devices that lose their connection mid-download once (and resume).")
@click.option("--create-things", is_flag=True, help="Create the things and the group first, and add them to it.")
@click.option("--group", default=None, help="The thing group for --create-things; default: the prefix.")
@click.option("--signer-certs", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Directory of trusted code-signing certificates, named as the job documents' certfile.")
@click.option("--work-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Each device keeps its A/B slots in WORK_DIR/<thing>.")
@click.option("--failure-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of devices whose self-test fails (rolled back, FAILED).")
@click.option("--reject-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of devices whose new image reports the running version (rejected, FAILED).")
@click.option("--latency-ms", default="0-0", show_default=True, callback=_latency,
              help="Range A-B; each device waits a fixed time from it before every call to the server.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed and names, same fates.")
@click.option("--rounds", default=10, show_default=True, type=click.IntRange(1, 10_000),
              help="run_once calls per device at most.")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(0, 3600),
              help="Wait between a device's rounds that found no job.")
@click.option("--region", default="us-east-1", envvar="AWS_DEFAULT_REGION", show_default=True)
def simulate(devices: int, prefix: str, endpoint: str, mqtt: str | None, mqtt_protocol: str, drop_rate: float,
             create_things: bool, group: str | None, signer_certs: Path, work_dir: Path, failure_rate: float,
             reject_rate: float, latency_ms: tuple[int, int], seed: int, rounds: int, poll_seconds: float,
             region: str) -> None:
    """Run a simulated fleet of devices through their pending OTA jobs and print what each one did."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        mix = Mix(failure_rate, reject_rate, latency_ms, seed, drop_rate)
        broker = MqttEndpoint.parse(mqtt, protocol=5 if mqtt_protocol == "5" else 4) if mqtt else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    things = thing_names(prefix, devices)
    if create_things:
        iot = boto3.client("iot", endpoint_url=endpoint, region_name=region,
                           config=Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3}))
        provision_things(iot, things, group or prefix)
        click.echo(f"created {devices} things in group {group or prefix}")
    fleet = Fleet(things, work_dir, signer_certs, mix, http=HttpAccess(endpoint, region), mqtt=broker)
    summary = fleet.run_sync(rounds, poll_seconds)
    click.echo(format_summary(summary))
    if any(result.status in (NO_JOB, ERROR) for result in summary.results):
        raise SystemExit(1)


if __name__ == "__main__":  # pragma: no cover  (until main.py adds it: python -m otahub.cli.simulate)
    simulate()
