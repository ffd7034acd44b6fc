"""FUOTA tasks through boto3 against a real otahub (virtual clock): every field of CreateFuotaTask with the
image resolved in otahub's S3, ClientRequestToken replays and conflicts, Get/List/Update/Delete, devices
and multicast groups, StartFuotaTask's move to FuotaSession_Waiting, Delete_Waiting, and every model
constraint of these operations as a ValidationException naming the member."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.jobs_helpers import server_now
from tests.e2e.test_s3 import s3_client
from tests.e2e.test_things import error_of
from tests.e2e.wireless_helpers import (
    ARN,
    BUCKET,
    FIRMWARE,
    FUOTA_ROLE,
    Change,
    copy,
    dest,
    device,
    drop,
    fuota_task,
    group,
    image,
    listed_devices,
    pages,
    put,
    raw,
    vserver,
    wl,
)
from tests.harness import OtahubServer

__all__ = ["dest", "image", "raw", "vserver", "wl"]  # fixtures

EVERY_FIELD: dict[str, Any] = {
    "Name": "fw 2.0 to the fleet", "Description": "the spring release", "LoRaWAN": {"RfRegion": "EU868"},
    "FirmwareUpdateRole": FUOTA_ROLE, "RedundancyPercent": 30, "FragmentSizeBytes": 40, "FragmentIntervalMS": 1500,
    "Descriptor": "AQIDBA==", "Tags": [{"Key": "release", "Value": "2.0"}],
}


def fails(excinfo: pytest.ExceptionInfo[ClientError], code: str, status: int, *words: str) -> None:
    assert error_of(excinfo) == (code, status)
    message = excinfo.value.response["Error"]["Message"]
    for word in words:
        assert word in message


def refused(call: Callable[[], Any], code: str, status: int, *words: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        call()
    fails(excinfo, code, status, *words)


def body(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def upload(vserver: OtahubServer, key: str, data: bytes) -> str:
    s3_client(vserver).put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def started(wl: Any, image: str, dest: str, **start: Any) -> str:
    """A task with one device, started."""
    task_id = fuota_task(wl, image)
    wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device(wl, dest))
    wl.start_fuota_task(Id=task_id, **start)
    return task_id


def test_create_with_every_field_and_get_it_back(wl: Any, vserver: OtahubServer, image: str) -> None:
    before = server_now(vserver)
    created = wl.create_fuota_task(FirmwareUpdateImage=image, **EVERY_FIELD)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    task_id = created["Id"]
    assert created["Arn"] == ARN.format("FuotaTask", task_id)
    got = body(wl.get_fuota_task(Id=task_id))
    created_at = got.pop("CreatedAt")
    assert isinstance(created_at, datetime) and abs(created_at - before) < timedelta(seconds=5)
    assert got == {
        "Arn": created["Arn"], "Id": task_id, "Status": "Pending", "Name": "fw 2.0 to the fleet",
        "Description": "the spring release", "LoRaWAN": {"RfRegion": "EU868"}, "FirmwareUpdateImage": image,
        "FirmwareUpdateRole": FUOTA_ROLE, "RedundancyPercent": 30, "FragmentSizeBytes": 40,
        "FragmentIntervalMS": 1500, "Descriptor": "AQIDBA=="}
    assert wl.list_tags_for_resource(ResourceArn=created["Arn"])["Tags"] == [{"Key": "release", "Value": "2.0"}]
    listed = {t["Id"]: t for page in pages(wl.list_fuota_tasks, "FuotaTaskList", MaxResults=250) for t in page}
    assert listed[task_id] == {"Id": task_id, "Arn": created["Arn"], "Name": "fw 2.0 to the fleet"}


def test_minimal_task_answers_only_what_was_given(wl: Any, image: str) -> None:
    task_id = fuota_task(wl, image)
    got = body(wl.get_fuota_task(Id=task_id))
    assert set(got) == {"Arn", "Id", "Status", "FirmwareUpdateImage", "FirmwareUpdateRole", "CreatedAt"}


def test_client_request_token_replays_and_conflicts(wl: Any, image: str, unique: str) -> None:
    params = {"FirmwareUpdateImage": image, **EVERY_FIELD, "ClientRequestToken": f"fuota-{unique}"}
    first = wl.create_fuota_task(**params)
    again = wl.create_fuota_task(**{**params, "Tags": list(reversed(params["Tags"]))})
    assert (again["Id"], again["Arn"]) == (first["Id"], first["Arn"])
    for change in ({"RedundancyPercent": 31}, {"Name": "other"}, {"Tags": []}, {"LoRaWAN": {"RfRegion": "US915"}}):
        refused(lambda change=change: wl.create_fuota_task(**{**params, **change}), "ConflictException", 409,
                "ClientRequestToken")
    # boto3 fills in a fresh token when none is given: two such calls are two tasks
    assert fuota_task(wl, image) != fuota_task(wl, image)


def test_image_is_resolved_in_otahubs_s3(wl: Any, vserver: OtahubServer, image: str) -> None:
    refused(lambda: fuota_task(wl, f"s3://{BUCKET}/missing.bin"), "ValidationException", 400,
            "FirmwareUpdateImage", "missing.bin")
    refused(lambda: fuota_task(wl, "s3://no-such-bucket-here/fw.bin"), "ValidationException", 400,
            "FirmwareUpdateImage", "no-such-bucket-here")
    refused(lambda: fuota_task(wl, "ftp://example.com/fw.bin"), "ValidationException", 400, "FirmwareUpdateImage")
    refused(lambda: fuota_task(wl, upload(vserver, "empty.bin", b"")), "ValidationException", 400,
            "FirmwareUpdateImage", "0 bytes")
    refused(lambda: fuota_task(wl, upload(vserver, "huge.bin", bytes(1024 * 1024 + 1))), "ValidationException", 400,
            "FirmwareUpdateImage")
    https = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/fw-2.0.bin"
    assert wl.get_fuota_task(Id=fuota_task(wl, https))["FirmwareUpdateImage"] == https


def test_tasks_page(wl: Any, image: str) -> None:
    made = {fuota_task(wl, image) for _ in range(5)}
    found = pages(wl.list_fuota_tasks, "FuotaTaskList", MaxResults=2)
    seen = [t["Id"] for page in found for t in page]
    assert made <= set(seen) and len(seen) == len(set(seen)) and all(len(p) <= 2 for p in found)
    refused(lambda: wl.list_fuota_tasks(NextToken="bm90IGEgdG9rZW4="), "ValidationException", 400, "nextToken")


def test_update_a_pending_task(wl: Any, vserver: OtahubServer, image: str) -> None:
    task_id = fuota_task(wl, image, Name="before", RedundancyPercent=10)
    other = upload(vserver, "fw-2.1.bin", FIRMWARE[::-1])
    answered = wl.update_fuota_task(
        Id=task_id, Name="after", Description="d2", LoRaWAN={"RfRegion": "US915"}, FirmwareUpdateImage=other,
        FirmwareUpdateRole=FUOTA_ROLE + "-2", FragmentSizeBytes=20, FragmentIntervalMS=2000, Descriptor="AQ==")
    assert answered["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = wl.get_fuota_task(Id=task_id)
    assert (got["Name"], got["Description"], got["LoRaWAN"], got["FirmwareUpdateImage"], got["FirmwareUpdateRole"],
            got["RedundancyPercent"], got["FragmentSizeBytes"], got["FragmentIntervalMS"], got["Descriptor"]) == (
        "after", "d2", {"RfRegion": "US915"}, other, FUOTA_ROLE + "-2", 10, 20, 2000, "AQ==")
    refused(lambda: wl.update_fuota_task(Id=task_id, FirmwareUpdateImage=f"s3://{BUCKET}/gone.bin"),
            "ValidationException", 400, "FirmwareUpdateImage")
    assert wl.get_fuota_task(Id=task_id)["FirmwareUpdateImage"] == other
    refused(lambda: wl.update_fuota_task(Id="no-such-task", Name="x"), "ResourceNotFoundException", 404,
            "no-such-task")


def test_devices_of_a_task(wl: Any, dest: str, image: str) -> None:
    task_id = fuota_task(wl, image)
    devices = [device(wl, dest) for _ in range(3)]
    for device_id in devices:
        wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device_id)
    wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=devices[0])  # idempotent
    listed = listed_devices(wl, 2, FuotaTaskId=task_id)
    assert set(listed) == set(devices)
    assert {d["FuotaDeviceStatus"] for d in listed.values()} == {"Initial"}
    answered = wl.disassociate_wireless_device_from_fuota_task(Id=task_id, WirelessDeviceId=devices[1])
    assert answered["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert set(listed_devices(wl, FuotaTaskId=task_id)) == {devices[0], devices[2]}
    refused(lambda: wl.disassociate_wireless_device_from_fuota_task(Id=task_id, WirelessDeviceId=devices[1]),
            "ResourceNotFoundException", 404, devices[1])
    refused(lambda: wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId="no-such-device"),
            "ResourceNotFoundException", 404, "no-such-device")
    refused(lambda: wl.associate_wireless_device_with_fuota_task(Id="no-such-task", WirelessDeviceId=devices[0]),
            "ResourceNotFoundException", 404, "no-such-task")
    refused(lambda: wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=group(wl)),
            "ConflictException", 409, "wireless devices of its own")


def test_multicast_groups_of_a_task(wl: Any, dest: str, image: str) -> None:
    task_id = fuota_task(wl, image, LoRaWAN={"RfRegion": "EU868"})
    groups = [group(wl) for _ in range(3)]
    members = {}
    for group_id in groups:
        members[group_id] = device(wl, dest)
        wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=members[group_id])
        wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=group_id)
    wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=groups[0])  # idempotent
    found = pages(wl.list_multicast_groups_by_fuota_task, "MulticastGroupList", Id=task_id, MaxResults=2)
    assert [g["Id"] for page in found for g in page] == groups and len(found) == 2
    assert set(listed_devices(wl, FuotaTaskId=task_id)) == set(members.values())  # the groups' members
    wl.disassociate_multicast_group_from_fuota_task(Id=task_id, MulticastGroupId=groups[1])
    assert [g["Id"] for g in wl.list_multicast_groups_by_fuota_task(Id=task_id)["MulticastGroupList"]] == [
        groups[0], groups[2]]
    refused(lambda: wl.disassociate_multicast_group_from_fuota_task(Id=task_id, MulticastGroupId=groups[1]),
            "ResourceNotFoundException", 404, groups[1])
    refused(lambda: wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=group(wl, "US915")),
            "ValidationException", 400, "RfRegion", "US915")
    refused(lambda: wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device(wl, dest)),
            "ConflictException", 409, "multicast groups")
    refused(lambda: wl.update_fuota_task(Id=task_id, LoRaWAN={"RfRegion": "AU915"}), "ValidationException", 400,
            "RfRegion")
    refused(lambda: wl.update_multicast_group(Id=groups[0], LoRaWAN={"RfRegion": "AU915"}), "ValidationException",
            400, "RfRegion", "AU915")
    refused(lambda: wl.list_multicast_groups_by_fuota_task(Id="no-such-task"), "ResourceNotFoundException", 404,
            "no-such-task")


def test_start_moves_a_task_to_fuota_session_waiting(wl: Any, vserver: OtahubServer, dest: str, image: str) -> None:
    now = server_now(vserver)
    task_id = started(wl, image, dest)
    got = wl.get_fuota_task(Id=task_id)
    assert got["Status"] == "FuotaSession_Waiting"
    assert abs(got["LoRaWAN"]["StartTime"] - (now + timedelta(minutes=30))) < timedelta(seconds=5)
    at = (server_now(vserver) + timedelta(hours=2)).replace(microsecond=0)
    later = started(wl, image, dest, LoRaWAN={"StartTime": at})
    assert wl.get_fuota_task(Id=later)["LoRaWAN"]["StartTime"] == at
    device_id = device(wl, dest)
    for call, code, status in [
        (lambda: wl.start_fuota_task(Id=task_id), "ConflictException", 409),
        (lambda: wl.update_fuota_task(Id=task_id, Name="late"), "ConflictException", 409),
        (lambda: wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device_id),
         "ConflictException", 409),
        (lambda: wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=group(wl)),
         "ConflictException", 409),
        (lambda: wl.disassociate_multicast_group_from_fuota_task(Id=task_id, MulticastGroupId=group(wl)),
         "ConflictException", 409),
    ]:
        refused(call, code, status, "FuotaSession_Waiting")
    ids = list(listed_devices(wl, FuotaTaskId=task_id))
    refused(lambda: wl.disassociate_wireless_device_from_fuota_task(Id=task_id, WirelessDeviceId=ids[0]),
            "ConflictException", 409, "FuotaSession_Waiting")


def test_start_checks(wl: Any, vserver: OtahubServer, dest: str, image: str) -> None:
    empty = fuota_task(wl, image)
    refused(lambda: wl.start_fuota_task(Id=empty), "ConflictException", 409, "no wireless devices")
    group_id = group(wl)  # EU868, no members: a group with no devices reaches nobody
    wl.associate_multicast_group_with_fuota_task(Id=empty, MulticastGroupId=group_id)
    refused(lambda: wl.start_fuota_task(Id=empty), "ConflictException", 409, "no wireless devices")
    wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device(wl, dest))
    soon = server_now(vserver) + timedelta(minutes=29)
    refused(lambda: wl.start_fuota_task(Id=empty, LoRaWAN={"StartTime": soon}), "ValidationException", 400,
            "LoRaWAN.StartTime")
    wl.update_fuota_task(Id=empty, FragmentSizeBytes=49)  # EU868 DR0 (the RX2 rate) carries 48 per fragment
    refused(lambda: wl.start_fuota_task(Id=empty), "ValidationException", 400, "FragmentSizeBytes", "DR0")
    wl.update_multicast_group(Id=group_id, LoRaWAN={"DefaultSessionParameters": {"DlDr": 5}})
    wl.start_fuota_task(Id=empty)  # DR5 carries 239
    assert wl.get_fuota_task(Id=empty)["Status"] == "FuotaSession_Waiting"
    refused(lambda: wl.start_fuota_task(Id="no-such-task"), "ResourceNotFoundException", 404, "no-such-task")


def test_a_device_in_another_task_on_the_air_is_marked(wl: Any, dest: str, image: str) -> None:
    shared, own = device(wl, dest), device(wl, dest)
    first = fuota_task(wl, image)
    wl.associate_wireless_device_with_fuota_task(Id=first, WirelessDeviceId=shared)
    wl.start_fuota_task(Id=first)
    second = fuota_task(wl, image)
    group_id = group(wl)
    for device_id in (shared, own):
        wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)
    wl.associate_multicast_group_with_fuota_task(Id=second, MulticastGroupId=group_id)
    assert {d["FuotaDeviceStatus"] for d in listed_devices(wl, FuotaTaskId=second).values()} == {"Initial"}
    wl.start_fuota_task(Id=second)
    statuses = {i: d["FuotaDeviceStatus"] for i, d in listed_devices(wl, FuotaTaskId=second).items()}
    assert statuses == {shared: "Device_exist_in_conflict_fuota_task", own: "Initial"}
    assert listed_devices(wl, FuotaTaskId=first)[shared]["FuotaDeviceStatus"] == "Initial"


def test_a_group_in_a_task_on_the_air_keeps_its_members(wl: Any, dest: str, image: str) -> None:
    group_id = group(wl)
    member = device(wl, dest)
    wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=member)
    task_id = fuota_task(wl, image)
    wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=group_id)
    wl.start_fuota_task(Id=task_id)
    refused(lambda: wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device(wl, dest)),
            "ConflictException", 409, task_id)
    refused(lambda: wl.update_multicast_group(Id=group_id, Description="x"), "ConflictException", 409, task_id)
    refused(lambda: wl.delete_multicast_group(Id=group_id), "ConflictException", 409, task_id)


def test_delete_rules(wl: Any, dest: str, image: str) -> None:
    pending = fuota_task(wl, image, Tags=[{"Key": "k", "Value": "v"}])
    assert wl.delete_fuota_task(Id=pending)["ResponseMetadata"]["HTTPStatusCode"] == 204
    refused(lambda: wl.get_fuota_task(Id=pending), "ResourceNotFoundException", 404, pending)
    refused(lambda: wl.list_tags_for_resource(ResourceArn=ARN.format("FuotaTask", pending)),
            "ResourceNotFoundException", 404)
    refused(lambda: wl.delete_fuota_task(Id=pending), "ResourceNotFoundException", 404, pending)
    assert pending not in {t["Id"] for page in pages(wl.list_fuota_tasks, "FuotaTaskList") for t in page}

    on_air = started(wl, image, dest)
    wl.delete_fuota_task(Id=on_air)
    assert wl.get_fuota_task(Id=on_air)["Status"] == "Delete_Waiting"  # until the session engine lets go
    wl.delete_fuota_task(Id=on_air)  # again: still waiting
    assert wl.get_fuota_task(Id=on_air)["Status"] == "Delete_Waiting"
    refused(lambda: wl.start_fuota_task(Id=on_air), "ConflictException", 409, "Delete_Waiting")
    refused(lambda: wl.update_fuota_task(Id=on_air, Name="x"), "ConflictException", 409, "Delete_Waiting")


def test_deleting_a_device_takes_it_out_of_its_tasks(wl: Any, dest: str, image: str) -> None:
    task_id = fuota_task(wl, image)
    device_id = device(wl, dest)
    wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device_id)
    wl.delete_wireless_device(Id=device_id)
    assert listed_devices(wl, FuotaTaskId=task_id) == {}
    refused(lambda: wl.start_fuota_task(Id=task_id), "ConflictException", 409, "no wireless devices")


# --- every constraint of the model ----------------------------------------------------------------------

Factory = Callable[[], dict[str, Any]]


@pytest.fixture(scope="module")
def baselines(wl: Any, dest: str, image: str) -> dict[str, Factory]:
    """For each operation, a maker of parameters that succeed (fresh resources where the call uses them up)."""
    task_id = fuota_task(wl, image)

    def with_device() -> dict[str, Any]:
        fresh = fuota_task(wl, image)
        wl.associate_wireless_device_with_fuota_task(Id=fresh, WirelessDeviceId=device(wl, dest))
        return {"Id": fresh}

    def with_group() -> dict[str, Any]:
        fresh, group_id = fuota_task(wl, image), group(wl)
        wl.associate_multicast_group_with_fuota_task(Id=fresh, MulticastGroupId=group_id)
        return {"Id": fresh, "MulticastGroupId": group_id}

    def device_in_task() -> dict[str, Any]:
        fresh, device_id = fuota_task(wl, image), device(wl, dest)
        wl.associate_wireless_device_with_fuota_task(Id=fresh, WirelessDeviceId=device_id)
        return {"Id": fresh, "WirelessDeviceId": device_id}

    return {
        "create_fuota_task": lambda: {"FirmwareUpdateImage": image, **copy(EVERY_FIELD)},
        "get_fuota_task": lambda: {"Id": task_id},
        "list_fuota_tasks": lambda: {"MaxResults": 5},
        "update_fuota_task": lambda: {"Id": task_id, **{k: copy(v) for k, v in EVERY_FIELD.items() if k != "Tags"},
                                      "FirmwareUpdateImage": image},
        "delete_fuota_task": lambda: {"Id": fuota_task(wl, image)},
        "start_fuota_task": with_device,
        "associate_wireless_device_with_fuota_task": lambda: {"Id": fuota_task(wl, image),
                                                              "WirelessDeviceId": device(wl, dest)},
        "disassociate_wireless_device_from_fuota_task": device_in_task,
        "associate_multicast_group_with_fuota_task": lambda: {"Id": fuota_task(wl, image),
                                                              "MulticastGroupId": group(wl)},
        "disassociate_multicast_group_from_fuota_task": with_group,
        "list_multicast_groups_by_fuota_task": lambda: {"Id": with_group()["Id"], "MaxResults": 5},
    }


LONG_ID = "i" * 257
ROWS: list[tuple[str, Change, str]] = [
    # CreateFuotaTask: the model
    ("create_fuota_task", put("Name", "n" * 257), "Name"),
    ("create_fuota_task", put("Description", "d" * 2049), "Description"),
    ("create_fuota_task", put("ClientRequestToken", ""), "ClientRequestToken"),
    ("create_fuota_task", put("ClientRequestToken", "t" * 65), "ClientRequestToken"),
    ("create_fuota_task", put("ClientRequestToken", "not/allowed"), "ClientRequestToken"),
    ("create_fuota_task", put("LoRaWAN.RfRegion", "EU869"), "RfRegion"),
    ("create_fuota_task", drop("FirmwareUpdateImage"), "FirmwareUpdateImage"),
    ("create_fuota_task", put("FirmwareUpdateImage", ""), "FirmwareUpdateImage"),
    ("create_fuota_task", put("FirmwareUpdateImage", "s3://b/" + "k" * 4090), "FirmwareUpdateImage"),
    ("create_fuota_task", drop("FirmwareUpdateRole"), "FirmwareUpdateRole"),
    ("create_fuota_task", put("FirmwareUpdateRole", ""), "FirmwareUpdateRole"),
    ("create_fuota_task", put("FirmwareUpdateRole", "r" * 2049), "FirmwareUpdateRole"),
    ("create_fuota_task", put("Tags", [{"Key": f"k{i}", "Value": "v"} for i in range(201)]), "Tags"),
    ("create_fuota_task", put("Tags", [{"Key": "", "Value": "v"}]), "Key"),
    ("create_fuota_task", put("Tags", [{"Key": "k" * 129, "Value": "v"}]), "Key"),
    ("create_fuota_task", put("Tags", [{"Key": "k", "Value": "v" * 257}]), "Value"),
    ("create_fuota_task", put("Tags", [{"Value": "v"}]), "Key"),
    ("create_fuota_task", put("RedundancyPercent", -1), "RedundancyPercent"),
    ("create_fuota_task", put("RedundancyPercent", 101), "RedundancyPercent"),
    ("create_fuota_task", put("FragmentSizeBytes", 0), "FragmentSizeBytes"),
    ("create_fuota_task", put("FragmentIntervalMS", 0), "FragmentIntervalMS"),
    ("create_fuota_task", put("Descriptor", "A" * 336), "Descriptor"),
    ("create_fuota_task", put("Descriptor", "not base64!"), "Descriptor"),
    ("create_fuota_task", put("Descriptor", "AQI"), "Descriptor"),
    # CreateFuotaTask: what otahub needs besides
    ("create_fuota_task", put("Descriptor", "AQIDBAU="), "Descriptor"),  # 5 bytes: FragSessionSetupReq holds 4
    ("create_fuota_task", put("FirmwareUpdateRole", "fuota-role"), "FirmwareUpdateRole"),
    ("create_fuota_task", put("FirmwareUpdateRole", "arn:aws:iam::123456789012:user/u"), "FirmwareUpdateRole"),
    ("create_fuota_task", put("FirmwareUpdateImage", f"s3://{BUCKET}/nothing-here.bin"), "FirmwareUpdateImage"),
    ("create_fuota_task", put("FirmwareUpdateImage", "/local/fw.bin"), "FirmwareUpdateImage"),
    ("create_fuota_task", put("Tags", [{"Key": "aws:owner", "Value": "v"}]), "Tags"),
    # the other operations
    ("get_fuota_task", put("Id", LONG_ID), "Id"),
    ("list_fuota_tasks", put("MaxResults", 251), "MaxResults"),
    ("list_fuota_tasks", put("MaxResults", -1), "MaxResults"),
    ("list_fuota_tasks", put("NextToken", "t" * 4097), "NextToken"),
    ("update_fuota_task", put("Id", LONG_ID), "Id"),
    ("update_fuota_task", put("Name", "n" * 257), "Name"),
    ("update_fuota_task", put("Description", "d" * 2049), "Description"),
    ("update_fuota_task", put("LoRaWAN.RfRegion", "EU869"), "RfRegion"),
    ("update_fuota_task", put("FirmwareUpdateImage", ""), "FirmwareUpdateImage"),
    ("update_fuota_task", put("FirmwareUpdateRole", ""), "FirmwareUpdateRole"),
    ("update_fuota_task", put("RedundancyPercent", 101), "RedundancyPercent"),
    ("update_fuota_task", put("FragmentSizeBytes", 0), "FragmentSizeBytes"),
    ("update_fuota_task", put("FragmentIntervalMS", 0), "FragmentIntervalMS"),
    ("update_fuota_task", put("Descriptor", "A" * 336), "Descriptor"),
    ("update_fuota_task", put("Descriptor", "AQIDBAU="), "Descriptor"),
    ("update_fuota_task", put("FirmwareUpdateRole", "role"), "FirmwareUpdateRole"),
    ("update_fuota_task", put("FirmwareUpdateImage", f"s3://{BUCKET}/nothing-here.bin"), "FirmwareUpdateImage"),
    ("delete_fuota_task", put("Id", LONG_ID), "Id"),
    ("start_fuota_task", put("Id", LONG_ID), "Id"),
    ("start_fuota_task", put("LoRaWAN.StartTime", datetime(2001, 1, 1)), "LoRaWAN.StartTime"),
    ("associate_wireless_device_with_fuota_task", put("Id", LONG_ID), "Id"),
    ("associate_wireless_device_with_fuota_task", drop("WirelessDeviceId"), "WirelessDeviceId"),
    ("associate_wireless_device_with_fuota_task", put("WirelessDeviceId", LONG_ID), "WirelessDeviceId"),
    ("disassociate_wireless_device_from_fuota_task", put("Id", LONG_ID), "Id"),
    ("disassociate_wireless_device_from_fuota_task", put("WirelessDeviceId", LONG_ID), "WirelessDeviceId"),
    ("associate_multicast_group_with_fuota_task", put("Id", LONG_ID), "Id"),
    ("associate_multicast_group_with_fuota_task", drop("MulticastGroupId"), "MulticastGroupId"),
    ("associate_multicast_group_with_fuota_task", put("MulticastGroupId", LONG_ID), "MulticastGroupId"),
    ("disassociate_multicast_group_from_fuota_task", put("Id", LONG_ID), "Id"),
    ("disassociate_multicast_group_from_fuota_task", put("MulticastGroupId", LONG_ID), "MulticastGroupId"),
    ("list_multicast_groups_by_fuota_task", put("Id", LONG_ID), "Id"),
    ("list_multicast_groups_by_fuota_task", put("MaxResults", 251), "MaxResults"),
    ("list_multicast_groups_by_fuota_task", put("NextToken", "t" * 4097), "NextToken"),
]


@pytest.mark.parametrize(("operation", "change", "member"), ROWS,
                         ids=[f"{op}-{member}-{i}" for i, (op, _, member) in enumerate(ROWS)])
def test_each_constraint_is_a_validation_exception_naming_the_member(
    raw: Any, baselines: dict[str, Factory], operation: str, change: Change, member: str,
) -> None:
    call = getattr(raw, operation)
    answered = call(**baselines[operation]())  # as it is, the request succeeds
    assert answered["ResponseMetadata"]["HTTPStatusCode"] in (200, 201, 204)
    params = copy(baselines[operation]())
    change(params)
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    fails(excinfo, "ValidationException", 400, member)
