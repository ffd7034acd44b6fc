"""Shared set-up for the iotwireless tests: a virtual-clock otahub (jobs_helpers.vserver), destinations,
LoRaWAN devices, multicast groups, a firmware image in otahub's S3, and the validation-table helpers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.jobs_helpers import vserver
from tests.e2e.test_s3 import s3_client
from tests.harness import OtahubServer

__all__ = ["vserver"]  # fixtures

ROLE = "arn:aws:iam::123456789012:role/iotwireless-destination"
FUOTA_ROLE = "arn:aws:iam::123456789012:role/fuota"
ARN = "arn:aws:iotwireless:us-east-1:123456789012:{}/{}"
FIRMWARE = bytes(range(256)) * 40  # 10 KiB
BUCKET = "fuota-images"

Change = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def wl(vserver: OtahubServer) -> Any:
    return vserver.client("iotwireless")


@pytest.fixture(scope="module")
def raw(vserver: OtahubServer) -> Any:
    """No client-side validation: the server's own checks answer."""
    return vserver.client("iotwireless", validate=False)


@pytest.fixture(scope="module")
def image(vserver: OtahubServer) -> str:
    """s3:// URI of a 10 KiB firmware image in otahub's S3."""
    s3 = s3_client(vserver)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="fw-2.0.bin", Body=FIRMWARE)
    return f"s3://{BUCKET}/fw-2.0.bin"


@pytest.fixture(scope="module")
def dest(wl: Any) -> str:
    return destination(wl)


def destination(wl: Any, **fields: Any) -> str:
    name = fields.pop("Name", f"dest-{uuid.uuid4().hex[:12]}")
    created = wl.create_destination(Name=name, ExpressionType=fields.pop("ExpressionType", "RuleName"),
                                    Expression=fields.pop("Expression", "fuota_uplinks"),
                                    RoleArn=fields.pop("RoleArn", ROLE), **fields)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return name


def dev_eui() -> str:
    return uuid.uuid4().hex[:16]


def hex_key(n: int = 32) -> str:
    return uuid.uuid4().hex[:n]


ACTIVATIONS: dict[str, dict[str, Any]] = {
    "OtaaV1_1": {"AppKey": "1" * 32, "NwkKey": "2" * 32, "JoinEui": "3" * 16},
    "OtaaV1_0_x": {"AppKey": "1" * 32, "AppEui": "4" * 16, "GenAppKey": "5" * 32},
    "AbpV1_1": {"DevAddr": "26011bda", "FCntStart": 7, "SessionKeys": {
        "FNwkSIntKey": "6" * 32, "SNwkSIntKey": "7" * 32, "NwkSEncKey": "8" * 32, "AppSKey": "9" * 32}},
    "AbpV1_0_x": {"DevAddr": "26011bdb", "FCntStart": 3, "SessionKeys": {"NwkSKey": "a" * 32, "AppSKey": "b" * 32}},
}


def device(wl: Any, destination_name: str, activation: str = "OtaaV1_0_x", **fields: Any) -> str:
    """A LoRaWAN device (by default OTAA 1.0.x with a GenAppKey, so ready for multicast and FUOTA)."""
    lorawan = {"DevEui": dev_eui(), activation: ACTIVATIONS[activation], **fields.pop("LoRaWAN", {})}
    created = wl.create_wireless_device(Type="LoRaWAN", DestinationName=destination_name, LoRaWAN=lorawan, **fields)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(created["Id"])


def group(wl: Any, region: str = "EU868", dl_class: str = "ClassC", **fields: Any) -> str:
    lorawan = {"RfRegion": region, "DlClass": dl_class, **fields.pop("LoRaWAN", {})}
    created = wl.create_multicast_group(LoRaWAN=lorawan, **fields)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(created["Id"])


def fuota_task(wl: Any, image_uri: str, **fields: Any) -> str:
    created = wl.create_fuota_task(FirmwareUpdateImage=image_uri, FirmwareUpdateRole=FUOTA_ROLE, **fields)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    return str(created["Id"])


def pages(call: Callable[..., Any], key: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list call (iotwireless has no boto3 paginators), following NextToken."""
    found: list[list[dict[str, Any]]] = []
    token = None
    while True:
        page = call(**params, **({"NextToken": token} if token else {}))
        found.append(page[key])
        token = page.get("NextToken")
        if not token:
            return found


def listed_devices(wl: Any, page_size: int | None = None, **filters: Any) -> dict[str, dict[str, Any]]:
    """Every page of ListWirelessDevices, by device Id."""
    size = {"MaxResults": page_size} if page_size else {}
    return {d["Id"]: d for page in pages(wl.list_wireless_devices, "WirelessDeviceList", **size, **filters)
            for d in page}


def put(path: str, value: Any) -> Change:
    """Set a member by dotted path (list items by index), creating structures on the way."""
    def change(params: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = params
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


def drop(path: str) -> Change:
    def change(params: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = params
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]
    return change


def copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy(v) for v in value]
    return value
