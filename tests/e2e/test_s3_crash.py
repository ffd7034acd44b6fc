"""kill -9 in the middle of an upload: no partial object becomes visible, and uploads work after."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.test_s3 import s3_client
from tests.harness import REGION, OtahubServer


def start_partial_put(server: OtahubServer, bucket: str, key: str, total: int, sent: int) -> socket.socket:
    url = f"{server.endpoint}/{bucket}/{key}"
    request = AWSRequest(method="PUT", url=url, headers={
        "Content-Length": str(total), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
    })
    S3SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "s3", REGION).add_auth(request)
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    head = f"PUT {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in request.headers.items()) + "\r\n"
    sock.sendall(head.encode() + b"\xab" * sent)
    return sock


def test_kill_9_mid_upload_leaves_nothing_visible(tmp_path: Path) -> None:
    server = OtahubServer(tmp_path / "data").start()
    s3 = s3_client(server)
    s3.create_bucket(Bucket="crash")
    sock = start_partial_put(server, "crash", "fw.bin", total=32 * 1024 * 1024, sent=8 * 1024 * 1024)
    tmp_dir = tmp_path / "data" / "blobs" / "tmp"
    deadline = time.monotonic() + 10
    while not any(tmp_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(tmp_dir.iterdir()), "the upload was being spooled"
    server.kill()
    sock.close()

    restarted = OtahubServer(tmp_path / "data").start()
    try:
        s3 = s3_client(restarted)
        with pytest.raises(ClientError) as error:
            s3.head_object(Bucket="crash", Key="fw.bin")
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert not any(tmp_dir.iterdir()), "the half-written spool file was cleaned up"
        s3.put_object(Bucket="crash", Key="fw.bin", Body=b"complete image")
        assert s3.get_object(Bucket="crash", Key="fw.bin")["Body"].read() == b"complete image"
        assert s3.list_objects_v2(Bucket="crash")["KeyCount"] == 1
    finally:
        restarted.stop()
