"""The `otahub` command. Every option can also be set as an OTAHUB_* environment variable."""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn

from otahub import __version__
from otahub.app import App, build_app
from otahub.cli.firmware import firmware
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


def _blob_options(command: F) -> F:
    """The blob store options; their names are Settings fields, so serve passes them on as they are."""
    options = [
        click.option("--blob-store", envvar="OTAHUB_BLOB_STORE", show_envvar=True, default="local",
                     show_default=True, type=click.Choice(BLOB_STORES),
                     help="Where firmware bytes live: the data dir, or an external S3-compatible bucket "
                          "(metadata stays in the database either way)."),
        click.option("--blob-s3-bucket", envvar="OTAHUB_BLOB_S3_BUCKET", show_envvar=True, default=None,
                     help="Bucket of the external store (with --blob-store s3; it must exist)."),
        click.option("--blob-s3-prefix", envvar="OTAHUB_BLOB_S3_PREFIX", show_envvar=True, default="",
                     help="Key prefix (folder) for otahub's blobs in that bucket."),
        click.option("--blob-s3-endpoint-url", envvar="OTAHUB_BLOB_S3_ENDPOINT_URL", show_envvar=True,
                     default=None, help="Endpoint of the S3-compatible store; default: AWS S3."),
        click.option("--blob-s3-region", envvar="OTAHUB_BLOB_S3_REGION", show_envvar=True, default=None,
                     help="Region of the store; default: boto3's (AWS_REGION, config file)."),
        click.option("--blob-s3-access-key-id", envvar="OTAHUB_BLOB_S3_ACCESS_KEY_ID", show_envvar=True,
                     default=None, help="Access key id for the store; default: boto3's credential chain."),
        click.option("--blob-s3-secret-access-key", envvar="OTAHUB_BLOB_S3_SECRET_ACCESS_KEY", show_envvar=True,
                     default=None, help="Its secret (with --blob-s3-access-key-id)."),
        click.option("--blob-s3-addressing-style", envvar="OTAHUB_BLOB_S3_ADDRESSING_STYLE", show_envvar=True,
                     default="auto", show_default=True, type=click.Choice(ADDRESSING_STYLES),
                     help="Bucket in the path or in the host name (most self-hosted stores need path)."),
        click.option("--device-downloads", envvar="OTAHUB_DEVICE_DOWNLOADS", show_envvar=True, default="proxy",
                     show_default=True, type=click.Choice(DEVICE_DOWNLOADS),
                     help="How devices fetch firmware: through otahub, or direct from the S3 store "
                          "by presigned URL (needs --blob-store s3)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.option(
    "--host",
    envvar="OTAHUB_HOST",
    show_envvar=True,
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    envvar="OTAHUB_PORT",
    show_envvar=True,
    default=DEFAULT_PORT,
    show_default=True,
    type=int,
    help="HTTP port for the AWS APIs (0 picks a free one).",
)
@click.option(
    "--data-dir",
    envvar="OTAHUB_DATA_DIR",
    show_envvar=True,
    default="./otahub-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the SQLite database and firmware blobs live; created if missing.",
)
@click.option(
    "--region",
    envvar="OTAHUB_REGION",
    show_envvar=True,
    default="us-east-1",
    show_default=True,
    help="AWS region in ARNs and SigV4 scopes.",
)
@click.option(
    "--account-id",
    envvar="OTAHUB_ACCOUNT_ID",
    show_envvar=True,
    default="123456789012",
    show_default=True,
    help="AWS account id in ARNs.",
)
@click.option(
    "--database-url",
    envvar="OTAHUB_DATABASE_URL",
    show_envvar=True,
    default=None,
    help="SQLAlchemy URL; default: SQLite in the data dir.",
)
@click.option(
    "--access-key-id",
    envvar="OTAHUB_ACCESS_KEY_ID",
    show_envvar=True,
    default=None,
    help="Access key id of a SigV4 key pair to accept.",
)
@click.option(
    "--secret-access-key",
    envvar="OTAHUB_SECRET_ACCESS_KEY",
    show_envvar=True,
    default=None,
    help="Its secret (with --access-key-id).",
)
@click.option(
    "--sqlite-synchronous",
    envvar="OTAHUB_SQLITE_SYNCHRONOUS",
    show_envvar=True,
    default="FULL",
    show_default=True,
    type=click.Choice(["FULL", "NORMAL"], case_sensitive=False),
    help="SQLite durability: FULL syncs every commit to disk before answering.",
)
@click.option(
    "--log-level",
    envvar="OTAHUB_LOG_LEVEL",
    show_envvar=True,
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Server log level.",
)
@click.option(
    "--clock-control",
    envvar="OTAHUB_CLOCK_CONTROL",
    show_envvar=True,
    is_flag=True,
    help="Let clients move server time forward (POST /_otahub/clock); for tests and demos only.",
)
@click.option(
    "--demo",
    envvar="OTAHUB_DEMO",
    show_envvar=True,
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
    demo: bool,
    **blob_options: Any,
) -> None:
    """Start the otahub server (AWS IoT APIs over HTTP) on the embedded defaults."""
    if bool(access_key_id) != bool(secret_access_key):
        raise click.UsageError("--access-key-id and --secret-access-key go together")
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
            **blob_options,
        )
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        app = build_app(settings)
    except BlobStoreError as exc:
        raise click.ClickException(str(exc)) from exc
    sock = _bind(host, port)
    endpoint = f"http://{host}:{sock.getsockname()[1]}"
    _announce(app, settings, endpoint)
    if demo:
        from otahub.cli.demo import run_demo

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


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets of that protocol, and
    # without it Nagle's algorithm holds each response body ~40 ms for the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(1024)
    return sock


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
