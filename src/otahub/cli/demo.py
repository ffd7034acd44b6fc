"""`otahub serve --demo`: a boto3 round trip against the server that just started."""

from __future__ import annotations

import time

import boto3
from botocore.config import Config

from otahub.services.credentials import StartupCredentials


def run_demo(endpoint: str, region: str, creds: StartupCredentials) -> None:
    time.sleep(0.5)  # let the server start accepting
    iot = boto3.client(
        "iot",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"max_attempts": 5}),
    )
    iot.create_thing_group(thingGroupName="demo-fleet")
    for n in range(3):
        iot.create_thing(thingName=f"demo-device-{n}", attributePayload={"attributes": {"model": "m1"}})
        iot.add_thing_to_thing_group(thingGroupName="demo-fleet", thingName=f"demo-device-{n}")
    members = iot.list_things_in_thing_group(thingGroupName="demo-fleet")["things"]
    described = iot.describe_thing(thingName="demo-device-0")
    print("demo (boto3 against otahub):", flush=True)
    print(f"  thing group demo-fleet holds {sorted(members)}")
    print(f"  describe_thing demo-device-0 -> {described['thingArn']} version {described['version']}")
    print("  the server keeps running; Ctrl-C stops it", flush=True)
