"""CreateOTAUpdate and friends through boto3 and the AWS CLI, with firmware in otahub's own S3."""

from __future__ import annotations

import base64
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.jobs_helpers import ARN, device, fleet, viot, vserver
from tests.e2e.test_aws_cli import aws, ok
from tests.e2e.test_s3 import s3_client
from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

__all__ = ["device", "viot", "vserver"]  # fixtures
ROLE = "arn:aws:iam::123456789012:role/ota-role"
FIRMWARE_V1 = b"\x7fELF firmware 1.0 " * 100
FIRMWARE_V2 = b"\x7fELF firmware 2.0 " * 120


@pytest.fixture(scope="module")
def signer() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """An ECDSA P-256 key and its self-signed certificate (PEM), like a code-signing profile's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otahub test signer")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def firmware(vserver: OtahubServer, unique: str) -> tuple[str, str, str]:
    """A versioned bucket with two versions of fw.bin; returns (bucket, first version id, second version id)."""
    s3 = s3_client(vserver)
    bucket = f"ota-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="fw.bin", Body=FIRMWARE_V1)["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="fw.bin", Body=FIRMWARE_V2)["VersionId"]
    return bucket, first, second


def signed_file(bucket: str, version: str | None, signer: tuple[ec.EllipticCurvePrivateKey, str],
                payload: bytes) -> dict[str, Any]:
    key, cert = signer
    signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    location: dict[str, Any] = {"bucket": bucket, "key": "fw.bin", **({"version": version} if version else {})}
    return {
        "fileName": "firmware.bin", "fileType": 0, "fileVersion": "1.0",
        "fileLocation": {"s3Location": location},
        "attributes": {"build": "ci-17"},
        "codeSigning": {"customCodeSigning": {
            "signature": {"inlineDocument": signature},
            "certificateChain": {"certificateName": "ecdsa-signer.crt.pem", "inlineDocument": cert},
            "hashAlgorithm": "SHA256", "signatureAlgorithm": "ECDSA",
        }},
    }


def info(iot: Any, ota_id: str) -> dict[str, Any]:
    return dict(iot.get_ota_update(otaUpdateId=ota_id)["otaUpdateInfo"])


def test_ota_update_of_a_specific_version_end_to_end(vserver: OtahubServer, viot: Any, device: Any, unique: str,
                                                      firmware: tuple[str, str, str],
                                                      signer: tuple[ec.EllipticCurvePrivateKey, str]) -> None:
    bucket, first, _ = firmware
    group, names = fleet(viot, f"ota-{unique}", 2)
    ota_id = f"ota-{unique}"
    created = viot.create_ota_update(
        otaUpdateId=ota_id, description="v1 to the lab", targets=[group], protocols=["MQTT", "HTTP"],
        files=[signed_file(bucket, first, signer, FIRMWARE_V1)], roleArn=ROLE,
        awsJobExecutionsRolloutConfig={"maximumPerMinute": 1}, awsJobTimeoutConfig={"inProgressTimeoutInMinutes": 60},
        awsJobAbortConfig={"abortCriteriaList": [{"failureType": "ALL", "action": "CANCEL",
                                                  "thresholdPercentage": 50, "minNumberOfExecutedThings": 5}]},
        additionalParameters={"note": "kept, not sent"}, tags=[{"Key": "release", "Value": "1.0"}],
    )
    assert created["otaUpdateStatus"] == "CREATE_PENDING"
    assert (created["awsIotJobId"], created["otaUpdateArn"]) == (f"AFR_OTA-{ota_id}", ARN.format("otaupdate", ota_id))
    got = info(viot, ota_id)
    assert got["otaUpdateStatus"] == "CREATE_COMPLETE"
    assert got["awsIotJobArn"] == ARN.format("job", f"AFR_OTA-{ota_id}")
    assert got["awsJobPresignedUrlConfig"] == {"expiresInSec": 1800}
    assert got["otaUpdateFiles"][0]["codeSigning"]["customCodeSigning"]["signatureAlgorithm"] == "ECDSA"
    assert got["additionalParameters"] == {"note": "kept, not sent"}
    job = viot.describe_job(jobId=f"AFR_OTA-{ota_id}")["job"]
    assert job["jobExecutionsRolloutConfig"] == {"maximumPerMinute": 1}
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    assert job["presignedUrlConfig"] == {"roleArn": ROLE, "expiresInSec": 1800}
    assert job["jobProcessDetails"]["numberOfQueuedThings"] == 1  # one a minute

    document = json.loads(viot.get_job_document(jobId=f"AFR_OTA-{ota_id}")["document"])["afr_ota"]
    assert document["protocols"] == ["MQTT", "HTTP"]
    entry = document["files"][0]
    assert (entry["filepath"], entry["filesize"], entry["fileid"], entry["fileType"]) == (
        "firmware.bin", len(FIRMWARE_V1), 0, 0)
    assert entry["certfile"] == "ecdsa-signer.crt.pem" and entry["auth_scheme"] == "aws.s3.presigned"
    assert entry["update_data_url"] == (
        f"${{aws:iot:s3-presigned-url:https://s3.amazonaws.com/{bucket}/fw.bin?versionId={first}}}")
    ec_key = signer[0].public_key()
    ec_key.verify(base64.b64decode(entry["sig-sha256-ecdsa"]), FIRMWARE_V1, ec.ECDSA(hashes.SHA256()))
    assert "attributes" not in entry and "build" not in json.dumps(document)

    stream = viot.describe_stream(streamId=document["streamname"])["streamInfo"]
    assert document["streamname"].startswith("AFR_OTA-")
    assert stream["files"] == [{"fileId": 0, "s3Location": {"bucket": bucket, "key": "fw.bin", "version": first}}]

    execution = device.start_next_pending_job_execution(thingName=names[0])["execution"]
    delivered = json.loads(execution["jobDocument"])["afr_ota"]["files"][0]["update_data_url"]
    assert delivered.startswith(vserver.endpoint) and "X-Amz-Expires=1800" in delivered
    with urllib.request.urlopen(delivered) as response:
        assert response.read() == FIRMWARE_V1  # the version named, not the latest
    assert viot.list_tags_for_resource(resourceArn=created["otaUpdateArn"])["tags"] == [
        {"Key": "release", "Value": "1.0"}]


def test_http_only_update_makes_no_stream(viot: Any, unique: str, firmware: tuple[str, str, str]) -> None:
    bucket, _, _ = firmware
    group, _ = fleet(viot, f"http-{unique}", 1)
    viot.create_ota_update(otaUpdateId=f"http-{unique}", targets=[group], protocols=["HTTP"], roleArn=ROLE,
                           files=[{"fileName": "fw", "fileLocation": {"s3Location": {"bucket": bucket,
                                                                                     "key": "fw.bin"}}}])
    document = json.loads(viot.get_job_document(jobId=f"AFR_OTA-http-{unique}")["document"])["afr_ota"]
    assert "streamname" not in document and document["protocols"] == ["HTTP"]
    assert document["files"][0]["filesize"] == len(FIRMWARE_V2)  # no version: the latest
    assert "sig-sha256-ecdsa" not in document["files"][0]


def test_update_from_an_existing_stream(viot: Any, unique: str, firmware: tuple[str, str, str]) -> None:
    bucket, first, _ = firmware
    group, _ = fleet(viot, f"fs-{unique}", 1)
    viot.create_stream(streamId=f"fs-{unique}", roleArn=ROLE, files=[
        {"fileId": 7, "s3Location": {"bucket": bucket, "key": "fw.bin", "version": first}}])
    viot.create_ota_update(otaUpdateId=f"fs-{unique}", targets=[group], roleArn=ROLE,
                           files=[{"fileName": "fw", "fileLocation": {"stream": {"streamId": f"fs-{unique}",
                                                                                 "fileId": 7}}}])
    assert info(viot, f"fs-{unique}")["otaUpdateStatus"] == "CREATE_COMPLETE"
    document = json.loads(viot.get_job_document(jobId=f"AFR_OTA-fs-{unique}")["document"])["afr_ota"]
    assert document["streamname"] == f"fs-{unique}"
    assert (document["files"][0]["fileid"], document["files"][0]["filesize"]) == (7, len(FIRMWARE_V1))


def failed(iot: Any, ota_id: str) -> dict[str, Any]:
    got = info(iot, ota_id)
    assert got["otaUpdateStatus"] == "CREATE_FAILED"
    with pytest.raises(ClientError) as excinfo:  # no job is created for a failed update
        iot.describe_job(jobId=f"AFR_OTA-{ota_id}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    return dict(got["errorInfo"])


def test_missing_file_fails_the_update(viot: Any, unique: str, firmware: tuple[str, str, str]) -> None:
    bucket, _, _ = firmware
    group, _ = fleet(viot, f"miss-{unique}", 1)
    viot.create_ota_update(otaUpdateId=f"miss-{unique}", targets=[group], roleArn=ROLE,
                           files=[{"fileLocation": {"s3Location": {"bucket": bucket, "key": "nope.bin"}}}])
    error = failed(viot, f"miss-{unique}")
    assert error["code"] == "ResourceNotFoundException" and "nope.bin" in error["message"]
    viot.create_ota_update(otaUpdateId=f"missv-{unique}", targets=[group], roleArn=ROLE,
                           files=[{"fileLocation": {"s3Location": {"bucket": bucket, "key": "fw.bin",
                                                                   "version": "no-such-version"}}}])
    assert "no-such-version" in failed(viot, f"missv-{unique}")["message"]
    viot.create_ota_update(otaUpdateId=f"misss-{unique}", targets=[group], roleArn=ROLE,
                           files=[{"fileLocation": {"stream": {"streamId": f"ghost-{unique}", "fileId": 0}}}])
    assert f"ghost-{unique}" in failed(viot, f"misss-{unique}")["message"]


def test_unknown_target_fails_the_update(viot: Any, unique: str, firmware: tuple[str, str, str]) -> None:
    bucket, _, _ = firmware
    viot.create_ota_update(otaUpdateId=f"tgt-{unique}", targets=[ARN.format("thinggroup", f"nobody-{unique}")],
                           roleArn=ROLE, files=[{"fileLocation": {"s3Location": {"bucket": bucket, "key": "fw.bin"}}}])
    error = failed(viot, f"tgt-{unique}")
    assert error["code"] == "ResourceNotFoundException" and f"nobody-{unique}" in error["message"]


def test_bad_signature_material_fails_the_update(viot: Any, unique: str, firmware: tuple[str, str, str],
                                                 signer: tuple[ec.EllipticCurvePrivateKey, str]) -> None:
    bucket, first, _ = firmware
    group, _ = fleet(viot, f"sig-{unique}", 1)
    viot.create_ota_update(otaUpdateId=f"sig-{unique}", targets=[group], roleArn=ROLE,
                           files=[signed_file(bucket, first, signer, b"some other image")])
    assert "does not verify" in failed(viot, f"sig-{unique}")["message"]
    wrong_algorithm = signed_file(bucket, first, signer, FIRMWARE_V1)
    wrong_algorithm["codeSigning"]["customCodeSigning"]["signatureAlgorithm"] = "DSA"
    viot.create_ota_update(otaUpdateId=f"alg-{unique}", targets=[group], roleArn=ROLE, files=[wrong_algorithm])
    assert "signatureAlgorithm" in failed(viot, f"alg-{unique}")["message"]
    for form, value in (("awsSignerJobId", "job-1"), ("startSigningJobParameter", {"signingProfileName": "p"})):
        viot.create_ota_update(otaUpdateId=f"{form[:5]}-{unique}", targets=[group], roleArn=ROLE, files=[
            {"fileLocation": {"s3Location": {"bucket": bucket, "key": "fw.bin"}}, "codeSigning": {form: value}}])
        assert "code-signing service" in failed(viot, f"{form[:5]}-{unique}")["message"]


@pytest.mark.parametrize(("change", "field"), [
    ({"otaUpdateId": "bad id"}, "otaUpdateId"),
    ({"otaUpdateId": "x" * 129}, "otaUpdateId"),
    ({"otaUpdateId": "x" * 57}, "otaUpdateId"),  # its job AFR_OTA-... would pass 64 characters
    ({"files": []}, "files"),
    ({"files": [{"fileLocation": {"s3Location": {"bucket": "b", "key": "k"}}}] * 51}, "files"),
    ({"files": [{"fileLocation": {}}]}, "fileLocation"),
    ({"files": [{"fileType": 256, "fileLocation": {"s3Location": {"bucket": "b", "key": "k"}}}]}, "fileType"),
    ({"roleArn": "arn:aws:iam::1:r"}, "roleArn"),
    ({"roleArn": "a" * 2049}, "roleArn"),
    ({"description": "d" * 2029}, "description"),
    ({"protocols": ["FTP"]}, "protocols"),
    ({"protocols": ["MQTT", "HTTP", "MQTT"]}, "protocols"),
    ({"targetSelection": "SOMETIMES"}, "targetSelection"),
    ({"targets": []}, "targets"),
    ({"awsJobPresignedUrlConfig": {"expiresInSec": 3601}}, "expiresInSec"),
    ({"awsJobExecutionsRolloutConfig": {"maximumPerMinute": 1001}}, "maximumPerMinute"),
    ({"awsJobExecutionsRolloutConfig": {"exponentialRate": {
        "baseRatePerMinute": 5, "incrementFactor": 9, "rateIncreaseCriteria": {"numberOfNotifiedThings": 1}}}},
     "incrementFactor"),
    ({"awsJobAbortConfig": {"abortCriteriaList": [{"failureType": "FAILED", "action": "STOP",
                                                   "thresholdPercentage": 1, "minNumberOfExecutedThings": 1}]}},
     "action"),
])
def test_validation(vserver: OtahubServer, unique: str, change: dict[str, Any], field: str) -> None:
    iot = vserver.client("iot", validate=False)
    request = {"otaUpdateId": f"val-{unique}", "targets": [ARN.format("thing", "t")], "roleArn": ROLE,
               "files": [{"fileLocation": {"s3Location": {"bucket": "b", "key": "k"}}}], **change}
    with pytest.raises(ClientError) as excinfo:
        iot.create_ota_update(**request)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert field in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:  # nothing was written
        iot.get_ota_update(otaUpdateId=str(request["otaUpdateId"])[:128] if field != "otaUpdateId" else "zz")
    assert error_of(missing) == ("ResourceNotFoundException", 404)


def test_duplicate_list_and_delete(viot: Any, unique: str, firmware: tuple[str, str, str]) -> None:
    bucket, _, _ = firmware
    group, _ = fleet(viot, f"ld-{unique}", 1)
    files = [{"fileLocation": {"s3Location": {"bucket": bucket, "key": "fw.bin"}}}]
    for n in range(3):
        viot.create_ota_update(otaUpdateId=f"ld{n}-{unique}", targets=[group], roleArn=ROLE, files=files)
    with pytest.raises(ClientError) as excinfo:
        viot.create_ota_update(otaUpdateId=f"ld0-{unique}", targets=[group], roleArn=ROLE, files=files)
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)
    seen: list[str] = []
    for page in viot.get_paginator("list_ota_updates").paginate(otaUpdateStatus="CREATE_COMPLETE",
                                                                PaginationConfig={"PageSize": 2}):
        seen += [o["otaUpdateId"] for o in page["otaUpdates"]]
    assert {f"ld{n}-{unique}" for n in range(3)} <= set(seen)
    assert not {f"ld{n}-{unique}" for n in range(3)} & {
        o["otaUpdateId"] for o in viot.list_ota_updates(otaUpdateStatus="CREATE_FAILED")["otaUpdates"]}

    stream = json.loads(viot.get_job_document(jobId=f"AFR_OTA-ld0-{unique}")["document"])["afr_ota"]["streamname"]
    with pytest.raises(ClientError) as excinfo:  # its job is still IN_PROGRESS
        viot.delete_ota_update(otaUpdateId=f"ld0-{unique}")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    viot.delete_ota_update(otaUpdateId=f"ld0-{unique}", deleteStream=True, forceDeleteAWSJob=True)
    for call, kwargs in ((viot.get_ota_update, {"otaUpdateId": f"ld0-{unique}"}),
                         (viot.describe_job, {"jobId": f"AFR_OTA-ld0-{unique}"}),
                         (viot.describe_stream, {"streamId": stream})):
        with pytest.raises(ClientError) as excinfo:
            call(**kwargs)
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    kept = json.loads(viot.get_job_document(jobId=f"AFR_OTA-ld1-{unique}")["document"])["afr_ota"]["streamname"]
    viot.cancel_job(jobId=f"AFR_OTA-ld1-{unique}")
    viot.delete_ota_update(otaUpdateId=f"ld1-{unique}")  # a canceled job needs no force; it goes, the stream stays
    with pytest.raises(ClientError) as excinfo:
        viot.describe_job(jobId=f"AFR_OTA-ld1-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert viot.describe_stream(streamId=kept)["streamInfo"]["streamId"] == kept


def test_cli_upload_then_ota_update(vserver: OtahubServer, viot: Any, unique: str, tmp_path: Path) -> None:
    """The AWS user's workflow: `aws s3 mb`, `aws s3 cp`, then `aws iot create-ota-update` on that object."""
    bucket = f"cli-{unique}"
    image = tmp_path / "fw.bin"
    image.write_bytes(FIRMWARE_V2)
    for command in (["s3", "mb", f"s3://{bucket}"], ["s3", "cp", str(image), f"s3://{bucket}/fw.bin"]):
        result = aws(vserver, *command)
        assert result.returncode == 0, result.stderr
    group, _ = fleet(viot, f"cli-{unique}", 1)
    files = json.dumps([{"fileName": "fw.bin", "fileLocation": {"s3Location": {"bucket": bucket, "key": "fw.bin"}}}])
    created = ok(vserver, "iot", "create-ota-update", "--ota-update-id", f"cli-{unique}", "--targets", group,
                 "--protocols", "HTTP", "--target-selection", "SNAPSHOT", "--files", files, "--role-arn", ROLE,
                 "--aws-job-executions-rollout-config", "maximumPerMinute=10")
    assert created["otaUpdateStatus"] == "CREATE_PENDING"
    got = ok(vserver, "iot", "get-ota-update", "--ota-update-id", f"cli-{unique}")["otaUpdateInfo"]
    assert got["otaUpdateStatus"] == "CREATE_COMPLETE"
    assert got["awsJobExecutionsRolloutConfig"] == {"maximumPerMinute": 10}
    listed = ok(vserver, "iot", "list-ota-updates", "--ota-update-status", "CREATE_COMPLETE")["otaUpdates"]
    assert f"cli-{unique}" in {o["otaUpdateId"] for o in listed}
    document = json.loads(viot.get_job_document(jobId=f"AFR_OTA-cli-{unique}")["document"])["afr_ota"]
    assert document["files"][0]["filesize"] == len(FIRMWARE_V2)
