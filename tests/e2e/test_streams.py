"""The iot Streams API through boto3 against a real otahub, with files in otahub's own S3 subset."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_s3 import s3_client
from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

ROLE = "arn:aws:iam::123456789012:role/otahub-streams"
ARN = "arn:aws:iot:us-east-1:123456789012:stream/{}"


@pytest.fixture(scope="module")
def s3(server: OtahubServer) -> Any:
    return s3_client(server)


@pytest.fixture
def bucket(s3: Any, unique: str) -> str:
    """A versioned bucket with fw.bin (two versions) and boot.bin."""
    name = f"st-{unique}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key="fw.bin", Body=b"firmware v1")
    s3.put_object(Bucket=name, Key="fw.bin", Body=b"firmware v2")
    s3.put_object(Bucket=name, Key="boot.bin", Body=b"bootloader")
    return name


def file(file_id: int, bucket: str, key: str = "fw.bin", version: str | None = None) -> dict[str, Any]:
    location = {"bucket": bucket, "key": key, **({"version": version} if version else {})}
    return {"fileId": file_id, "s3Location": location}


def assert_missing(iot: Any, stream_id: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.describe_stream(streamId=stream_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_create_describe_list_update_delete(iot: Any, bucket: str, unique: str) -> None:
    sid = f"s-{unique}"
    created = iot.create_stream(streamId=sid, description="first", roleArn=ROLE,
                                files=[file(0, bucket), file(5, bucket, "boot.bin")])
    assert created["streamId"] == sid
    assert created["streamArn"] == ARN.format(sid)
    assert (created["description"], created["streamVersion"]) == ("first", 1)
    info = iot.describe_stream(streamId=sid)["streamInfo"]
    assert info["files"] == [file(0, bucket), file(5, bucket, "boot.bin")]
    assert (info["roleArn"], info["streamVersion"], info["streamArn"]) == (ROLE, 1, ARN.format(sid))
    assert info["createdAt"] == info["lastUpdatedAt"]
    summaries = {s["streamId"]: s for s in iot.list_streams(maxResults=250)["streams"]}
    assert summaries[sid] == {"streamId": sid, "streamArn": ARN.format(sid), "streamVersion": 1,
                              "description": "first"}
    updated = iot.update_stream(streamId=sid, description="second", files=[file(1, bucket, "boot.bin")])
    assert (updated["streamVersion"], updated["description"], updated["streamArn"]) == (2, "second", ARN.format(sid))
    info = iot.describe_stream(streamId=sid)["streamInfo"]
    assert info["files"] == [file(1, bucket, "boot.bin")] and info["roleArn"] == ROLE
    iot.update_stream(streamId=sid, roleArn=ROLE + "-2")
    info = iot.describe_stream(streamId=sid)["streamInfo"]
    assert (info["streamVersion"], info["roleArn"], info["description"]) == (3, ROLE + "-2", "second")
    iot.delete_stream(streamId=sid)
    assert_missing(iot, sid)
    assert sid not in {s["streamId"] for s in iot.list_streams(maxResults=250)["streams"]}


def test_existing_stream_id_conflicts(iot: Any, bucket: str, unique: str) -> None:
    sid = f"s-{unique}"
    iot.create_stream(streamId=sid, roleArn=ROLE, files=[file(0, bucket)], description="kept")
    with pytest.raises(ClientError) as excinfo:
        iot.create_stream(streamId=sid, roleArn=ROLE, files=[file(0, bucket)])
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)
    assert excinfo.value.response["resourceId"] == sid
    assert excinfo.value.response["resourceArn"] == ARN.format(sid)
    assert iot.describe_stream(streamId=sid)["streamInfo"]["description"] == "kept"


def test_missing_stream_is_not_found(iot: Any, bucket: str, unique: str) -> None:
    sid = f"nope-{unique}"
    calls = [lambda: iot.describe_stream(streamId=sid), lambda: iot.delete_stream(streamId=sid),
             lambda: iot.update_stream(streamId=sid, description="x"),
             lambda: iot.update_stream(streamId=sid, files=[file(0, bucket)])]
    for call in calls:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)
        assert sid in excinfo.value.response["Error"]["Message"]


def test_files_that_do_not_resolve_are_refused_and_nothing_is_written(iot: Any, bucket: str, unique: str) -> None:
    sid = f"s-{unique}"
    cases = {
        (7, f"s3://{bucket}/absent.bin"): [file(0, bucket), file(7, bucket, "absent.bin")],
        (3, f"s3://{bucket}/fw.bin (version no-such-version)"): [file(3, bucket, version="no-such-version")],
        (9, f"s3://nobucket-{unique}/fw.bin"): [file(9, f"nobucket-{unique}")],
    }
    for (file_id, location), files in cases.items():
        with pytest.raises(ClientError) as excinfo:
            iot.create_stream(streamId=sid, roleArn=ROLE, files=files)
        assert error_of(excinfo) == ("InvalidRequestException", 400)
        message = excinfo.value.response["Error"]["Message"]
        assert f"File {file_id}" in message and location in message, message
        assert_missing(iot, sid)
    iot.create_stream(streamId=sid, roleArn=ROLE, files=[file(0, bucket)])
    with pytest.raises(ClientError) as excinfo:
        iot.update_stream(streamId=sid, description="changed", files=[file(2, bucket, "absent.bin")])
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    info = iot.describe_stream(streamId=sid)["streamInfo"]
    assert (info["streamVersion"], info["files"], info.get("description")) == (1, [file(0, bucket)], None)


def test_a_deleted_object_is_refused(iot: Any, s3: Any, bucket: str, unique: str) -> None:
    s3.delete_object(Bucket=bucket, Key="boot.bin")  # versioned: the latest is now a delete marker
    with pytest.raises(ClientError) as excinfo:
        iot.create_stream(streamId=f"s-{unique}", roleArn=ROLE, files=[file(4, bucket, "boot.bin")])
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert_missing(iot, f"s-{unique}")


def test_a_specific_object_version_is_accepted(iot: Any, s3: Any, bucket: str, unique: str) -> None:
    versions = s3.list_object_versions(Bucket=bucket, Prefix="fw.bin")["Versions"]
    oldest = next(v["VersionId"] for v in versions if not v["IsLatest"])
    sid = f"s-{unique}"
    iot.create_stream(streamId=sid, roleArn=ROLE, files=[file(0, bucket, version=oldest)])
    assert iot.describe_stream(streamId=sid)["streamInfo"]["files"] == [file(0, bucket, version=oldest)]


def test_duplicate_file_ids_are_refused(iot: Any, bucket: str, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.create_stream(streamId=f"s-{unique}", roleArn=ROLE,
                          files=[file(1, bucket), file(2, bucket, "boot.bin"), file(1, bucket, "boot.bin")])
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "repeated: 1" in excinfo.value.response["Error"]["Message"]
    assert_missing(iot, f"s-{unique}")


def test_model_constraints_are_enforced_by_the_server(server: OtahubServer, bucket: str, unique: str) -> None:
    raw = server.client("iot", validate=False)
    good = {"roleArn": ROLE, "files": [file(0, bucket)]}
    bad_requests: list[tuple[str, dict[str, Any]]] = [
        ("x" * 129, good),
        ("bad.id", good),
        (f"s-{unique}", {**good, "files": [file(256, bucket)]}),
        (f"s-{unique}", {**good, "files": [file(-1, bucket)]}),
        (f"s-{unique}", {**good, "files": [file(n, bucket) for n in range(51)]}),
        (f"s-{unique}", {**good, "files": []}),
        (f"s-{unique}", {"roleArn": ROLE}),
        (f"s-{unique}", {**good, "roleArn": "arn:too-short"}),
        (f"s-{unique}", {**good, "description": "bell\u0007"}),
        (f"s-{unique}", {**good, "files": [{"fileId": 0}]}),
    ]
    for stream_id, params in bad_requests:
        with pytest.raises(ClientError) as excinfo:
            raw.create_stream(streamId=stream_id, **params)
        assert error_of(excinfo) == ("InvalidRequestException", 400), (stream_id, params)
    assert_missing(raw, f"s-{unique}")
    for max_results in (0, 251):
        with pytest.raises(ClientError) as excinfo:
            raw.list_streams(maxResults=max_results)
        assert error_of(excinfo) == ("InvalidRequestException", 400)


def test_tags_at_creation_and_by_arn(iot: Any, bucket: str, unique: str) -> None:
    sid = f"s-{unique}"
    arn = iot.create_stream(streamId=sid, roleArn=ROLE, files=[file(0, bucket)],
                            tags=[{"Key": "fleet", "Value": "a"}])["streamArn"]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "fleet", "Value": "a"}]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "stage", "Value": "beta"}])
    iot.untag_resource(resourceArn=arn, tagKeys=["fleet"])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "stage", "Value": "beta"}]
    iot.delete_stream(streamId=sid)
    with pytest.raises(ClientError) as excinfo:
        iot.list_tags_for_resource(resourceArn=arn)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    iot.create_stream(streamId=sid, roleArn=ROLE, files=[file(0, bucket)])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


def walk(iot: Any, ascending: bool, during: Any = None) -> list[str]:
    seen: list[str] = []
    token = None
    while True:
        page = iot.list_streams(maxResults=2, ascendingOrder=ascending, **({"nextToken": token} if token else {}))
        assert len(page["streams"]) <= 2
        seen.extend(s["streamId"] for s in page["streams"])
        if during:
            during()
        token = page.get("nextToken")
        if not token:
            return seen


def test_order_pagination_and_versions_on_a_fresh_server(fresh_server: OtahubServer) -> None:
    iot, s3 = fresh_server.client("iot"), s3_client(fresh_server)
    s3.create_bucket(Bucket="fw-images")
    s3.put_object(Bucket="fw-images", Key="fw.bin", Body=b"image")
    original = [f"orig-{n}" for n in range(7)]
    for sid in original:
        iot.create_stream(streamId=sid, roleArn=ROLE, files=[file(0, "fw-images")])
    assert walk(iot, ascending=True) == original
    assert walk(iot, ascending=False) == original[::-1]
    assert [s["streamId"] for s in iot.list_streams()["streams"]] == original[::-1]
    added: list[str] = []

    def create_one() -> None:
        added.append(f"new-{len(added)}")
        iot.create_stream(streamId=added[-1], roleArn=ROLE, files=[file(0, "fw-images")])

    assert walk(iot, ascending=False, during=create_one) == original[::-1]  # new ones land before the cursor
    seen = walk(iot, ascending=True, during=create_one)
    assert len(seen) == len(set(seen)) and seen[: len(original)] == original
    with pytest.raises(ClientError) as excinfo:  # a token is bound to its order
        iot.list_streams(maxResults=1, ascendingOrder=False,
                         nextToken=iot.list_streams(maxResults=1, ascendingOrder=True)["nextToken"])
    assert error_of(excinfo) == ("InvalidRequestException", 400)

    created = iot.describe_stream(streamId="orig-0")["streamInfo"]
    fresh_server.advance_clock(600)  # under the 15 minutes of skew SigV4 allows
    assert iot.update_stream(streamId="orig-0", description="later")["streamVersion"] == 2
    info = iot.describe_stream(streamId="orig-0")["streamInfo"]
    assert info["createdAt"] == created["createdAt"]
    assert info["lastUpdatedAt"] - created["lastUpdatedAt"] >= timedelta(seconds=600)


def test_bytes_a_stream_serves_outlive_the_object_they_came_from(fresh_server: OtahubServer) -> None:
    s3, iot = s3_client(fresh_server), fresh_server.client("iot")
    s3.create_bucket(Bucket="fw-images")
    s3.put_object(Bucket="fw-images", Key="fw.bin", Body=b"image bytes for the stream")
    iot.create_stream(streamId="keep", roleArn="arn:aws:iam::123456789012:role/ota-streams",
                      files=[{"fileId": 0, "s3Location": {"bucket": "fw-images", "key": "fw.bin"}}])
    s3.delete_object(Bucket="fw-images", Key="fw.bin")
    blobs = fresh_server.data_dir / "blobs" / "objects"
    assert sum(1 for path in blobs.rglob("*") if path.is_file()) == 1, "the stream still refers to the blob"
    iot.delete_stream(streamId="keep")
    assert sum(1 for path in blobs.rglob("*") if path.is_file()) == 0, "and go with the stream"
