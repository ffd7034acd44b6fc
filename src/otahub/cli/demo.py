"""`otahub serve --demo`: a boto3 round trip against the server that just started."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

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
    iot.create_thing_group(thingGroupName="demo-fleet")
    for n in range(3):
        iot.create_thing(thingName=f"demo-device-{n}", attributePayload={"attributes": {"model": "m1"}})
        iot.add_thing_to_thing_group(thingGroupName="demo-fleet", thingName=f"demo-device-{n}")
    members = iot.list_things_in_thing_group(thingGroupName="demo-fleet")["things"]
    _ensure_bucket(s3, "demo-firmware")
    put = s3.put_object(Bucket="demo-firmware", Key="fw-1.0.0.bin", Body=FIRMWARE)
    stream_id = "demo-fw-1-0-0"
    try:
        iot.describe_stream(streamId=stream_id)
    except ClientError:
        iot.create_stream(streamId=stream_id, roleArn=f"arn:aws:iam::{_account(iot)}:role/otahub-demo",
                          files=[{"fileId": 0, "s3Location": {"bucket": "demo-firmware", "key": "fw-1.0.0.bin"}}])
    stream = iot.describe_stream(streamId=stream_id)["streamInfo"]
    print("demo (boto3 against otahub):", flush=True)
    print(f"  thing group demo-fleet holds {sorted(members)}")
    print(f"  s3://demo-firmware/fw-1.0.0.bin: {len(FIRMWARE)} bytes, ETag {put['ETag']}, "
          f"sha256 {hashlib.sha256(FIRMWARE).hexdigest()[:16]}...")
    print(f"  stream {stream['streamId']} version {stream['streamVersion']} serves file 0 from it")
    print("  the server keeps running; Ctrl-C stops it", flush=True)


def _ensure_bucket(s3: Any, name: str) -> None:
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise


def _account(iot: Any) -> str:
    arn = iot.describe_thing_group(thingGroupName="demo-fleet")["thingGroupArn"]
    return str(arn.split(":")[4])
