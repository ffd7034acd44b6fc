"""The AWS CLI's s3 and s3api commands against otahub, including a 20 MiB multipart copy."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.e2e.test_aws_cli import aws
from tests.harness import OtahubServer


def ok(server: OtahubServer, *args: str) -> str:
    result = aws(server, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cli_mb_cp_ls_round_trip_with_multipart(server: OtahubServer, unique: str, tmp_path: Path) -> None:
    bucket = f"cli-{unique}"
    ok(server, "s3", "mb", f"s3://{bucket}")
    source = tmp_path / "firmware.bin"
    source.write_bytes(os.urandom(20 * 1024 * 1024))  # over the CLI's 8 MiB threshold: multipart
    ok(server, "s3", "cp", str(source), f"s3://{bucket}/images/firmware.bin")
    listing = ok(server, "s3", "ls", f"s3://{bucket}/images/")
    assert "firmware.bin" in listing and str(20 * 1024 * 1024) in listing
    head = json.loads(ok(server, "s3api", "head-object", "--bucket", bucket, "--key", "images/firmware.bin"))
    assert head["ContentLength"] == 20 * 1024 * 1024
    assert head["ETag"].endswith('-3"')  # 8 + 8 + 4 MiB parts
    copy = tmp_path / "back.bin"
    ok(server, "s3", "cp", f"s3://{bucket}/images/firmware.bin", str(copy))
    assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()


def test_cli_small_object_and_range(server: OtahubServer, unique: str, tmp_path: Path) -> None:
    bucket = f"cli-{unique}"
    ok(server, "s3", "mb", f"s3://{bucket}")
    source = tmp_path / "small.bin"
    source.write_bytes(bytes(range(256)) * 4)
    ok(server, "s3", "cp", str(source), f"s3://{bucket}/small.bin")
    out = tmp_path / "range.bin"
    reply = json.loads(ok(server, "s3api", "get-object", "--bucket", bucket, "--key", "small.bin",
                          "--range", "bytes=10-19", str(out)))
    assert reply["ContentRange"] == "bytes 10-19/1024"
    assert out.read_bytes() == source.read_bytes()[10:20]
    missing = aws(server, "s3api", "head-object", "--bucket", bucket, "--key", "nope")
    assert missing.returncode != 0 and "404" in missing.stderr
