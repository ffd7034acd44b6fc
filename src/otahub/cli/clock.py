"""`otahub clock advance SECONDS` / `otahub clock now`: move or read a `serve --virtual-clock` server's time.

The call is SigV4-signed with the usual AWS credentials (environment, config files or options), so
only holders of the server's key pair can move its time.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import click
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CLOCK_PATH = "/_otahub/clock"


def clock_call(endpoint: str, seconds: float | None, credentials: Credentials, region: str) -> str:
    """POST an advance (or GET the time when ``seconds`` is None); returns the server's new time."""
    url = endpoint.rstrip("/") + CLOCK_PATH
    body = b"" if seconds is None else json.dumps({"advanceSeconds": seconds}).encode()
    request = AWSRequest(method="GET" if seconds is None else "POST", url=url, data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, "otahub", region).add_auth(request)
    prepared = urllib.request.Request(url, data=body or None, headers=dict(request.headers.items()),
                                      method=request.method)
    try:
        with urllib.request.urlopen(prepared) as response:
            return str(json.loads(response.read())["now"])
    except urllib.error.HTTPError as exc:
        message = exc.read().decode(errors="replace")
        raise click.ClickException(f"{endpoint} refused the clock call ({exc.code}): {message}") from exc


def _credentials(access_key_id: str | None, secret_access_key: str | None) -> Credentials:
    if access_key_id and secret_access_key:
        return Credentials(access_key_id, secret_access_key)
    found = boto3.Session().get_credentials()
    if found is None:
        raise click.UsageError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                               "or pass --access-key-id")
    return found.get_frozen_credentials()


F = TypeVar("F", bound=Callable[..., Any])


def _common(command: F) -> F:
    for option in (
        click.option("--endpoint", "--endpoint-url", "endpoint", required=True, envvar="OTAHUB_ENDPOINT",
                     help="The otahub server, e.g. http://127.0.0.1:4680."),
        click.option("--region", default=None, envvar="AWS_DEFAULT_REGION", help="Region of the signature scope."),
        click.option("--access-key-id", default=None, help="Default: the AWS credential chain."),
        click.option("--secret-access-key", default=None),
    ):
        command = option(command)
    return command


@click.group()
def clock() -> None:
    """Read or move the time of a server started with --virtual-clock."""


@clock.command()
@click.argument("seconds", type=click.FloatRange(min=0))
@_common
def advance(seconds: float, endpoint: str, region: str | None, access_key_id: str | None,
            secret_access_key: str | None) -> None:
    """Move the server's clock SECONDS on; every rollout timer runs through the time skipped."""
    now = clock_call(endpoint, seconds, _credentials(access_key_id, secret_access_key), region or "us-east-1")
    click.echo(now)


@clock.command()
@_common
def now(endpoint: str, region: str | None, access_key_id: str | None, secret_access_key: str | None) -> None:
    """Print the server's current time."""
    click.echo(clock_call(endpoint, None, _credentials(access_key_id, secret_access_key), region or "us-east-1"))
