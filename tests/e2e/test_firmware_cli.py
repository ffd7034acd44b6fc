"""`otahub firmware put` as a subprocess against a real server, checked with boto3."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_s3 import s3_client
from tests.harness import OtahubServer

MiB = 1024 * 1024


def put(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "otahub", "firmware", "put", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def otahub_env(server: OtahubServer) -> dict[str, str]:
    """Credentials only as OTAHUB_* variables: no AWS_* ones, no config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OTAHUB_"))}
    return {**env, "OTAHUB_ACCESS_KEY_ID": server.access_key_id, "OTAHUB_SECRET_ACCESS_KEY": server.secret_access_key,
            "OTAHUB_ENDPOINT_URL": server.endpoint, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


@pytest.fixture(scope="module")
def s3(server: OtahubServer) -> Any:
    return s3_client(server)


def printed(output: str, label: str) -> str:
    match = re.search(rf"^\s*{label}:\s+(\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_put_multipart_file_creates_bucket_and_prints_digest(
    server: OtahubServer, s3: Any, unique: str, tmp_path: Path
) -> None:
    body = os.urandom(9 * MiB + 123)  # past boto3's 8 MiB threshold: a multipart upload
    path = tmp_path / "app.bin"
    path.write_bytes(body)
    result = put(str(path), f"s3://fw-{unique}/images/app.bin", "--create-bucket", env=otahub_env(server))
    assert result.returncode == 0, result.stderr
    assert printed(result.stdout, "SHA-256") == hashlib.sha256(body).hexdigest()
    assert printed(result.stdout, "Size") == str(len(body))
    got = s3.get_object(Bucket=f"fw-{unique}", Key="images/app.bin")
    assert got["Body"].read() == body
    assert printed(result.stdout, "ETag") == got["ETag"]
    assert got["ContentType"] == "application/octet-stream"
    assert "VersionId" not in result.stdout
    assert f"fw-{unique}" in result.stderr  # the progress bar's label


def test_put_into_versioned_bucket_prints_version(server: OtahubServer, s3: Any, unique: str, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=f"fw-{unique}")
    s3.put_bucket_versioning(Bucket=f"fw-{unique}", VersioningConfiguration={"Status": "Enabled"})
    path = tmp_path / "small.bin"
    path.write_bytes(b"tiny firmware")
    result = put(str(path), f"s3://fw-{unique}/small.bin", "--endpoint-url", server.endpoint,
                 "--region", "us-east-1", env=server.aws_env())
    assert result.returncode == 0, result.stderr
    head = s3.head_object(Bucket=f"fw-{unique}", Key="small.bin")
    assert printed(result.stdout, "VersionId") == head["VersionId"]
    assert printed(result.stdout, "SHA-256") == hashlib.sha256(b"tiny firmware").hexdigest()


def test_missing_bucket_without_create_flag_is_refused(server: OtahubServer, s3: Any, unique: str,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"x")
    result = put(str(path), f"s3://fw-{unique}/x.bin", env=otahub_env(server))
    assert result.returncode == 1
    assert "--create-bucket" in result.stderr
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=f"fw-{unique}")


def test_bad_destination_or_wrong_secret_is_reported(server: OtahubServer, tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"x")
    result = put(str(path), "fw/x.bin", env=otahub_env(server))
    assert result.returncode == 2 and "s3://BUCKET/KEY" in result.stderr
    env = {**otahub_env(server), "OTAHUB_SECRET_ACCESS_KEY": "wrong"}
    result = put(str(path), "s3://fw-any/x.bin", "--create-bucket", env=env)
    assert result.returncode == 1 and "access denied" in result.stderr, result.stderr
