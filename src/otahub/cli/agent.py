"""`otahub agent`: the reference device agent, with A/B slots in a directory.

Over HTTP (iot-jobs-data, ``--endpoint``) by default; with ``--mqtt HOST:PORT`` it takes its jobs over the
MQTT jobs topics (waking on notify-next) and downloads over the job's MQTT stream, or its HTTP URL when the
document offers no stream. ``--cert``/``--key``/``--ca`` make the MQTT connection TLS with a client
certificate (as from CreateKeysAndCertificate; the CA is ``<data dir>/tls/device-ca.pem``).

The image is opaque to the agent, so the version a new image reports when it boots is given here:
``--image-version`` (default: the running version with the build number one higher). ``--self-test CMD``
runs ``CMD IMAGE`` after the "reboot"; exit status 0 keeps the image, anything else rolls back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import click

from otahub.device.agent import Agent, JobsTransport, Outcome
from otahub.device.download import DEFAULT_BLOCK_SIZE, RangedDownloader
from otahub.device.http_jobs import HttpJobs, jobs_data_client
from otahub.device.mqtt_jobs import MqttJobs
from otahub.device.mqtt_link import MqttEndpoint, MqttLink
from otahub.device.slots import SlotStore
from otahub.device.sources import FileSource, HttpSource
from otahub.device.status import AppVersion
from otahub.device.stream_download import StreamSource


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


def mqtt_endpoint(address: str, protocol: str, cert: Path | None, key: Path | None, ca: Path | None) -> MqttEndpoint:
    """The MQTT endpoint of the options; TLS when a client certificate is given."""
    tls: ssl.SSLContext | None = None
    if cert is not None or key is not None:
        if cert is None or key is None or ca is None:
            raise click.UsageError("--cert, --key and --ca go together")
        tls = ssl.create_default_context(cafile=str(ca))
        tls.load_cert_chain(str(cert), str(key))
    try:
        return MqttEndpoint.parse(address, tls=tls, protocol=5 if protocol == "5" else 4)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mqtt") from exc


@click.command()
@click.option("--thing", required=True, help="The thing this device is.")
@click.option("--endpoint", "--endpoint-url", "endpoint", default=None, envvar="OTAHUB_ENDPOINT",
              help="The otahub HTTP server, e.g. http://127.0.0.1:4680 (the jobs API unless --mqtt is given).")
@click.option("--mqtt", "mqtt", default=None, help="HOST:PORT of otahub's MQTT endpoint: jobs and streams over MQTT.")
@click.option("--mqtt-protocol", type=click.Choice(["3.1.1", "5"]), default="3.1.1", show_default=True)
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Client certificate (PEM) for MQTT over TLS.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Its private key (PEM).")
@click.option("--ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The CA of otahub's MQTT server certificate (<data dir>/tls/device-ca.pem).")
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
@click.option("--block-size", default=DEFAULT_BLOCK_SIZE, show_default=True, type=click.IntRange(min=256),
              help="Bytes per Range request or stream block.")
@click.option("--poll-interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between polls when no job is pending (without --once; MQTT wakes on notify-next).")
def agent(thing: str, endpoint: str | None, mqtt: str | None, mqtt_protocol: str, cert: Path | None,
          key: Path | None, ca: Path | None, slots: Path, signer_certs: Path, once: bool, version: AppVersion,
          image_version: AppVersion | None, self_test: str | None, region: str, block_size: int,
          poll_interval: float) -> None:
    """Run a device: take OTA jobs, download, verify, install into A/B slots, self-test, report."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if endpoint is None and mqtt is None:
        raise click.UsageError("give --endpoint (HTTP), --mqtt (MQTT) or both")
    store = SlotStore.open(slots, version)
    link = MqttLink(mqtt_endpoint(mqtt, mqtt_protocol, cert, key, ca), thing) if mqtt is not None else None
    sources: list[FileSource] = []
    transport: JobsTransport
    if link is not None:
        transport = MqttJobs(link)
        sources.append(StreamSource(link, slots / "stream", block_size=block_size))
    else:
        assert endpoint is not None
        transport = HttpJobs(jobs_data_client(endpoint, region), thing)
    sources.append(HttpSource(RangedDownloader(slots / "download", block_size=block_size)))

    def boot(_image: Path) -> AppVersion:
        if image_version is not None:
            return image_version
        previous = store.state.previous
        return ((store.version(previous) if previous else None) or version).next_build()

    device = Agent(transport, store, signer_certs, boot=boot, self_test=_command_self_test(self_test),
                   sources=sources, version=version)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(device, link, thing, once, poll_interval))


async def _run(device: Agent, link: MqttLink | None, thing: str, once: bool, poll_interval: float) -> None:
    try:
        if once:
            outcome = await device.run_once()
            if outcome is None:
                click.echo(f"{thing}: no pending job")
                return
            _echo(outcome)
            if outcome.status != "SUCCEEDED":
                raise SystemExit(1)
            return
        while True:
            outcome = await device.run_once()
            if outcome is None:
                await device.transport.wait_for_work(poll_interval)
            else:
                _echo(outcome)
    finally:
        if link is not None:
            await link.close()


if __name__ == "__main__":  # pragma: no cover  (until main.py adds it: python -m otahub.cli.agent)
    agent()
