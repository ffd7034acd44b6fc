"""A real otahub keeping firmware bytes in an external S3 store (a real moto_server on loopback)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from otahub.cli.main import main
from tests.harness import OtahubServer
from tests.moto_harness import KEY_ID, REGION, SECRET, MotoServer, keys_under

MiB = 1024 * 1024
PREFIX = "fleet-a"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


def s3_backend_args(moto: MotoServer, bucket: str) -> list[str]:
    return ["--blob-store", "s3", "--blob-s3-endpoint-url", moto.endpoint, "--blob-s3-bucket", bucket,
            "--blob-s3-prefix", PREFIX, "--blob-s3-region", REGION, "--blob-s3-access-key-id", KEY_ID,
            "--blob-s3-secret-access-key", SECRET, "--blob-s3-addressing-style", "path"]


def otahub_s3(server: OtahubServer) -> Any:
    return server.client("s3", s3={"addressing_style": "path"})


def blob_key(payload: bytes) -> str:
    sha256 = hashlib.sha256(payload).hexdigest()
    return f"{PREFIX}/objects/{sha256[:2]}/{sha256}"


def upload_in_parts(s3: Any, bucket: str, key: str, parts: list[bytes]) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for number, body in enumerate(parts, start=1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done})


def test_objects_live_in_the_external_store_and_survive_a_restart(moto: MotoServer, tmp_path: Path) -> None:
    bucket, data_dir, external = moto.new_bucket(), tmp_path / "data", moto.client()
    image, parts = os.urandom(300 * 1024), [os.urandom(5 * MiB), os.urandom(100 * 1024)]
    server = OtahubServer(data_dir, extra_args=s3_backend_args(moto, bucket)).start()
    try:
        s3 = otahub_s3(server)
        s3.create_bucket(Bucket="firmware")
        s3.put_object(Bucket="firmware", Key="app.bin", Body=image)
        assert s3.get_object(Bucket="firmware", Key="app.bin")["Body"].read() == image
        assert external.get_object(Bucket=bucket, Key=blob_key(image))["Body"].read() == image
        upload_in_parts(s3, "firmware", "big.bin", parts)
        assert s3.get_object(Bucket="firmware", Key="big.bin")["Body"].read() == b"".join(parts)
    finally:
        server.stop()
    # the parts' blobs were collected once the upload completed: only the two objects' bytes remain
    assert keys_under(external, bucket, "") == sorted([blob_key(image), blob_key(b"".join(parts))])
    assert not (data_dir / "blobs" / "objects").exists()  # no local blob store at all
    assert list((data_dir / "blobs" / "tmp").iterdir()) == []  # spooled bodies are gone once uploaded
    restarted = OtahubServer(data_dir, extra_args=s3_backend_args(moto, bucket)).start()
    try:
        s3 = otahub_s3(restarted)
        assert s3.get_object(Bucket="firmware", Key="app.bin")["Body"].read() == image
        assert s3.get_object(Bucket="firmware", Key="big.bin", Range="bytes=5242870-5242889")["Body"].read() == (
            b"".join(parts)[5242870:5242890])
    finally:
        restarted.stop()


def test_a_missing_bucket_stops_start_up_with_a_clear_error(moto: MotoServer, tmp_path: Path) -> None:
    args = s3_backend_args(moto, "not-created-anywhere")
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--data-dir", str(tmp_path), *args])
    assert result.exit_code == 1
    assert "not-created-anywhere" in result.output and moto.endpoint in result.output


@pytest.mark.parametrize("mode", ["proxy", "direct"])
def test_device_download_urls_point_where_the_setting_says(moto: MotoServer, tmp_path: Path, mode: str) -> None:
    """--device-downloads proxy: job documents carry otahub URLs; direct: presigned URLs of the external store."""
    import json
    import urllib.request

    bucket, image = moto.new_bucket(), os.urandom(64 * 1024)
    args = [*s3_backend_args(moto, bucket), "--device-downloads", mode]
    server = OtahubServer(tmp_path / "data", extra_args=args).start()
    try:
        s3 = otahub_s3(server)
        s3.create_bucket(Bucket="firmware")
        s3.put_object(Bucket="firmware", Key="app.bin", Body=image)
        iot = server.client("iot")
        thing = iot.create_thing(thingName=f"dl-{mode}")["thingArn"]
        placeholder = "${aws:iot:s3-presigned-url:https://s3.amazonaws.com/firmware/app.bin}"
        iot.create_job(jobId=f"dl-{mode}", targets=[thing], document=json.dumps({"url": placeholder}))
        execution = server.client("iot-jobs-data").start_next_pending_job_execution(thingName=f"dl-{mode}")
        url = json.loads(execution["execution"]["jobDocument"])["url"]
        assert url.startswith(server.endpoint if mode == "proxy" else moto.endpoint)
        if mode == "direct":
            assert blob_key(image) in url  # the content-addressed blob itself
        with urllib.request.urlopen(url) as response:
            assert response.read() == image
    finally:
        server.stop()
