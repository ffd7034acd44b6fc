"""iotwireless through boto3 against a real otahub: destinations, LoRaWAN wireless devices (OTAA and ABP,
LoRaWAN 1.0.x and 1.1), multicast groups and their sessions, tags; every model constraint of these
operations as a ValidationException naming the member."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.jobs_helpers import server_now
from tests.e2e.test_things import error_of
from tests.e2e.wireless_helpers import (
    ACTIVATIONS,
    ARN,
    ROLE,
    Change,
    copy,
    dest,
    destination,
    dev_eui,
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


def fails(excinfo: pytest.ExceptionInfo[ClientError], code: str, status: int, *words: str) -> None:
    assert error_of(excinfo) == (code, status)
    message = excinfo.value.response["Error"]["Message"]
    for word in words:
        assert word in message


def session_start(vserver: OtahubServer, ahead: timedelta = timedelta(hours=1)) -> datetime:
    return server_now(vserver) + ahead


# --- destinations ---------------------------------------------------------------------------------------


def test_destination_create_get_list_update_delete(wl: Any) -> None:
    name = destination(wl, Description="uplinks to a rule", Expression="fuota_rule")
    got = wl.get_destination(Name=name)
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        "Arn": ARN.format("Destination", name), "Name": name, "Expression": "fuota_rule", "ExpressionType": "RuleName",
        "Description": "uplinks to a rule", "RoleArn": ROLE}
    listed = {d["Name"]: d for d in wl.list_destinations(MaxResults=250)["DestinationList"]}
    assert listed[name]["Arn"] == ARN.format("Destination", name)
    answered = wl.update_destination(Name=name, ExpressionType="MqttTopic", Expression="fleet/uplinks",
                                     Description="to a topic", RoleArn=ROLE + "-2")
    assert answered["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = wl.get_destination(Name=name)
    assert (got["ExpressionType"], got["Expression"], got["Description"], got["RoleArn"]) == (
        "MqttTopic", "fleet/uplinks", "to a topic", ROLE + "-2")
    assert wl.delete_destination(Name=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        wl.get_destination(Name=name)
    fails(excinfo, "ResourceNotFoundException", 404, name)
    assert excinfo.value.response["ResourceType"] == "Destination"
    assert excinfo.value.response["ResourceId"] == name


def test_destination_token_replays_and_names_are_unique(wl: Any, unique: str) -> None:
    params = {"Name": f"d-{unique}", "ExpressionType": "RuleName", "Expression": "r", "RoleArn": ROLE,
              "ClientRequestToken": f"tok-{unique}"}
    first = wl.create_destination(**params)
    again = wl.create_destination(**params)
    assert (again["Name"], again["Arn"]) == (first["Name"], first["Arn"])
    with pytest.raises(ClientError) as excinfo:
        wl.create_destination(**{**params, "Expression": "other"})
    fails(excinfo, "ConflictException", 409, "ClientRequestToken")
    with pytest.raises(ClientError) as excinfo:
        wl.create_destination(**{**params, "ClientRequestToken": f"other-{unique}"})
    fails(excinfo, "ConflictException", 409, f"d-{unique}")
    assert excinfo.value.response["ResourceType"] == "Destination"


def test_destination_in_use_is_not_deleted(wl: Any) -> None:
    name = destination(wl)
    device_id = device(wl, name)
    with pytest.raises(ClientError) as excinfo:
        wl.delete_destination(Name=name)
    fails(excinfo, "ConflictException", 409, name)
    wl.delete_wireless_device(Id=device_id)
    wl.delete_destination(Name=name)


def test_destinations_page(wl: Any) -> None:
    names = {destination(wl) for _ in range(5)}
    found = pages(wl.list_destinations, "DestinationList", MaxResults=2)
    seen = [d["Name"] for page in found for d in page]
    assert names <= set(seen) and len(seen) == len(set(seen)) and len(found) >= 3
    assert all(len(page) <= 2 for page in found)
    with pytest.raises(ClientError) as excinfo:
        wl.list_destinations(NextToken="not-a-token")
    fails(excinfo, "ValidationException", 400, "not-a-token")


# --- wireless devices -----------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_device_of_each_activation_round_trips(wl: Any, dest: str, activation: str) -> None:
    eui = dev_eui().upper()
    ports = {"Fuota": 210, "Multicast": 211, "ClockSync": 212, "Positioning": {"ClockSync": 150, "Stream": 151},
             "Applications": [{"FPort": 152, "Type": "SemtechGeolocation", "DestinationName": dest}]}
    lorawan = {"DevEui": eui, "DeviceProfileId": "dp-1", "ServiceProfileId": "sp-1",
               activation: ACTIVATIONS[activation], "FPorts": ports}
    created = wl.create_wireless_device(Type="LoRaWAN", DestinationName=dest, Name=f"n-{activation}",
                                        Description="a sensor", LoRaWAN=lorawan, Positioning="Disabled")
    assert created["Arn"] == ARN.format("WirelessDevice", created["Id"])
    got = wl.get_wireless_device(Identifier=created["Id"], IdentifierType="WirelessDeviceId")
    assert got["LoRaWAN"] == lorawan
    assert (got["Type"], got["Name"], got["Description"], got["DestinationName"], got["Arn"], got["Positioning"]) == (
        "LoRaWAN", f"n-{activation}", "a sensor", dest, created["Arn"], "Disabled")
    by_eui = wl.get_wireless_device(Identifier=eui.lower(), IdentifierType="DevEui")
    assert by_eui["Id"] == created["Id"]


def test_device_needs_an_existing_destination_and_a_fresh_dev_eui(wl: Any, dest: str) -> None:
    lorawan = {"DevEui": dev_eui(), "OtaaV1_1": ACTIVATIONS["OtaaV1_1"]}
    with pytest.raises(ClientError) as excinfo:
        wl.create_wireless_device(Type="LoRaWAN", DestinationName="no-such-destination", LoRaWAN=lorawan)
    fails(excinfo, "ResourceNotFoundException", 404, "no-such-destination")
    assert excinfo.value.response["ResourceType"] == "Destination"
    wl.create_wireless_device(Type="LoRaWAN", DestinationName=dest, LoRaWAN=lorawan)
    with pytest.raises(ClientError) as excinfo:
        wl.create_wireless_device(Type="LoRaWAN", DestinationName=dest,
                                  LoRaWAN={**lorawan, "DevEui": lorawan["DevEui"].upper()})
    fails(excinfo, "ConflictException", 409, "DevEui")


def test_device_token_replays(wl: Any, dest: str, unique: str) -> None:
    params = {"Type": "LoRaWAN", "DestinationName": dest, "ClientRequestToken": f"dev-{unique}",
              "LoRaWAN": {"DevEui": dev_eui(), "OtaaV1_1": ACTIVATIONS["OtaaV1_1"]}}
    first = wl.create_wireless_device(**params)
    assert wl.create_wireless_device(**params)["Id"] == first["Id"]
    with pytest.raises(ClientError) as excinfo:
        wl.create_wireless_device(**{**params, "Name": "changed"})
    fails(excinfo, "ConflictException", 409, "ClientRequestToken")


@pytest.mark.parametrize(("identifier_type", "identifier"), [
    ("WirelessDeviceId", "00000000-0000-0000-0000-000000000000"), ("DevEui", "ffffffffffffffff"),
    ("ThingName", "no-thing"), ("SidewalkManufacturingSn", "sn-1")])
def test_get_device_by_an_unknown_identifier_is_not_found(wl: Any, identifier_type: str, identifier: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        wl.get_wireless_device(Identifier=identifier, IdentifierType=identifier_type)
    fails(excinfo, "ResourceNotFoundException", 404, identifier)
    assert excinfo.value.response["ResourceType"] == "WirelessDevice"


def test_update_device(wl: Any, dest: str) -> None:
    other = destination(wl)
    abp = device(wl, dest, "AbpV1_1")
    answered = wl.update_wireless_device(
        Id=abp, DestinationName=other, Name="renamed", Description="moved", Positioning="Enabled",
        LoRaWAN={"DeviceProfileId": "dp-2", "ServiceProfileId": "sp-2", "AbpV1_1": {"FCntStart": 99},
                 "FPorts": {"Positioning": {"Gnss": 160}, "Applications": [{"FPort": 161}]}})
    assert answered["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = wl.get_wireless_device(Identifier=abp, IdentifierType="WirelessDeviceId")
    assert (got["DestinationName"], got["Name"], got["Description"], got["Positioning"]) == (
        other, "renamed", "moved", "Enabled")
    lorawan = got["LoRaWAN"]
    assert (lorawan["DeviceProfileId"], lorawan["ServiceProfileId"], lorawan["AbpV1_1"]["FCntStart"]) == (
        "dp-2", "sp-2", 99)
    assert lorawan["AbpV1_1"]["SessionKeys"] == ACTIVATIONS["AbpV1_1"]["SessionKeys"]
    assert lorawan["FPorts"] == {"Positioning": {"Gnss": 160}, "Applications": [{"FPort": 161}]}
    with pytest.raises(ClientError) as excinfo:
        wl.update_wireless_device(Id=abp, LoRaWAN={"AbpV1_0_x": {"FCntStart": 1}})
    fails(excinfo, "ValidationException", 400, "LoRaWAN.AbpV1_0_x.FCntStart")
    with pytest.raises(ClientError) as excinfo:
        wl.update_wireless_device(Id=abp, DestinationName="no-such-destination")
    fails(excinfo, "ResourceNotFoundException", 404, "no-such-destination")
    with pytest.raises(ClientError) as excinfo:
        wl.update_wireless_device(Id="00000000-0000-0000-0000-000000000000", Name="x")
    fails(excinfo, "ResourceNotFoundException", 404)


def test_delete_device_leaves_its_groups_and_tags(wl: Any, dest: str) -> None:
    device_id = device(wl, dest, Tags=[{"Key": "otahub:simulated-loss", "Value": "0.2"}])
    group_id = group(wl)
    wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)
    assert wl.delete_wireless_device(Id=device_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert wl.get_multicast_group(Id=group_id)["LoRaWAN"]["NumberOfDevicesRequested"] == 0
    for call in (lambda: wl.get_wireless_device(Identifier=device_id, IdentifierType="WirelessDeviceId"),
                 lambda: wl.list_tags_for_resource(ResourceArn=ARN.format("WirelessDevice", device_id)),
                 lambda: wl.delete_wireless_device(Id=device_id)):
        with pytest.raises(ClientError) as excinfo:
            call()
        fails(excinfo, "ResourceNotFoundException", 404, device_id)


def test_list_devices_filters_and_pages(wl: Any, image: str) -> None:
    dest = destination(wl)
    ids = [device(wl, dest, LoRaWAN={"DeviceProfileId": f"profile-{i % 2}", "ServiceProfileId": "sp"})
           for i in range(5)]
    assert set(listed_devices(wl, 2, DestinationName=dest)) == set(ids)
    by_profile = listed_devices(wl, DestinationName=dest, DeviceProfileId="profile-1")
    assert set(by_profile) == {ids[1], ids[3]}
    assert set(listed_devices(wl, DestinationName=dest, ServiceProfileId="sp",
                              WirelessDeviceType="LoRaWAN")) == set(ids)
    assert listed_devices(wl, DestinationName=dest, WirelessDeviceType="Sidewalk") == {}
    entry = listed_devices(wl, DestinationName=dest)[ids[0]]
    assert entry["LoRaWAN"] == {"DevEui": wl.get_wireless_device(
        Identifier=ids[0], IdentifierType="WirelessDeviceId")["LoRaWAN"]["DevEui"]}
    assert "FuotaDeviceStatus" not in entry and "McGroupId" not in entry

    group_id = group(wl)
    for device_id in ids[:3]:
        wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)
    in_group = listed_devices(wl, 1, MulticastGroupId=group_id)
    assert set(in_group) == set(ids[:3])
    assert {(d["McGroupId"], d["MulticastDeviceStatus"]) for d in in_group.values()} == {(1, "Pending")}

    task_id = fuota_task(wl, image)
    for device_id in ids[2:]:
        wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device_id)
    in_task = listed_devices(wl, FuotaTaskId=task_id)
    assert set(in_task) == set(ids[2:])
    assert {d["FuotaDeviceStatus"] for d in in_task.values()} == {"Initial"}
    both = listed_devices(wl, FuotaTaskId=task_id, MulticastGroupId=group_id)
    assert set(both) == {ids[2]}
    assert (both[ids[2]]["FuotaDeviceStatus"], both[ids[2]]["McGroupId"]) == ("Initial", 1)
    assert listed_devices(wl, FuotaTaskId="no-such-task") == {}


# --- multicast groups -----------------------------------------------------------------------------------


def test_multicast_group_create_get_list_update_delete(wl: Any) -> None:
    lorawan = {"RfRegion": "US915", "DlClass": "ClassB",
               "ParticipatingGateways": {"GatewayList": ["gw-1", "gw-2"], "TransmissionInterval": 500},
               "DefaultSessionParameters": {"DlDr": 8, "DlFreq": 923300000}}
    created = wl.create_multicast_group(Name="fleet", Description="all sensors", LoRaWAN=lorawan)
    group_id = created["Id"]
    assert created["Arn"] == ARN.format("MulticastGroup", group_id)
    got = wl.get_multicast_group(Id=group_id)
    assert (got["Name"], got["Description"], got["Status"], got["Arn"]) == (
        "fleet", "all sensors", "Pending", created["Arn"])
    assert got["LoRaWAN"] == {**lorawan, "NumberOfDevicesRequested": 0, "NumberOfDevicesInGroup": 0}
    assert isinstance(got["CreatedAt"], datetime)
    listed = {g["Id"]: g for g in wl.list_multicast_groups(MaxResults=250)["MulticastGroupList"]}
    assert listed[group_id] == {"Id": group_id, "Arn": created["Arn"], "Name": "fleet"}
    wl.update_multicast_group(Id=group_id, Name="renamed", LoRaWAN={
        "DlClass": "ClassC", "DefaultSessionParameters": {"DlDr": 9, "DlFreq": 923900000}})
    got = wl.get_multicast_group(Id=group_id)
    assert (got["Name"], got["Description"], got["LoRaWAN"]["DlClass"], got["LoRaWAN"]["RfRegion"]) == (
        "renamed", "all sensors", "ClassC", "US915")
    assert got["LoRaWAN"]["DefaultSessionParameters"] == {"DlDr": 9, "DlFreq": 923900000}
    assert wl.delete_multicast_group(Id=group_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        wl.get_multicast_group(Id=group_id)
    fails(excinfo, "ResourceNotFoundException", 404, group_id)
    assert excinfo.value.response["ResourceType"] == "MulticastGroup"


def test_multicast_group_token_replays(wl: Any, unique: str) -> None:
    params = {"ClientRequestToken": f"g-{unique}", "LoRaWAN": {"RfRegion": "EU868", "DlClass": "ClassC"}}
    first = wl.create_multicast_group(**params)
    assert wl.create_multicast_group(**params)["Id"] == first["Id"]
    with pytest.raises(ClientError) as excinfo:
        wl.create_multicast_group(**{**params, "Name": "other"})
    fails(excinfo, "ConflictException", 409, "ClientRequestToken")
    assert wl.list_multicast_groups(MaxResults=250)["MulticastGroupList"]


def test_multicast_groups_page(wl: Any) -> None:
    made = {group(wl) for _ in range(4)}
    seen = [g["Id"] for page in pages(wl.list_multicast_groups, "MulticastGroupList", MaxResults=3) for g in page]
    assert made <= set(seen) and len(seen) == len(set(seen))


def test_membership_and_group_slots(wl: Any, dest: str) -> None:
    device_id = device(wl, dest)
    groups = [group(wl) for _ in range(5)]
    for expected_slot, group_id in enumerate(groups[:4], start=1):
        wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)
        wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)  # idempotent
        assert listed_devices(wl, MulticastGroupId=group_id)[device_id]["McGroupId"] == expected_slot
        assert wl.get_multicast_group(Id=group_id)["LoRaWAN"]["NumberOfDevicesRequested"] == 1
    with pytest.raises(ClientError) as excinfo:
        wl.associate_wireless_device_with_multicast_group(Id=groups[4], WirelessDeviceId=device_id)
    fails(excinfo, "ConflictException", 409, "4 multicast groups")
    wl.disassociate_wireless_device_from_multicast_group(Id=groups[1], WirelessDeviceId=device_id)
    wl.associate_wireless_device_with_multicast_group(Id=groups[4], WirelessDeviceId=device_id)
    assert listed_devices(wl, MulticastGroupId=groups[4])[device_id]["McGroupId"] == 2  # the freed slot
    with pytest.raises(ClientError) as excinfo:
        wl.disassociate_wireless_device_from_multicast_group(Id=groups[1], WirelessDeviceId=device_id)
    fails(excinfo, "ResourceNotFoundException", 404, device_id)
    with pytest.raises(ClientError) as excinfo:
        wl.associate_wireless_device_with_multicast_group(Id=groups[1], WirelessDeviceId="no-such-device")
    fails(excinfo, "ResourceNotFoundException", 404, "no-such-device")
    with pytest.raises(ClientError) as excinfo:
        wl.associate_wireless_device_with_multicast_group(Id="no-such-group", WirelessDeviceId=device_id)
    fails(excinfo, "ResourceNotFoundException", 404, "no-such-group")


@pytest.mark.parametrize(("activation", "lorawan", "member"), [
    ("AbpV1_1", {}, "ABP"),
    ("OtaaV1_0_x", {"OtaaV1_0_x": {"AppKey": "1" * 32, "AppEui": "4" * 16}}, "GenAppKey"),
])
def test_multicast_and_fuota_need_a_root_key(wl: Any, dest: str, image: str, activation: str,
                                            lorawan: dict[str, Any], member: str) -> None:
    device_id = device(wl, dest, activation, LoRaWAN=lorawan)
    with pytest.raises(ClientError) as excinfo:
        wl.associate_wireless_device_with_multicast_group(Id=group(wl), WirelessDeviceId=device_id)
    fails(excinfo, "ValidationException", 400, member)
    with pytest.raises(ClientError) as excinfo:
        wl.associate_wireless_device_with_fuota_task(Id=fuota_task(wl, image), WirelessDeviceId=device_id)
    fails(excinfo, "ValidationException", 400, member)


def test_multicast_session_start_get_cancel(wl: Any, vserver: OtahubServer, dest: str) -> None:
    group_id = group(wl, "EU868", "ClassB", LoRaWAN={"DefaultSessionParameters": {"DlDr": 3, "DlFreq": 869525000}})
    start = session_start(vserver)
    with pytest.raises(ClientError) as excinfo:
        wl.start_multicast_group_session(Id=group_id, LoRaWAN={"SessionStartTime": start, "SessionTimeout": 100})
    fails(excinfo, "ConflictException", 409, "no devices")
    device_id = device(wl, dest)
    wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)
    answered = wl.start_multicast_group_session(Id=group_id, LoRaWAN={
        "SessionStartTime": start, "SessionTimeout": 100, "PingSlotPeriod": 128})
    assert answered["ResponseMetadata"]["HTTPStatusCode"] == 204
    session = wl.get_multicast_group_session(Id=group_id)["LoRaWAN"]
    assert session == {"DlDr": 3, "DlFreq": 869525000, "SessionStartTime": start.replace(tzinfo=session[
        "SessionStartTime"].tzinfo), "SessionTimeout": 128, "PingSlotPeriod": 128}
    assert wl.get_multicast_group(Id=group_id)["Status"] == "Session_Attempting"
    refused: list[tuple[Callable[[], Any], str, int]] = [
        (lambda: wl.start_multicast_group_session(Id=group_id, LoRaWAN={"SessionStartTime": start}),
         "ConflictException", 409),
        (lambda: wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device(wl, dest)),
         "ConflictException", 409),
        (lambda: wl.update_multicast_group(Id=group_id, Name="x"), "ConflictException", 409),
        # the model gives DisassociateWirelessDeviceFromMulticastGroup no ConflictException
        (lambda: wl.disassociate_wireless_device_from_multicast_group(Id=group_id, WirelessDeviceId=device_id),
         "ValidationException", 400),
    ]
    for call, code, status in refused:
        with pytest.raises(ClientError) as excinfo:
            call()
        fails(excinfo, code, status, "Session_Attempting")
    assert wl.cancel_multicast_group_session(Id=group_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert wl.get_multicast_group(Id=group_id)["Status"] == "Pending"
    assert wl.get_multicast_group_session(Id=group_id)["LoRaWAN"] == {}
    with pytest.raises(ClientError) as excinfo:
        wl.cancel_multicast_group_session(Id=group_id)
    fails(excinfo, "ConflictException", 409, "no session")
    wl.start_multicast_group_session(Id=group_id, LoRaWAN={"SessionStartTime": start, "DlDr": 5,
                                                           "SessionTimeout": 172800})
    session = wl.get_multicast_group_session(Id=group_id)["LoRaWAN"]
    assert (session["DlDr"], session["DlFreq"], session["SessionTimeout"]) == (5, 869525000, 131072)


@pytest.mark.parametrize(("ahead", "member"), [
    (timedelta(minutes=29), "SessionStartTime"), (timedelta(hours=49), "SessionStartTime"),
    (timedelta(minutes=-5), "SessionStartTime")])
def test_session_start_time_is_30_minutes_to_48_hours_ahead(wl: Any, vserver: OtahubServer, dest: str,
                                                           ahead: timedelta, member: str) -> None:
    group_id = group(wl)
    wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device(wl, dest))
    with pytest.raises(ClientError) as excinfo:
        wl.start_multicast_group_session(Id=group_id, LoRaWAN={"SessionStartTime": session_start(vserver, ahead)})
    fails(excinfo, "ValidationException", 400, member)
    assert wl.get_multicast_group(Id=group_id)["Status"] == "Pending"


def test_group_in_a_fuota_task_is_not_deleted(wl: Any, dest: str, image: str) -> None:
    group_id = group(wl)
    task_id = fuota_task(wl, image)
    wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=group_id)
    with pytest.raises(ClientError) as excinfo:
        wl.delete_multicast_group(Id=group_id)
    fails(excinfo, "ConflictException", 409, task_id)
    wl.delete_fuota_task(Id=task_id)
    wl.delete_multicast_group(Id=group_id)


# --- tags -----------------------------------------------------------------------------------------------


def test_tags_on_every_resource_type(wl: Any, dest: str, image: str) -> None:
    device_id = device(wl, dest, Tags=[{"Key": "otahub:simulated-loss", "Value": "0.2"},
                                       {"Key": "otahub:simulated-fault", "Value": "no-memory"}])
    device_arn = ARN.format("WirelessDevice", device_id)
    assert wl.list_tags_for_resource(ResourceArn=device_arn)["Tags"] == [
        {"Key": "otahub:simulated-fault", "Value": "no-memory"}, {"Key": "otahub:simulated-loss", "Value": "0.2"}]
    arns = [device_arn, ARN.format("MulticastGroup", group(wl)), ARN.format("FuotaTask", fuota_task(wl, image)),
            ARN.format("Destination", dest)]
    for arn in arns:
        answered = wl.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "radio"},
                                                          {"Key": "otahub:simulated-fault", "Value": "v1"}])
        assert answered["ResponseMetadata"]["HTTPStatusCode"] == 204
        tags = {t["Key"]: t["Value"] for t in wl.list_tags_for_resource(ResourceArn=arn)["Tags"]}
        assert tags["team"] == "radio" and tags["otahub:simulated-fault"] == "v1"
        wl.untag_resource(ResourceArn=arn, TagKeys=["team", "otahub:simulated-fault"])
        tags = {t["Key"]: t["Value"] for t in wl.list_tags_for_resource(ResourceArn=arn)["Tags"]}
        assert "team" not in tags and "otahub:simulated-fault" not in tags
    assert wl.list_tags_for_resource(ResourceArn=device_arn)["Tags"] == [
        {"Key": "otahub:simulated-loss", "Value": "0.2"}]


def test_tag_errors(wl: Any, dest: str) -> None:
    arn = ARN.format("Destination", dest)
    cases: list[tuple[Callable[[], Any], str, int, str]] = [
        (lambda: wl.list_tags_for_resource(ResourceArn=ARN.format("FuotaTask", "missing")),
         "ResourceNotFoundException", 404, "missing"),
        (lambda: wl.tag_resource(ResourceArn="arn:aws:iot:us-east-1:123456789012:thing/t", Tags=[]),
         "ValidationException", 400, "ResourceArn"),
        (lambda: wl.tag_resource(ResourceArn=ARN.format("WirelessGateway", "gw"), Tags=[]),
         "ValidationException", 400, "WirelessGateway"),
        (lambda: wl.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(201)]),
         "ValidationException", 400, "Tags"),
        (lambda: wl.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "v"}]),
         "ValidationException", 400, "aws:"),
        (lambda: wl.tag_resource(ResourceArn=arn, Tags=[{"Key": "otahub:simulated-loss", "Value": "lots"}]),
         "ValidationException", 400, "otahub:simulated-loss"),
    ]
    for call, code, status, word in cases:
        with pytest.raises(ClientError) as excinfo:
            call()
        fails(excinfo, code, status, word)
    wl.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(150)])
    with pytest.raises(ClientError) as excinfo:
        wl.tag_resource(ResourceArn=arn, Tags=[{"Key": f"more{i}", "Value": "v"} for i in range(51)])
    fails(excinfo, "TooManyTagsException", 400, "200")
    assert len(wl.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 150


# --- every constraint of the model ----------------------------------------------------------------------


Factory = Callable[[], dict[str, Any]]


@pytest.fixture(scope="module")
def baselines(wl: Any, vserver: OtahubServer, dest: str) -> dict[str, Factory]:
    """For each operation, a maker of parameters that succeed (fresh resources where the call uses them up)."""
    device_id = device(wl, dest, "AbpV1_1")
    group_id = group(wl)

    def create_device() -> dict[str, Any]:
        return {"Type": "LoRaWAN", "DestinationName": dest, "Name": "n", "Description": "d", "Positioning": "Enabled",
                "Tags": [{"Key": "k", "Value": "v"}], "LoRaWAN": {
                    "DevEui": dev_eui(), "DeviceProfileId": "dp", "ServiceProfileId": "sp",
                    "OtaaV1_1": dict(ACTIVATIONS["OtaaV1_1"]),
                    "FPorts": {"Fuota": 201, "Multicast": 200, "ClockSync": 202,
                               "Positioning": {"ClockSync": 150, "Stream": 151, "Gnss": 152},
                               "Applications": [{"FPort": 153, "Type": "SemtechGeolocation",
                                                 "DestinationName": dest}]}}}

    def group_with_member() -> dict[str, Any]:
        fresh = group(wl)
        wl.associate_wireless_device_with_multicast_group(Id=fresh, WirelessDeviceId=device(wl, dest))
        return {"Id": fresh, "LoRaWAN": {"SessionStartTime": session_start(vserver), "DlDr": 3, "DlFreq": 869525000,
                                         "SessionTimeout": 3600, "PingSlotPeriod": 64}}

    lorawan_group = {"RfRegion": "EU868", "DlClass": "ClassC",
                     "ParticipatingGateways": {"GatewayList": ["gw"], "TransmissionInterval": 100},
                     "DefaultSessionParameters": {"DlDr": 0, "DlFreq": 869525000}}
    return {
        "create_destination": lambda: {"Name": f"d-{dev_eui()}", "ExpressionType": "RuleName", "Expression": "rule_1",
                                       "RoleArn": ROLE, "Description": "d", "Tags": [{"Key": "k", "Value": "v"}]},
        "get_destination": lambda: {"Name": dest},
        "list_destinations": lambda: {"MaxResults": 5},
        "update_destination": lambda: {"Name": dest, "ExpressionType": "RuleName", "Expression": "rule_2",
                                       "Description": "d", "RoleArn": ROLE},
        "delete_destination": lambda: {"Name": destination(wl)},
        "create_wireless_device": create_device,
        "get_wireless_device": lambda: {"Identifier": device_id, "IdentifierType": "WirelessDeviceId"},
        "list_wireless_devices": lambda: {"MaxResults": 5, "DestinationName": dest, "WirelessDeviceType": "LoRaWAN"},
        "update_wireless_device": lambda: {"Id": device_id, "Name": "n", "DestinationName": dest, "Positioning":
                                           "Enabled", "LoRaWAN": {"DeviceProfileId": "dp", "AbpV1_1": {"FCntStart": 5},
                                                                  "FPorts": {"Positioning": {"Gnss": 152}}}},
        "delete_wireless_device": lambda: {"Id": device(wl, dest)},
        "create_multicast_group": lambda: {"Name": "g", "Description": "d", "LoRaWAN": copy(lorawan_group),
                                           "Tags": [{"Key": "k", "Value": "v"}]},
        "get_multicast_group": lambda: {"Id": group_id},
        "list_multicast_groups": lambda: {"MaxResults": 5},
        "update_multicast_group": lambda: {"Id": group_id, "Name": "g", "LoRaWAN": copy(lorawan_group)},
        "delete_multicast_group": lambda: {"Id": group(wl)},
        "associate_wireless_device_with_multicast_group": lambda: {"Id": group(wl),
                                                                   "WirelessDeviceId": device(wl, dest)},
        "disassociate_wireless_device_from_multicast_group": lambda: _member_of_group(wl, dest),
        "start_multicast_group_session": group_with_member,
        "get_multicast_group_session": lambda: {"Id": group_id},
        "cancel_multicast_group_session": lambda: {"Id": _started(wl, group_with_member())},
        "tag_resource": lambda: {"ResourceArn": ARN.format("Destination", dest), "Tags": [{"Key": "k", "Value": "v"}]},
        "untag_resource": lambda: {"ResourceArn": ARN.format("Destination", dest), "TagKeys": ["k"]},
        "list_tags_for_resource": lambda: {"ResourceArn": ARN.format("Destination", dest)},
    }


def _member_of_group(wl: Any, dest: str) -> dict[str, Any]:
    group_id, device_id = group(wl), device(wl, dest)
    wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)
    return {"Id": group_id, "WirelessDeviceId": device_id}


def _started(wl: Any, params: dict[str, Any]) -> str:
    wl.start_multicast_group_session(**params)
    return str(params["Id"])


L = "LoRaWAN"
LONG_ID = "i" * 257
ROWS: list[tuple[str, Change, str]] = [
    # CreateDestination
    ("create_destination", drop("Name"), "Name"),
    ("create_destination", put("Name", "n" * 129), "Name"),
    ("create_destination", put("Name", "has space"), "Name"),
    ("create_destination", drop("ExpressionType"), "ExpressionType"),
    ("create_destination", put("ExpressionType", "Lambda"), "ExpressionType"),
    ("create_destination", drop("Expression"), "Expression"),
    ("create_destination", put("Expression", "e" * 2049), "Expression"),
    ("create_destination", put("Description", "d" * 2049), "Description"),
    ("create_destination", drop("RoleArn"), "RoleArn"),
    ("create_destination", put("RoleArn", "arn:aws:iam::1:r"), "RoleArn"),
    ("create_destination", put("RoleArn", "r" * 2049), "RoleArn"),
    ("create_destination", put("ClientRequestToken", ""), "ClientRequestToken"),
    ("create_destination", put("ClientRequestToken", "t" * 65), "ClientRequestToken"),
    ("create_destination", put("ClientRequestToken", "no spaces"), "ClientRequestToken"),
    ("create_destination", put("Tags", [{"Key": f"k{i}", "Value": "v"} for i in range(201)]), "Tags"),
    ("create_destination", put("Tags", [{"Key": "", "Value": "v"}]), "Key"),
    ("create_destination", put("Tags", [{"Key": "k" * 129, "Value": "v"}]), "Key"),
    ("create_destination", put("Tags", [{"Key": "k", "Value": "v" * 257}]), "Value"),
    ("create_destination", put("Tags", [{"Value": "v"}]), "Key"),
    ("create_destination", put("Tags", [{"Key": "k"}]), "Value"),
    ("create_destination", put("Tags", [{"Key": "aws:k", "Value": "v"}]), "Tags"),
    ("create_destination", put("Expression", "not a rule"), "Expression"),
    # GetDestination / UpdateDestination / DeleteDestination
    ("get_destination", put("Name", "n" * 129), "Name"),
    ("get_destination", put("Name", "bad!"), "Name"),
    ("list_destinations", put("MaxResults", 251), "MaxResults"),
    ("list_destinations", put("MaxResults", -1), "MaxResults"),
    ("list_destinations", put("NextToken", "t" * 4097), "NextToken"),
    ("update_destination", put("Name", "bad!"), "Name"),
    ("update_destination", put("ExpressionType", "Lambda"), "ExpressionType"),
    ("update_destination", put("Expression", "e" * 2049), "Expression"),
    ("update_destination", put("Description", "d" * 2049), "Description"),
    ("update_destination", put("RoleArn", "short"), "RoleArn"),
    ("update_destination", put("Expression", "with space"), "Expression"),
    ("delete_destination", put("Name", "bad!"), "Name"),
    # CreateWirelessDevice: the model
    ("create_wireless_device", drop("Type"), "Type"),
    ("create_wireless_device", put("Type", "Zigbee"), "Type"),
    ("create_wireless_device", put("Name", "n" * 257), "Name"),
    ("create_wireless_device", put("Description", "d" * 2049), "Description"),
    ("create_wireless_device", drop("DestinationName"), "DestinationName"),
    ("create_wireless_device", put("DestinationName", "bad!"), "DestinationName"),
    ("create_wireless_device", put("DestinationName", "d" * 129), "DestinationName"),
    ("create_wireless_device", put("ClientRequestToken", "bad token"), "ClientRequestToken"),
    ("create_wireless_device", put("ClientRequestToken", "t" * 65), "ClientRequestToken"),
    ("create_wireless_device", put("Positioning", "Sometimes"), "Positioning"),
    ("create_wireless_device", put("Tags", [{"Key": "", "Value": "v"}]), "Key"),
    ("create_wireless_device", put("Tags", [{"Key": "k", "Value": "v" * 257}]), "Value"),
    ("create_wireless_device", put(f"{L}.DevEui", "0011"), "DevEui"),
    ("create_wireless_device", put(f"{L}.DevEui", "zz11223344556677"), "DevEui"),
    ("create_wireless_device", put(f"{L}.DeviceProfileId", "p" * 257), "DeviceProfileId"),
    ("create_wireless_device", put(f"{L}.ServiceProfileId", "p" * 257), "ServiceProfileId"),
    ("create_wireless_device", put(f"{L}.OtaaV1_1.AppKey", "1" * 31), "AppKey"),
    ("create_wireless_device", put(f"{L}.OtaaV1_1.NwkKey", "g" * 32), "NwkKey"),
    ("create_wireless_device", put(f"{L}.OtaaV1_1.JoinEui", "3" * 15), "JoinEui"),
    ("create_wireless_device", put(f"{L}.FPorts.Fuota", 0), "Fuota"),
    ("create_wireless_device", put(f"{L}.FPorts.Multicast", 224), "Multicast"),
    ("create_wireless_device", put(f"{L}.FPorts.ClockSync", 0), "ClockSync"),
    ("create_wireless_device", put(f"{L}.FPorts.Positioning.Stream", 224), "Stream"),
    ("create_wireless_device", put(f"{L}.FPorts.Positioning.Gnss", 0), "Gnss"),
    ("create_wireless_device", put(f"{L}.FPorts.Applications.0.FPort", 224), "FPort"),
    ("create_wireless_device", put(f"{L}.FPorts.Applications.0.Type", "Other"), "Type"),
    ("create_wireless_device", put(f"{L}.FPorts.Applications.0.DestinationName", "bad!"), "DestinationName"),
    ("create_wireless_device", put("Sidewalk", {"SidewalkManufacturingSn": "s" * 65}), "SidewalkManufacturingSn"),
    # CreateWirelessDevice: the other activations' members (one activation each)
    ("create_wireless_device", put(L + ".OtaaV1_0_x", {"AppKey": "1" * 32, "AppEui": "4" * 17}), "AppEui"),
    ("create_wireless_device", put(L + ".OtaaV1_0_x", {"AppKey": "1" * 32, "GenAppKey": "x" * 32}), "GenAppKey"),
    ("create_wireless_device", put(L + ".OtaaV1_0_x", {"AppKey": "1" * 32, "JoinEui": "x"}), "JoinEui"),
    ("create_wireless_device", put(L + ".AbpV1_1", {**ACTIVATIONS["AbpV1_1"], "DevAddr": "123"}), "DevAddr"),
    ("create_wireless_device", put(L + ".AbpV1_1", {**ACTIVATIONS["AbpV1_1"], "FCntStart": 65536}), "FCntStart"),
    ("create_wireless_device", put(L + ".AbpV1_1", {**ACTIVATIONS["AbpV1_1"], "SessionKeys": {
        **ACTIVATIONS["AbpV1_1"]["SessionKeys"], "FNwkSIntKey": "1"}}), "FNwkSIntKey"),
    ("create_wireless_device", put(L + ".AbpV1_1", {**ACTIVATIONS["AbpV1_1"], "SessionKeys": {
        **ACTIVATIONS["AbpV1_1"]["SessionKeys"], "SNwkSIntKey": "1"}}), "SNwkSIntKey"),
    ("create_wireless_device", put(L + ".AbpV1_1", {**ACTIVATIONS["AbpV1_1"], "SessionKeys": {
        **ACTIVATIONS["AbpV1_1"]["SessionKeys"], "NwkSEncKey": "1"}}), "NwkSEncKey"),
    ("create_wireless_device", put(L + ".AbpV1_0_x", {**ACTIVATIONS["AbpV1_0_x"], "FCntStart": -1}), "FCntStart"),
    ("create_wireless_device", put(L + ".AbpV1_0_x", {**ACTIVATIONS["AbpV1_0_x"], "SessionKeys": {
        "NwkSKey": "1", "AppSKey": "b" * 32}}), "NwkSKey"),
    ("create_wireless_device", put(L + ".AbpV1_0_x", {**ACTIVATIONS["AbpV1_0_x"], "SessionKeys": {
        "NwkSKey": "a" * 32, "AppSKey": "b"}}), "AppSKey"),
    # CreateWirelessDevice: what otahub needs besides
    ("create_wireless_device", drop(L), L),
    ("create_wireless_device", drop(f"{L}.DevEui"), "DevEui"),
    ("create_wireless_device", drop(f"{L}.OtaaV1_1"), L),
    ("create_wireless_device", put(L + ".AbpV1_0_x", ACTIVATIONS["AbpV1_0_x"]), L),  # two activations
    ("create_wireless_device", drop(f"{L}.OtaaV1_1.NwkKey"), "LoRaWAN.OtaaV1_1.NwkKey"),
    ("create_wireless_device", drop(f"{L}.OtaaV1_1.JoinEui"), "LoRaWAN.OtaaV1_1.JoinEui"),
    ("create_wireless_device", put(f"{L}.FPorts.Multicast", 201), "LoRaWAN.FPorts"),
    ("create_wireless_device", put("Type", "Sidewalk"), "Type"),
    ("create_wireless_device", put("Tags", [{"Key": "otahub:simulated-loss", "Value": "1.5"}]), "simulated-loss"),
    # GetWirelessDevice / ListWirelessDevices / UpdateWirelessDevice / DeleteWirelessDevice
    ("get_wireless_device", drop("IdentifierType"), "IdentifierType"),
    ("get_wireless_device", put("IdentifierType", "Serial"), "IdentifierType"),
    ("get_wireless_device", put("Identifier", LONG_ID), "Identifier"),
    ("list_wireless_devices", put("MaxResults", 251), "MaxResults"),
    ("list_wireless_devices", put("NextToken", "t" * 4097), "NextToken"),
    ("list_wireless_devices", put("DestinationName", "bad!"), "DestinationName"),
    ("list_wireless_devices", put("DeviceProfileId", "p" * 257), "DeviceProfileId"),
    ("list_wireless_devices", put("ServiceProfileId", "p" * 257), "ServiceProfileId"),
    ("list_wireless_devices", put("WirelessDeviceType", "Zigbee"), "WirelessDeviceType"),
    ("list_wireless_devices", put("FuotaTaskId", LONG_ID), "FuotaTaskId"),
    ("list_wireless_devices", put("MulticastGroupId", LONG_ID), "MulticastGroupId"),
    ("update_wireless_device", put("Id", LONG_ID), "Id"),
    ("update_wireless_device", put("DestinationName", "bad!"), "DestinationName"),
    ("update_wireless_device", put("Name", "n" * 257), "Name"),
    ("update_wireless_device", put("Description", "d" * 2049), "Description"),
    ("update_wireless_device", put("Positioning", "Sometimes"), "Positioning"),
    ("update_wireless_device", put(f"{L}.DeviceProfileId", "p" * 257), "DeviceProfileId"),
    ("update_wireless_device", put(f"{L}.ServiceProfileId", "p" * 257), "ServiceProfileId"),
    ("update_wireless_device", put(f"{L}.AbpV1_1.FCntStart", 65536), "FCntStart"),
    ("update_wireless_device", put(f"{L}.AbpV1_0_x.FCntStart", -1), "FCntStart"),
    ("update_wireless_device", put(f"{L}.FPorts.Positioning.Gnss", 224), "Gnss"),
    ("update_wireless_device", put(f"{L}.FPorts.Applications", [{"FPort": 0}]), "FPort"),
    ("update_wireless_device", put(f"{L}.FPorts.Applications", [{"Type": "Other"}]), "Type"),
    ("update_wireless_device", put("Sidewalk", {"Positioning": {"DestinationName": "bad!"}}), "DestinationName"),
    ("update_wireless_device", put(f"{L}.AbpV1_0_x.FCntStart", 1), "LoRaWAN.AbpV1_0_x.FCntStart"),
    ("delete_wireless_device", put("Id", LONG_ID), "Id"),
    # CreateMulticastGroup / UpdateMulticastGroup
    ("create_multicast_group", drop(L), L),
    ("create_multicast_group", put("Name", "n" * 257), "Name"),
    ("create_multicast_group", put("Description", "d" * 2049), "Description"),
    ("create_multicast_group", put("ClientRequestToken", "bad token"), "ClientRequestToken"),
    ("create_multicast_group", put(f"{L}.RfRegion", "EU869"), "RfRegion"),
    ("create_multicast_group", put(f"{L}.DlClass", "ClassA"), "DlClass"),
    ("create_multicast_group", put(f"{L}.ParticipatingGateways.GatewayList", ["g"] * 21), "GatewayList"),
    ("create_multicast_group", put(f"{L}.ParticipatingGateways.GatewayList", ["g" * 257]), "GatewayList"),
    ("create_multicast_group", put(f"{L}.ParticipatingGateways.TransmissionInterval", 60001), "TransmissionInterval"),
    ("create_multicast_group", put(f"{L}.ParticipatingGateways.TransmissionInterval", -1), "TransmissionInterval"),
    ("create_multicast_group", put(f"{L}.DefaultSessionParameters.DlDr", 16), "DlDr"),
    ("create_multicast_group", put(f"{L}.DefaultSessionParameters.DlDr", -1), "DlDr"),
    ("create_multicast_group", put(f"{L}.DefaultSessionParameters.DlFreq", 99999999), "DlFreq"),
    ("create_multicast_group", put(f"{L}.DefaultSessionParameters.DlFreq", 1000000001), "DlFreq"),
    ("create_multicast_group", put("Tags", [{"Key": "", "Value": "v"}]), "Key"),
    ("create_multicast_group", drop(f"{L}.RfRegion"), "RfRegion"),
    ("create_multicast_group", drop(f"{L}.DlClass"), "DlClass"),
    ("create_multicast_group", put(f"{L}.DefaultSessionParameters.DlDr", 8), "DlDr"),  # EU868 has DR0..7
    ("get_multicast_group", put("Id", LONG_ID), "Id"),
    ("list_multicast_groups", put("MaxResults", 251), "MaxResults"),
    ("list_multicast_groups", put("NextToken", "t" * 4097), "NextToken"),
    ("update_multicast_group", put("Id", LONG_ID), "Id"),
    ("update_multicast_group", put("Name", "n" * 257), "Name"),
    ("update_multicast_group", put("Description", "d" * 2049), "Description"),
    ("update_multicast_group", put(f"{L}.RfRegion", "EU869"), "RfRegion"),
    ("update_multicast_group", put(f"{L}.DlClass", "ClassA"), "DlClass"),
    ("update_multicast_group", put(f"{L}.ParticipatingGateways.TransmissionInterval", 60001), "TransmissionInterval"),
    ("update_multicast_group", put(f"{L}.DefaultSessionParameters.DlDr", 16), "DlDr"),
    ("update_multicast_group", put(f"{L}.DefaultSessionParameters.DlFreq", 1), "DlFreq"),
    ("delete_multicast_group", put("Id", LONG_ID), "Id"),
    ("associate_wireless_device_with_multicast_group", put("Id", LONG_ID), "Id"),
    ("associate_wireless_device_with_multicast_group", drop("WirelessDeviceId"), "WirelessDeviceId"),
    ("associate_wireless_device_with_multicast_group", put("WirelessDeviceId", LONG_ID), "WirelessDeviceId"),
    ("disassociate_wireless_device_from_multicast_group", put("Id", LONG_ID), "Id"),
    ("disassociate_wireless_device_from_multicast_group", put("WirelessDeviceId", LONG_ID), "WirelessDeviceId"),
    # sessions
    ("start_multicast_group_session", drop(L), L),
    ("start_multicast_group_session", put("Id", LONG_ID), "Id"),
    ("start_multicast_group_session", put(f"{L}.DlDr", 16), "DlDr"),
    ("start_multicast_group_session", put(f"{L}.DlFreq", 99999999), "DlFreq"),
    ("start_multicast_group_session", put(f"{L}.SessionTimeout", 59), "SessionTimeout"),
    ("start_multicast_group_session", put(f"{L}.SessionTimeout", 172801), "SessionTimeout"),
    ("start_multicast_group_session", put(f"{L}.PingSlotPeriod", 31), "PingSlotPeriod"),
    ("start_multicast_group_session", put(f"{L}.PingSlotPeriod", 4097), "PingSlotPeriod"),
    ("start_multicast_group_session", put(f"{L}.PingSlotPeriod", 100), "PingSlotPeriod"),  # not a power of two
    ("start_multicast_group_session", drop(f"{L}.SessionStartTime"), "SessionStartTime"),
    ("start_multicast_group_session", put(f"{L}.DlDr", 9), "DlDr"),  # not an EU868 data rate
    ("get_multicast_group_session", put("Id", LONG_ID), "Id"),
    ("cancel_multicast_group_session", put("Id", LONG_ID), "Id"),
    # tags
    ("tag_resource", drop("ResourceArn"), "ResourceArn"),
    ("tag_resource", put("ResourceArn", "a" * 1012), "ResourceArn"),
    ("tag_resource", drop("Tags"), "Tags"),
    ("tag_resource", put("Tags", [{"Key": "", "Value": "v"}]), "Key"),
    ("tag_resource", put("Tags", [{"Key": "k", "Value": "v" * 257}]), "Value"),
    ("tag_resource", put("Tags", [{"Key": f"k{i}", "Value": "v"} for i in range(201)]), "Tags"),
    ("untag_resource", put("ResourceArn", "a" * 1012), "ResourceArn"),
    ("untag_resource", drop("TagKeys"), "TagKeys"),
    ("untag_resource", put("TagKeys", ["k" * 129]), "TagKeys"),
    ("untag_resource", put("TagKeys", [f"k{i}" for i in range(201)]), "TagKeys"),
    ("list_tags_for_resource", drop("ResourceArn"), "ResourceArn"),
    ("list_tags_for_resource", put("ResourceArn", "a" * 1012), "ResourceArn"),
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


@pytest.mark.parametrize("topic", ["fleet/+/uplinks", "fleet/#", ""])
def test_an_mqtt_destination_names_a_topic_without_wildcards(raw: Any, topic: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        raw.create_destination(Name=f"d-{dev_eui()}", ExpressionType="MqttTopic", Expression=topic, RoleArn=ROLE)
    fails(excinfo, "ValidationException", 400, "Expression")
