"""`otahub firmware`: put firmware images into otahub's S3 subset with boto3, as any S3 client would."""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from otahub.config import DEFAULT_PORT

DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_PORT}"
_READ_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class S3Url:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_url(value: str) -> S3Url:
    bucket, _, key = value.removeprefix("s3://").partition("/")
    if not value.startswith("s3://") or not bucket or not key:
        raise click.BadParameter(f"expected s3://BUCKET/KEY, got {value!r}", param_hint="DESTINATION")
    return S3Url(bucket, key)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_READ_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


@click.group()
def firmware() -> None:
    """Firmware images in otahub's S3 subset (what streams and OTA updates point at)."""


@firmware.command("put")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.argument("destination", metavar="s3://BUCKET/KEY")
@click.option("--endpoint-url", envvar="OTAHUB_ENDPOINT_URL", show_envvar=True, default=DEFAULT_ENDPOINT,
              show_default=True, help="The otahub server to upload to.")
@click.option("--access-key-id", envvar=["OTAHUB_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"], show_envvar=True,
              default=None, help="Access key id of a key pair otahub accepts (the one `otahub serve` printed).")
@click.option("--secret-access-key", envvar=["OTAHUB_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"],
              show_envvar=True, default=None, help="Its secret (with --access-key-id).")
@click.option("--region", envvar=["OTAHUB_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"], show_envvar=True,
              default="us-east-1", show_default=True, help="Region the server runs as (part of the signature).")
@click.option("--create-bucket", is_flag=True,
              help="Create the bucket if it does not exist (otherwise that is an error).")
@click.option("--content-type", default="application/octet-stream", show_default=True,
              help="Content-Type stored with the object.")
def put(
    file: Path, destination: str, endpoint_url: str, access_key_id: str | None, secret_access_key: str | None,
    region: str, create_bucket: bool, content_type: str,
) -> None:
    """Upload FILE to s3://BUCKET/KEY on an otahub server, with a progress bar.

    Prints the ETag, the VersionId (when the bucket is versioned), the size and the SHA-256 of the
    bytes uploaded. Credentials come from the options, OTAHUB_* or AWS_* variables, or boto3's chain.

    \b
    Example:
      otahub firmware put build/app.bin s3://firmware/app/1.2.0.bin --create-bucket
    """
    target = parse_s3_url(destination)
    if bool(access_key_id) != bool(secret_access_key):
        raise click.UsageError("--access-key-id and --secret-access-key go together")
    s3 = _client(endpoint_url, region, access_key_id, secret_access_key)
    size, sha256 = file.stat().st_size, sha256_of(file)
    with _s3_errors(endpoint_url):
        _ensure_bucket(s3, target.bucket, create_bucket)
        _upload(s3, file, target, size, content_type)
        head = s3.head_object(Bucket=target.bucket, Key=target.key)
    click.echo(f"uploaded {file} to {target}")
    click.echo(f"  ETag:      {head['ETag']}")
    if head.get("VersionId") and head["VersionId"] != "null":
        click.echo(f"  VersionId: {head['VersionId']}")
    click.echo(f"  Size:      {size} bytes")
    click.echo(f"  SHA-256:   {sha256}")
    if head["ContentLength"] != size:
        raise click.ClickException(f"the server holds {head['ContentLength']} bytes, not {size}")


def _client(endpoint_url: str, region: str, key_id: str | None, secret: str | None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
    )


def _ensure_bucket(s3: Any, bucket: str, create: bool) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
            raise
    if not create:
        raise click.ClickException(f"bucket {bucket} does not exist; pass --create-bucket to create it")
    s3.create_bucket(Bucket=bucket)
    click.echo(f"created bucket {bucket}", err=True)


def _upload(s3: Any, file: Path, target: S3Url, size: int, content_type: str) -> None:
    lock = threading.Lock()  # multipart uploads report progress from several threads
    with click.progressbar(length=size, label=f"{file.name} -> {target}", file=sys.stderr,
                           show_pos=True) as bar:
        def progress(sent: int) -> None:
            with lock:
                bar.update(sent)

        s3.upload_file(str(file), target.bucket, target.key, ExtraArgs={"ContentType": content_type},
                       Callback=progress)


@contextmanager
def _s3_errors(endpoint_url: str) -> Iterator[None]:
    """boto3 failures as one-line CLI errors rather than tracebacks."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError as exc:
        raise click.UsageError("no credentials: pass --access-key-id/--secret-access-key "
                               "or set OTAHUB_ACCESS_KEY_ID/OTAHUB_SECRET_ACCESS_KEY") from exc
    except ClientError as exc:
        err = exc.response.get("Error", {})
        if err.get("Code") == "403":  # a HEAD answer has no body to name the reason
            raise click.ClickException(
                f"access denied by {endpoint_url} (403): check the key pair and --region"
            ) from exc
        raise click.ClickException(f"{err.get('Code')}: {err.get('Message')}") from exc
    except (S3UploadFailedError, BotoCoreError) as exc:
        raise click.ClickException(f"{exc} (endpoint {endpoint_url})") from exc
