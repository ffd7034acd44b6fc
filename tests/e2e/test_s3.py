"""The S3 subset through boto3: buckets, objects, versions, ranges, conditions, copies, multipart."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import REGION, OtahubServer

MiB = 1024 * 1024


def s3_client(server: OtahubServer, **extra: Any) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, **extra),
    )


@pytest.fixture(scope="module")
def s3(server: OtahubServer) -> Any:
    return s3_client(server)


def code_of(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_lifecycle(s3: Any, unique: str) -> None:
    name = f"fw-{unique}"
    assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    s3.head_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as error:
        s3.create_bucket(Bucket=name)
    assert code_of(error) == ("BucketAlreadyOwnedByYou", 409)
    s3.put_object(Bucket=name, Key="a", Body=b"x")
    with pytest.raises(ClientError) as error:
        s3.delete_bucket(Bucket=name)
    assert code_of(error) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="a")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as error:
        s3.head_bucket(Bucket=name)
    assert code_of(error)[1] == 404
    with pytest.raises(ClientError) as error:
        s3.list_objects_v2(Bucket=name)
    assert code_of(error) == ("NoSuchBucket", 404)


def test_invalid_bucket_name(s3: Any) -> None:
    with pytest.raises(ClientError) as error:
        s3.create_bucket(Bucket="Not_Valid")
    assert code_of(error) == ("InvalidBucketName", 400)


@pytest.fixture
def bucket(s3: Any, unique: str) -> str:
    s3.create_bucket(Bucket=f"b-{unique}")
    return f"b-{unique}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.sampled_from([0, 1, 1023, 64 * 1024, MiB - 1, MiB, MiB + 1]) | st.integers(0, 200_000))
def test_put_get_byte_exact(s3: Any, bucket: str, size: int) -> None:
    body = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key=f"obj-{size}", Body=body, ContentType="application/octet-stream",
                        Metadata={"fw-version": "1.2.3"})
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key=f"obj-{size}")
    assert got["Body"].read() == body
    assert got["ContentLength"] == size
    assert got["Metadata"] == {"fw-version": "1.2.3"}
    head = s3.head_object(Bucket=bucket, Key=f"obj-{size}")
    assert head["ContentLength"] == size and head["ETag"] == put["ETag"]


def test_ranges(s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=100-199")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == f"bytes 100-199/{len(body)}"
    assert part["Body"].read() == body[100:200]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-10")["Body"].read() == body[-10:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=10000-")["Body"].read() == body[10000:]
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert code_of(error) == ("InvalidRange", 416)


def test_conditional_requests(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"nope"')
    assert code_of(error) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert code_of(error)[1] == 304
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfNoneMatch="*")
    assert code_of(error) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"v1"


def test_missing_keys_and_versions(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket=bucket, Key="absent")
    assert code_of(error) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as error:
        s3.head_object(Bucket=bucket, Key="absent")
    assert code_of(error)[1] == 404


def test_body_digests_are_checked(server: OtahubServer, s3: Any, bucket: str) -> None:
    good_md5 = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    s3.put_object(Bucket=bucket, Key="d", Body=b"payload", ContentMD5=good_md5)
    bad_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=bucket, Key="d2", Body=b"payload", ContentMD5=bad_md5)
    assert code_of(error) == ("BadDigest", 400)
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=bucket, Key="d3", Body=b"payload", ChecksumSHA256=base64.b64encode(b"x" * 32).decode())
    assert code_of(error) == ("BadDigest", 400)
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket=bucket, Key="d2")
    assert code_of(error) == ("NoSuchKey", 404)
    stored = s3.put_object(Bucket=bucket, Key="d4", Body=b"payload", ChecksumAlgorithm="SHA256")
    assert stored["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"payload").digest()).decode()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_every_s3_checksum_algorithm_is_verified_and_returned(s3: Any, bucket: str, algorithm: str) -> None:
    from awscrt import checksums

    body = os.urandom(3000)
    expected = {
        "CRC32": checksums.crc32(body).to_bytes(4, "big"), "CRC32C": checksums.crc32c(body).to_bytes(4, "big"),
        "CRC64NVME": checksums.crc64nvme(body).to_bytes(8, "big"), "SHA1": hashlib.sha1(body).digest(),
        "SHA256": hashlib.sha256(body).digest(),
    }[algorithm]
    put = s3.put_object(Bucket=bucket, Key=f"sum-{algorithm}", Body=body, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == base64.b64encode(expected).decode()
    got = s3.get_object(Bucket=bucket, Key=f"sum-{algorithm}", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == base64.b64encode(expected).decode()
    assert got["Body"].read() == body
    wrong = base64.b64encode(bytes(len(expected))).decode()
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=bucket, Key=f"bad-{algorithm}", Body=body, **{f"Checksum{algorithm}": wrong})
    assert code_of(error) == ("BadDigest", 400)


def test_list_objects_v2_prefix_delimiter_and_continuation(s3: Any, bucket: str) -> None:
    keys = ["fw/a.bin", "fw/b.bin", "fw/old/c.bin", "fw/old/d.bin", "notes.txt", "zz"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    everything = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in everything["Contents"]] == sorted(keys)
    assert everything["KeyCount"] == len(keys)
    grouped = s3.list_objects_v2(Bucket=bucket, Prefix="fw/", Delimiter="/")
    assert [o["Key"] for o in grouped["Contents"]] == ["fw/a.bin", "fw/b.bin"]
    assert grouped["CommonPrefixes"] == [{"Prefix": "fw/old/"}]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    seen = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert seen == sorted(keys)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, StartAfter="notes.txt")["Contents"]] == ["zz"]
    for size in (1, 2, 3):
        pages = list(s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": size}))
        assert [c["Prefix"] for page in pages for c in page.get("CommonPrefixes", [])] == ["fw/"]
        assert [o["Key"] for page in pages for o in page.get("Contents", [])] == ["notes.txt", "zz"]


def test_versioning_keeps_versions_and_delete_markers(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="fw.bin", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="fw.bin", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="fw.bin")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="fw.bin", VersionId=v1)["Body"].read() == b"one"
    marker = s3.delete_object(Bucket=bucket, Key="fw.bin")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="fw.bin")
    listing = s3.list_object_versions(Bucket=bucket, Prefix="fw.bin")
    assert [v["VersionId"] for v in listing["Versions"]] == [v2, v1]
    assert listing["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket=bucket, Key="fw.bin", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="fw.bin")["Body"].read() == b"two"


def test_copy_object_with_and_without_new_metadata(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"image", ContentType="application/x-fw", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"image").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b"image", "application/x-fw", {"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   ContentType="text/plain", Metadata={"b": "2"})
    head = s3.head_object(Bucket=bucket, Key="dst2")
    assert (head["ContentType"], head["Metadata"]) == ("text/plain", {"b": "2"})
    with pytest.raises(ClientError) as error:
        s3.copy_object(Bucket=bucket, Key="dst3", CopySource=f"{bucket}/missing")
    assert code_of(error) == ("NoSuchKey", 404)


def test_multipart_upload(s3: Any, bucket: str) -> None:
    parts_data = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1234)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", ContentType="application/x-fw")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=n + 1, Body=data)["ETag"]
             for n, data in enumerate(parts_data)]
    listed = s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=upload)["Parts"]
    assert [p["Size"] for p in listed] == [len(d) for d in parts_data]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="big.bin", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]},
    )
    expected = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest()
    assert done["ETag"] == f'"{expected}-3"'
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == b"".join(parts_data)
    with pytest.raises(ClientError) as error:
        s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=upload)
    assert code_of(error) == ("NoSuchUpload", 404)


def test_multipart_rules(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=2, Body=b"tail")["ETag"]
    with pytest.raises(ClientError) as error:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert code_of(error) == ("EntityTooSmall", 400)
    with pytest.raises(ClientError) as error:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
    assert code_of(error) == ("InvalidPart", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=upload)
    with pytest.raises(ClientError) as error:
        s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=3, Body=b"late")
    assert code_of(error) == ("NoSuchUpload", 404)


def test_tampered_signature_is_rejected(server: OtahubServer, bucket: str) -> None:
    import boto3

    wrong = boto3.client("s3", endpoint_url=server.endpoint, region_name=REGION,
                         aws_access_key_id=server.access_key_id, aws_secret_access_key="wrong",
                         config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    with pytest.raises(ClientError) as error:
        wrong.put_object(Bucket=bucket, Key="x", Body=b"data")
    assert code_of(error) == ("SignatureDoesNotMatch", 403)
    unknown = boto3.client("s3", endpoint_url=server.endpoint, region_name=REGION,
                           aws_access_key_id="AKIANOBODY0000000000", aws_secret_access_key="x",
                           config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    with pytest.raises(ClientError) as error:
        unknown.list_buckets()
    assert code_of(error) == ("InvalidAccessKeyId", 403)


def test_presigned_get(server: OtahubServer, s3: Any, bucket: str) -> None:
    import urllib.error
    import urllib.request

    s3.put_object(Bucket=bucket, Key="fw.bin", Body=b"firmware bytes")
    v4 = s3_client(server, signature_version="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "fw.bin"}, ExpiresIn=60)
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"firmware bytes"
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(url.replace("fw.bin", "other.bin"))
    assert error.value.code == 403


def test_refused_and_replaced_uploads_leave_no_orphan_blobs(fresh_server: OtahubServer) -> None:
    s3 = s3_client(fresh_server)
    s3.create_bucket(Bucket="gc-test")
    blobs = fresh_server.data_dir / "blobs" / "objects"

    def stored() -> int:
        return sum(1 for path in blobs.rglob("*") if path.is_file())

    s3.put_object(Bucket="gc-test", Key="k", Body=b"first")
    assert stored() == 1
    with pytest.raises(ClientError):
        s3.put_object(Bucket="gc-test", Key="k", Body=b"refused by the precondition", IfNoneMatch="*")
    assert stored() == 1
    s3.put_object(Bucket="gc-test", Key="k", Body=b"second")  # unversioned: replaces, the old bytes go
    assert stored() == 1
    s3.put_object(Bucket="gc-test", Key="copy-source", Body=b"second")  # same bytes: stored once
    assert stored() == 1
    s3.delete_object(Bucket="gc-test", Key="k")
    assert stored() == 1
    s3.delete_object(Bucket="gc-test", Key="copy-source")
    assert stored() == 0


def test_keys_with_spaces_unicode_and_reserved_characters(s3: Any, bucket: str) -> None:
    keys = ["dir/with space/fw é.bin", "a+b=c&d?.bin", "percent%20kept.bin", "deep/ü/ñ/x"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(keys)
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    grouped = s3.list_objects_v2(Bucket=bucket, Prefix="deep/", Delimiter="/")
    assert grouped["CommonPrefixes"] == [{"Prefix": "deep/ü/"}]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="dir/")
    assert [v["Key"] for v in versions["Versions"]] == ["dir/with space/fw é.bin"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="percent")
    assert [v["Key"] for v in versions["Versions"]] == ["percent%20kept.bin"]


def test_list_object_versions_pages_with_key_and_version_markers(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = {key: [s3.put_object(Bucket=bucket, Key=key, Body=f"{key}{n}".encode())["VersionId"] for n in range(3)]
            for key in ("a", "b")}
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    seen = [(v["Key"], v["VersionId"]) for page in pages for v in page.get("Versions", [])]
    assert seen == [(key, version) for key in ("a", "b") for version in reversed(made[key])]
    with pytest.raises(ClientError) as error:
        s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="no-such-version")
    assert code_of(error) == ("InvalidArgument", 400)
