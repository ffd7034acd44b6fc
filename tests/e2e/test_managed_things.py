"""Managed things through boto3: each is backed by the registry's thing named by its Id (what its device is
on the device plane), its fields and MetaData that thing's attributes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.managed_helpers import (
    device,
    document_url,
    managed_thing,
    managed_things,
    mi,
    ota_task,
    report,
    start,
    status_of,
    task_executions,
    viot,
    vserver,
)
from tests.e2e.test_things import error_of

__all__ = ["device", "document_url", "mi", "viot", "vserver"]  # fixtures

ARN = "arn:aws:iotmanagedintegrations:us-east-1:123456789012:managed-thing/{}"


def test_managed_thing_lifecycle(mi: Any, viot: Any, unique: str) -> None:
    created = mi.create_managed_thing(
        Role="CONTROLLER", AuthenticationMaterial="WIFI:S:home;T:WPA;P:secret;;",
        AuthenticationMaterialType="WIFI_SETUP_QR_BAR_CODE", Owner=f"owner-{unique}", CredentialLockerId="locker1",
        SerialNumber="SN 0001", Brand="Acme", Model="Hub 2", Name="Kitchen hub", Classification="hub",
        MetaData={"region": "eu", "floor": "2"}, Tags={"env": "lab"},
        WiFiSimpleSetupConfiguration={"EnableAsProvisioner": True, "TimeoutInMinutes": 10},
        CapabilityReport={"version": "1.0.0", "endpoints": [{"id": "1", "deviceTypes": ["hub"], "capabilities": []}]},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    thing_id = created["Id"]
    assert created["Arn"] == ARN.format(thing_id)
    got = mi.get_managed_thing(Identifier=thing_id)
    assert {k: got[k] for k in ("Id", "Arn", "Role", "Owner", "CredentialLockerId", "SerialNumber", "Brand",
                                "Model", "Name", "Classification", "MetaData", "Tags", "ProvisioningStatus",
                                "WiFiSimpleSetupConfiguration")} == {
        "Id": thing_id, "Arn": ARN.format(thing_id), "Role": "CONTROLLER", "Owner": f"owner-{unique}",
        "CredentialLockerId": "locker1", "SerialNumber": "SN 0001", "Brand": "Acme", "Model": "Hub 2",
        "Name": "Kitchen hub", "Classification": "hub", "MetaData": {"region": "eu", "floor": "2"},
        "Tags": {"env": "lab"}, "ProvisioningStatus": "PRE_ASSOCIATED",
        "WiFiSimpleSetupConfiguration": {"EnableAsProvisioner": True, "TimeoutInMinutes": 10},
    }
    assert "AuthenticationMaterial" not in got
    backing = viot.describe_thing(thingName=thing_id)  # the device plane's thing: its name is the Id
    assert backing["attributes"]["region"] == "eu"
    assert backing["attributes"]["managedThing.Brand"] == "Acme"
    updated = mi.update_managed_thing(Identifier=thing_id, Name="Hall hub", MetaData={"region": "us"},
                                      HubNetworkMode="NETWORK_WIDE_EXCLUSION")
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = mi.get_managed_thing(Identifier=thing_id)
    assert (got["Name"], got["Brand"], got["MetaData"], got["HubNetworkMode"]) == (
        "Hall hub", "Acme", {"region": "us"}, "NETWORK_WIDE_EXCLUSION")
    assert got["UpdatedAt"] >= got["CreatedAt"]
    assert "floor" not in viot.describe_thing(thingName=thing_id)["attributes"]  # MetaData is replaced whole
    meta = mi.get_managed_thing_meta_data(Identifier=thing_id)
    assert (meta["ManagedThingId"], meta["MetaData"]) == (thing_id, {"region": "us"})
    assert mi.get_managed_thing_state(ManagedThingId=thing_id)["Endpoints"] == []
    deleted = mi.delete_managed_thing(Identifier=thing_id)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (lambda: mi.get_managed_thing(Identifier=thing_id),
                 lambda: mi.get_managed_thing_meta_data(Identifier=thing_id),
                 lambda: mi.get_managed_thing_state(ManagedThingId=thing_id),
                 lambda: mi.update_managed_thing(Identifier=thing_id, Name="x"),
                 lambda: mi.delete_managed_thing(Identifier=thing_id)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("ResourceNotFoundException", 404)
        assert (excinfo.value.response["ResourceId"], excinfo.value.response["ResourceType"]) == (
            thing_id, "Managed thing")
    with pytest.raises(ClientError):
        viot.describe_thing(thingName=thing_id)


def test_list_managed_things_filters_and_pages(mi: Any, unique: str) -> None:
    owner = f"o-{unique}"
    devices = managed_things(mi, 3, Owner=owner, SerialNumber=f"SN{unique}")
    controller = managed_thing(mi, Role="CONTROLLER", Owner=owner, CredentialLockerId=f"L{unique}")
    discovered = mi.create_managed_thing(Role="DEVICE", AuthenticationMaterial="zz",
                                         AuthenticationMaterialType="DISCOVERED_DEVICE", Owner=owner)["Id"]

    def listed(**filters: Any) -> list[str]:
        pages = mi.get_paginator("list_managed_things").paginate(**filters, PaginationConfig={"PageSize": 2})
        return [item["Id"] for page in pages for item in page["Items"]]

    assert listed(OwnerFilter=owner) == [*devices, controller, discovered]
    assert listed(OwnerFilter=owner, RoleFilter="CONTROLLER") == [controller]
    assert listed(CredentialLockerFilter=f"L{unique}") == [controller]
    assert listed(SerialNumberFilter=f"SN{unique}") == devices
    assert listed(OwnerFilter=owner, ProvisioningStatusFilter="DISCOVERED") == [discovered]
    assert listed(OwnerFilter=owner, ProvisioningStatusFilter="PRE_ASSOCIATED") == [*devices, controller]
    assert listed(OwnerFilter=owner, ConnectorPolicyIdFilter="policy") == []  # nothing otahub makes has one
    page = mi.list_managed_things(OwnerFilter=owner, MaxResults=2)
    assert len(page["Items"]) == 2 and page["NextToken"]
    assert page["Items"][0]["Owner"] == owner and page["Items"][0]["Arn"] == ARN.format(devices[0])
    with pytest.raises(ClientError) as excinfo:  # a token is bound to its filters
        mi.list_managed_things(OwnerFilter=f"x{owner}", NextToken=page["NextToken"])
    assert error_of(excinfo) == ("ValidationException", 400)


def test_create_managed_thing_client_token(mi: Any, unique: str) -> None:
    fields = {"Role": "DEVICE", "AuthenticationMaterial": "code", "AuthenticationMaterialType": "ZIGBEE_QR_BAR_CODE",
              "MetaData": {"a": "1", "b": "2"}, "ClientToken": f"mt-{unique}"}
    first = mi.create_managed_thing(**fields)
    again = mi.create_managed_thing(**{**fields, "MetaData": {"b": "2", "a": "1"}})
    assert again["Id"] == first["Id"] and again["ResponseMetadata"]["HTTPStatusCode"] == 201
    with pytest.raises(ClientError) as excinfo:
        mi.create_managed_thing(**{**fields, "Brand": "Other"})
    assert error_of(excinfo) == ("ConflictException", 409)


def test_reserved_metadata_keys_are_refused(mi: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        managed_thing(mi, MetaData={"managedThing.Brand": "forged"})
    assert error_of(excinfo) == ("ValidationException", 400)
    assert "MetaData" in excinfo.value.response["Error"]["Message"]


def test_delete_with_work_pending_needs_force(mi: Any, device: Any, document_url: str) -> None:
    kept, removed = managed_things(mi, 2)
    task_id = ota_task(mi, document_url, [kept, removed])
    start(device, removed)
    with pytest.raises(ClientError) as excinfo:
        mi.delete_managed_thing(Identifier=removed)
    assert error_of(excinfo) == ("ConflictException", 409)
    assert task_id in excinfo.value.response["Error"]["Message"]
    mi.delete_managed_thing(Identifier=removed, Force=True)  # its execution is canceled, so the task can end
    assert task_executions(mi, task_id)[removed]["Status"] == "CANCELED"
    start(device, kept)
    report(device, kept, task_id, "SUCCEEDED")
    assert status_of(mi, task_id) == "COMPLETED"
