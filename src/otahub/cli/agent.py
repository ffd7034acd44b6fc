"""`otahub agent`: the reference device agent over HTTP (iot-jobs-data), with A/B slots in a directory.

The image is opaque to the agent, so the version a new image reports when it boots is given here:
``--image-version`` (default: the running version with the build number one higher). ``--self-test CMD``
runs ``CMD IMAGE`` after the "reboot"; exit status 0 keeps the image, anything else rolls back.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import click

from otahub.device.agent import Agent, Outcome
from otahub.device.download import DEFAULT_BLOCK_SIZE, RangedDownloader
from otahub.device.http_jobs import HttpJobs, jobs_data_client
from otahub.device.slots import SlotStore
from otahub.device.status import AppVersion


def _version(_ctx: click.Context, _param: click.Parameter, value: str | None) -> AppVersion | None:
    if value is None:
        return None
    try:
        return AppVersion.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _command_self_test(command: str | None) -> Callable[[Path], bool]:
    def run(image: Path) -> bool:
        if command is None:
            return True
        return subprocess.run([*shlex.split(command), str(image)], check=False).returncode == 0

    return run


def _echo(outcome: Outcome) -> None:
    details = " ".join(f"{k}={v!r}" for k, v in outcome.details.items())
    click.echo(f"{outcome.job_id}: {outcome.status} {details}" + (f" ({outcome.message})" if outcome.message else ""))


@click.command()
@click.option("--thing", required=True, help="The thing this device is.")
@click.option("--endpoint", "--endpoint-url", "endpoint", required=True, envvar="OTAHUB_ENDPOINT",
              help="The otahub server, e.g. http://127.0.0.1:4680.")
@click.option("--slots", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory of the A/B slots (created if missing; the download in progress lives there too).")
@click.option("--signer-certs", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Directory of trusted code-signing certificates, named as the job documents' certfile.")
@click.option("--once", is_flag=True, help="Handle the next pending job (if any) and exit.")
@click.option("--version", "version", default="1.0.0", show_default=True, callback=_version,
              help="Version of the running image when the slot store is new (major.minor.build).")
@click.option("--image-version", default=None, callback=_version,
              help="Version the new image reports when it boots; default: the running version, build + 1.")
@click.option("--self-test", "self_test", default=None, help="Command run as CMD IMAGE after the reboot; 0 passes.")
@click.option("--region", default="us-east-1", envvar="AWS_DEFAULT_REGION", show_default=True)
@click.option("--block-size", default=DEFAULT_BLOCK_SIZE, show_default=True, type=click.IntRange(min=1),
              help="Bytes per Range request.")
@click.option("--poll-interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between polls when no job is pending (without --once).")
def agent(thing: str, endpoint: str, slots: Path, signer_certs: Path, once: bool, version: AppVersion,
          image_version: AppVersion | None, self_test: str | None, region: str, block_size: int,
          poll_interval: float) -> None:
    """Run a device: take OTA jobs over HTTP, download, verify, install into A/B slots, self-test, report."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = SlotStore.open(slots, version)
    transport = HttpJobs(jobs_data_client(endpoint, region), thing)

    def boot(_image: Path) -> AppVersion:
        if image_version is not None:
            return image_version
        previous = store.state.previous
        return ((store.version(previous) if previous else None) or version).next_build()

    device = Agent(transport, store, signer_certs, boot=boot, self_test=_command_self_test(self_test),
                   downloader=RangedDownloader(slots / "download", block_size=block_size), version=version)
    if once:
        outcome = device.run_once()
        if outcome is None:
            click.echo(f"{thing}: no pending job")
            return
        _echo(outcome)
        if outcome.status != "SUCCEEDED":
            raise SystemExit(1)
        return
    while True:
        outcome = device.run_once()
        if outcome is None:
            time.sleep(poll_interval)
        else:
            _echo(outcome)


if __name__ == "__main__":  # pragma: no cover  (until main.py adds it: python -m otahub.cli.agent)
    agent()
