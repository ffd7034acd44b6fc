"""aws-chunked uploads on the wire: signed streaming (chunk signatures chained from the request's)
and botocore's unsigned-trailer form, against a running otahub."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from otahub.aws.chunked import ChunkSigner, signing_key
from tests.e2e.test_s3 import s3_client
from tests.harness import REGION, OtahubServer


class StreamingSigner(S3SigV4Auth):
    """botocore's S3 signer, signing the streaming marker as the payload hash (as SDKs that stream do)."""

    def __init__(self, marker: str, *args: Any) -> None:
        super().__init__(*args)
        self.marker = marker

    def payload(self, request: AWSRequest) -> str:
        return self.marker


def signed_put(server: OtahubServer, url: str, headers: dict[str, str]) -> AWSRequest:
    request = AWSRequest(method="PUT", url=url, headers=headers)
    marker = headers["X-Amz-Content-SHA256"]
    StreamingSigner(marker, Credentials(server.access_key_id, server.secret_access_key), "s3", REGION).add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == marker
    return request


def chunked_body(request: AWSRequest, secret: str, payload: bytes, chunk: int, corrupt: bool = False) -> bytes:
    auth = request.headers["Authorization"]
    seed = auth.rsplit("Signature=", 1)[1]
    timestamp = request.headers["X-Amz-Date"]
    date = timestamp[:8]
    signer = ChunkSigner(seed, timestamp, f"{date}/{REGION}/s3/aws4_request", signing_key(secret, date, REGION, "s3"))
    body, previous = b"", seed
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for piece in pieces:
        previous = signer.chunk(previous, hashlib.sha256(piece).hexdigest())
        sent = piece[:-1] + b"X" if corrupt and piece and piece is pieces[0] else piece
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + sent + b"\r\n"
    return body


def send(request: AWSRequest, body: bytes) -> int:
    headers = {k: v for k, v in request.headers.items()} | {"Content-Length": str(len(body))}
    raw = urllib.request.Request(request.url, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(raw) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def bucket(server: OtahubServer, unique: str) -> tuple[Any, str]:
    s3 = s3_client(server)
    s3.create_bucket(Bucket=f"chunk-{unique}")
    return s3, f"chunk-{unique}"


def test_signed_streaming_upload(server: OtahubServer, bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    payload = os.urandom(200_000)
    request = signed_put(server, f"{server.endpoint}/{name}/streamed.bin", {
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
    })
    assert send(request, chunked_body(request, server.secret_access_key, payload, 65536)) == 200
    assert s3.get_object(Bucket=name, Key="streamed.bin")["Body"].read() == payload


def test_signed_streaming_upload_with_a_tampered_chunk_is_refused(
    server: OtahubServer, bucket: tuple[Any, str]
) -> None:
    s3, name = bucket
    payload = os.urandom(100_000)
    request = signed_put(server, f"{server.endpoint}/{name}/bad.bin", {
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
    })
    assert send(request, chunked_body(request, server.secret_access_key, payload, 65536, corrupt=True)) == 403
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0


def test_unsigned_trailer_upload_checks_the_trailing_checksum(server: OtahubServer, bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    payload = os.urandom(70_000)
    for key, tamper in (("good.bin", False), ("bad.bin", True)):
        wrapper = AwsChunkedWrapper(io.BytesIO(payload), checksum_cls=Crc32Checksum,
                                    checksum_name="x-amz-checksum-crc32", chunk_size=16384)
        body = wrapper.read()
        if tamper:
            body = body.replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-crc32:AAAA")
        request = signed_put(server, f"{server.endpoint}/{name}/{key}", {
            "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked",
            "X-Amz-Trailer": "x-amz-checksum-crc32", "X-Amz-Decoded-Content-Length": str(len(payload)),
        })
        assert send(request, body) == (400 if tamper else 200)
    assert s3.get_object(Bucket=name, Key="good.bin")["Body"].read() == payload
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["good.bin"]
