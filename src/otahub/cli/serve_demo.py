"""`otahub serve --demo`: with boto3, an OTA update rolled out to three HTTP devices of the server just started."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from otahub.services.credentials import StartupCredentials

FIRMWARE = b"\x7fELF demo firmware image " * 4096


def _client(service: str, endpoint: str, region: str, creds: StartupCredentials) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region, aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"max_attempts": 5}, s3={"addressing_style": "path"}),
    )


def run_demo(endpoint: str, region: str, creds: StartupCredentials) -> None:
    time.sleep(0.5)  # let the server start accepting
    iot, s3 = _client("iot", endpoint, region, creds), _client("s3", endpoint, region, creds)
    devices = _client("iot-jobs-data", endpoint, region, creds)
    iot.create_thing_group(thingGroupName="demo-fleet")
    for n in range(3):
        iot.create_thing(thingName=f"demo-device-{n}", attributePayload={"attributes": {"model": "m1"}})
        iot.add_thing_to_thing_group(thingGroupName="demo-fleet", thingName=f"demo-device-{n}")
    members = iot.list_things_in_thing_group(thingGroupName="demo-fleet")["things"]
    _ensure_bucket(s3, "demo-firmware")
    put = s3.put_object(Bucket="demo-firmware", Key="fw-1.0.0.bin", Body=FIRMWARE)
    print("demo (boto3 against otahub):", flush=True)
    print(f"  thing group demo-fleet holds {sorted(members)}")
    print(f"  s3://demo-firmware/fw-1.0.0.bin: {len(FIRMWARE)} bytes, ETag {put['ETag']}, "
          f"sha256 {hashlib.sha256(FIRMWARE).hexdigest()[:16]}...")
    job_id = _ota_update(iot, _account(iot))
    for name in sorted(members):
        print(f"  {name}: {_update_device(devices, name)}")
    job = iot.describe_job(jobId=job_id)["job"]
    print(f"  job {job_id}: {job['status']}, {job['jobProcessDetails']['numberOfSucceededThings']} of "
          f"{len(members)} things succeeded")
    print("  the server keeps running; Ctrl-C stops it", flush=True)


def _ota_update(iot: Any, account: str) -> str:
    """An OTA update of the image, signed with a key made for the demo (a code-signing profile's role)."""
    key = ec.generate_private_key(ec.SECP256R1())
    ota_id = f"demo-{uuid.uuid4().hex[:8]}"
    iot.create_ota_update(
        otaUpdateId=ota_id, targets=[f"arn:aws:iot:{iot.meta.region_name}:{account}:thinggroup/demo-fleet"],
        protocols=["MQTT", "HTTP"], roleArn=f"arn:aws:iam::{account}:role/otahub-demo",
        files=[{"fileName": "fw-1.0.0.bin", "fileLocation": {"s3Location": {"bucket": "demo-firmware",
                                                                            "key": "fw-1.0.0.bin"}},
                "codeSigning": {"customCodeSigning": {
                    "signature": {"inlineDocument": key.sign(FIRMWARE, ec.ECDSA(hashes.SHA256()))},
                    "certificateChain": {"certificateName": "demo-signer.crt", "inlineDocument": _certificate(key)},
                    "hashAlgorithm": "SHA256", "signatureAlgorithm": "ECDSA"}}}],
    )
    info = iot.get_ota_update(otaUpdateId=ota_id)["otaUpdateInfo"]
    document = json.loads(iot.get_job_document(jobId=info["awsIotJobId"])["document"])["afr_ota"]
    print(f"  OTA update {ota_id}: {info['otaUpdateStatus']}, job {info['awsIotJobId']}, "
          f"stream {document['streamname']}, signature verified")
    return str(info["awsIotJobId"])


def _update_device(devices: Any, thing: str) -> str:
    """What a device does over HTTP: take the next job, download the image, check it, report."""
    execution = devices.start_next_pending_job_execution(thingName=thing).get("execution")
    if execution is None:
        return "nothing to do"
    entry = json.loads(execution["jobDocument"])["afr_ota"]["files"][0]
    with urllib.request.urlopen(entry["update_data_url"]) as response:  # a presigned, expiring URL
        image = response.read()
    good = len(image) == entry["filesize"] and hashlib.sha256(image).digest() == hashlib.sha256(FIRMWARE).digest()
    status = "SUCCEEDED" if good else "FAILED"
    devices.update_job_execution(thingName=thing, jobId=execution["jobId"], status=status,
                                 statusDetails={"reason": "accepted  v1.0.0" if good else "image mismatch"})
    return f"got {execution['jobId']}, downloaded {len(image)} bytes over HTTP, {status}"


def _certificate(key: ec.EllipticCurvePrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otahub demo signer")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _ensure_bucket(s3: Any, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise


def _account(iot: Any) -> str:
    arn = iot.describe_thing_group(thingGroupName="demo-fleet")["thingGroupArn"]
    return str(arn.split(":")[4])
