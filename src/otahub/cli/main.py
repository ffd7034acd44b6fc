"""The `otahub` command. Every option can also be set as an OTAHUB_* environment variable."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn

from otahub import __version__
from otahub.app import App, build_app
from otahub.cli.agent import agent
from otahub.cli.clock import clock
from otahub.cli.demo import demo
from otahub.cli.firmware import firmware
from otahub.cli.listen import bind_listener
from otahub.cli.simulate import simulate
from otahub.cli.simulate_lorawan import simulate_lorawan
from otahub.config import ADDRESSING_STYLES, BLOB_STORES, DEFAULT_PORT, DEVICE_DOWNLOADS, Settings, SettingsError
from otahub.storage.blobs.s3 import BlobStoreError

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="otahub")
def main() -> None:
    """otahub: self-hosted OTA firmware updates that speak the AWS IoT APIs.

    Point boto3 or the AWS CLI at it with --endpoint-url / endpoint_url.
    """


main.add_command(firmware)
main.add_command(clock)
main.add_command(agent)
main.add_command(simulate)
main.add_command(demo)
main.add_command(simulate_lorawan)


def _env_option(flag: str, **kwargs: Any) -> Callable[[F], F]:
    """A `serve` option that can also be set as OTAHUB_<FLAG> (--data-dir: OTAHUB_DATA_DIR)."""
    envvar = "OTAHUB_" + flag.removeprefix("--").upper().replace("-", "_")
    return click.option(flag, envvar=envvar, show_envvar=True, **kwargs)


def _blob_options(command: F) -> F:
    """The blob store options; their names are Settings fields, so serve passes them on as they are."""
    options = [
        _env_option(
            "--blob-store",
            default="local",
            show_default=True,
            type=click.Choice(BLOB_STORES),
            help="Where firmware bytes live: the data dir, or an external S3-compatible bucket "
            "(metadata stays in the database either way).",
        ),
        _env_option(
            "--blob-s3-bucket", default=None, help="Bucket of the external store (with --blob-store s3; it must exist)."
        ),
        _env_option("--blob-s3-prefix", default="", help="Key prefix (folder) for otahub's blobs in that bucket."),
        _env_option(
            "--blob-s3-endpoint-url", default=None, help="Endpoint of the S3-compatible store; default: AWS S3."
        ),
        _env_option(
            "--blob-s3-region", default=None, help="Region of the store; default: boto3's (AWS_REGION, config file)."
        ),
        _env_option(
            "--blob-s3-access-key-id",
            default=None,
            help="Access key id for the store; default: boto3's credential chain.",
        ),
        _env_option("--blob-s3-secret-access-key", default=None, help="Its secret (with --blob-s3-access-key-id)."),
        _env_option(
            "--blob-s3-addressing-style",
            default="auto",
            show_default=True,
            type=click.Choice(ADDRESSING_STYLES),
            help="Bucket in the path or in the host name (most self-hosted stores need path).",
        ),
        _env_option(
            "--device-downloads",
            default="proxy",
            show_default=True,
            type=click.Choice(DEVICE_DOWNLOADS),
            help="How devices fetch firmware: through otahub, or direct from the S3 store "
            "by presigned URL (needs --blob-store s3).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@_env_option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on.",
)
@_env_option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=int,
    help="HTTP port for the AWS APIs (0 picks a free one).",
)
@_env_option(
    "--data-dir",
    default="./otahub-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the SQLite database and firmware blobs live; created if missing.",
)
@_env_option(
    "--region",
    default="us-east-1",
    show_default=True,
    help="AWS region in ARNs and SigV4 scopes.",
)
@_env_option(
    "--account-id",
    default="123456789012",
    show_default=True,
    help="AWS account id in ARNs.",
)
@_env_option(
    "--database-url",
    default=None,
    help="SQLAlchemy URL; default: SQLite in the data dir.",
)
@_env_option(
    "--access-key-id",
    default=None,
    help="Access key id of a SigV4 key pair to accept.",
)
@_env_option(
    "--secret-access-key",
    default=None,
    help="Its secret (with --access-key-id).",
)
@_env_option(
    "--sqlite-synchronous",
    default="FULL",
    show_default=True,
    type=click.Choice(["FULL", "NORMAL"], case_sensitive=False),
    help="SQLite durability: FULL syncs every commit to disk before answering.",
)
@_env_option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Server log level.",
)
@_env_option(
    "--clock-control",
    is_flag=True,
    help="Let clients move server time forward (POST /_otahub/clock); for tests and demos only.",
)
@_env_option(
    "--virtual-clock",
    is_flag=True,
    help="Run on a clock that starts now and moves only with `otahub clock advance` (rehearse rollouts).",
)
@_env_option(
    "--engine-interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between rollout engine ticks on a real-time clock.",
)
@_env_option(
    "--mqtt-broker-url",
    default=None,
    help="External broker mode: answer the devices' jobs and streams topics through this MQTT 5 broker "
         "(mqtt://[user:password@]host[:port]; Mosquitto, EMQX, ...) instead of an embedded endpoint.",
)
@_env_option(
    "--mqtt-share-group",
    default="otahub",
    show_default=True,
    help="With --mqtt-broker-url: the shared-subscription group otahub replicas split the requests in; "
         "empty for plain subscriptions (one replica; needed with Mosquitto 2.0, which gives shared "
         "subscriptions no $-topics).",
)
@_env_option(
    "--mqtt-port",
    default=None,
    type=click.IntRange(min=0, max=65535),
    help="Serve MQTT devices over TLS here; each presents a client certificate (0 picks a port).",
)
@_env_option(
    "--mqtt-plain-port",
    default=None,
    type=click.IntRange(min=0, max=65535),
    help="Serve MQTT devices on plain TCP here (local use: the client id names the thing; 0 picks a port).",
)
@_env_option(
    "--demo",
    is_flag=True,
    help="After start-up, run a boto3 round trip against the server and print it.",
)
@_blob_options
def serve(
    host: str,
    port: int,
    data_dir: Path,
    region: str,
    account_id: str,
    database_url: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    sqlite_synchronous: str,
    log_level: str,
    clock_control: bool,
    virtual_clock: bool,
    engine_interval: float,
    mqtt_broker_url: str | None,
    mqtt_share_group: str,
    mqtt_port: int | None,
    mqtt_plain_port: int | None,
    demo: bool,
    **blob_options: Any,
) -> None:
    """Start the otahub server (AWS IoT APIs over HTTP) on the embedded defaults."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings(
            data_dir=data_dir,
            host=host,
            port=port,
            region=region,
            account_id=account_id,
            database_url=database_url,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            sqlite_synchronous=sqlite_synchronous.upper(),
            clock_control=clock_control,
            virtual_clock=virtual_clock,
            engine_interval=engine_interval,
            mqtt_broker_url=mqtt_broker_url,
            mqtt_share_group=mqtt_share_group,
            mqtt_port=mqtt_port,
            mqtt_plain_port=mqtt_plain_port,
            **blob_options,
        )
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        app = build_app(settings)
    except BlobStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    sock = bind_listener(host, port)
    endpoint = f"http://{host}:{sock.getsockname()[1]}"
    app.endpoints.http = endpoint
    _announce(app, settings, endpoint)
    if demo:
        from otahub.cli.serve_demo import run_demo

        threading.Thread(target=run_demo, args=(endpoint, settings.region, app.credentials), daemon=True).start()
    config = uvicorn.Config(
        app.asgi,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        http="httptools",
        loop="uvloop",
        timeout_keep_alive=75,
    )
    uvicorn.Server(config).run(sockets=[sock])  # run(), not serve(): it installs the uvloop loop


def _announce(app: App, settings: Settings, endpoint: str) -> None:
    creds = app.credentials
    origin = "generated for this data dir and kept there" if creds.generated else "known key pair"
    print(f"otahub {__version__} listening on {endpoint}", flush=True)
    print(f"  region {settings.region}, account {settings.account_id}, data dir {settings.data_dir.resolve()}")
    print(f"  credentials ({origin}):")
    print(f"    AWS_ACCESS_KEY_ID={creds.access_key_id}")
    print(f"    AWS_SECRET_ACCESS_KEY={creds.secret_access_key}")
    print(f"  try: aws iot list-things --endpoint-url {endpoint} --region {settings.region}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
