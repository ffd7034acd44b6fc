"""Things through boto3 against a real otahub: every operation and its AWS behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_and_describe_thing(iot: Any, unique: str) -> None:
    created = iot.create_thing(thingName=f"t-{unique}", attributePayload={"attributes": {"model": "m1"}})
    assert created["thingName"] == f"t-{unique}"
    assert created["thingArn"] == f"arn:aws:iot:us-east-1:123456789012:thing/t-{unique}"
    described = iot.describe_thing(thingName=f"t-{unique}")
    assert described["thingId"] == created["thingId"]
    assert described["thingArn"] == created["thingArn"]
    assert described["defaultClientId"] == f"t-{unique}"
    assert described["attributes"] == {"model": "m1"}
    assert described["version"] == 1
    assert "thingTypeName" not in described


def test_create_thing_is_idempotent_for_same_config_and_conflicts_otherwise(iot: Any, unique: str) -> None:
    first = iot.create_thing(thingName=f"t-{unique}", attributePayload={"attributes": {"a": "1"}})
    again = iot.create_thing(thingName=f"t-{unique}", attributePayload={"attributes": {"a": "1"}})
    assert again["thingId"] == first["thingId"]
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing(thingName=f"t-{unique}", attributePayload={"attributes": {"a": "2"}})
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)
    assert excinfo.value.response["resourceId"] == first["thingId"]
    assert excinfo.value.response["resourceArn"] == first["thingArn"]


def test_describe_missing_thing_is_not_found(iot: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.describe_thing(thingName=f"missing-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert f"missing-{unique}" in excinfo.value.response["Error"]["Message"]


def test_create_thing_with_unknown_type_or_billing_group_is_not_found(iot: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing(thingName=f"t-{unique}", thingTypeName=f"nope-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing(thingName=f"t-{unique}", billingGroupName=f"nope-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError):
        iot.describe_thing(thingName=f"t-{unique}")


def test_update_thing_merges_replaces_and_removes_attributes(iot: Any, unique: str) -> None:
    name = f"t-{unique}"
    iot.create_thing(thingName=name, attributePayload={"attributes": {"a": "1", "b": "2"}})
    iot.update_thing(thingName=name, attributePayload={"attributes": {"b": "", "c": "3"}, "merge": True})
    assert iot.describe_thing(thingName=name)["attributes"] == {"a": "1", "c": "3"}
    iot.update_thing(thingName=name, attributePayload={"attributes": {"z": "9"}})
    described = iot.describe_thing(thingName=name)
    assert described["attributes"] == {"z": "9"}
    assert described["version"] == 3


def test_update_thing_with_stale_expected_version_conflicts(iot: Any, unique: str) -> None:
    name = f"t-{unique}"
    iot.create_thing(thingName=name)
    iot.update_thing(thingName=name, attributePayload={"attributes": {"a": "1"}}, expectedVersion=1)
    with pytest.raises(ClientError) as excinfo:
        iot.update_thing(thingName=name, attributePayload={"attributes": {"a": "2"}}, expectedVersion=1)
    assert error_of(excinfo) == ("VersionConflictException", 409)
    assert iot.describe_thing(thingName=name)["attributes"] == {"a": "1"}


def test_update_thing_type_and_remove_type(iot: Any, unique: str) -> None:
    name, type_name = f"t-{unique}", f"type-{unique}"
    iot.create_thing_type(thingTypeName=type_name)
    iot.create_thing(thingName=name)
    iot.update_thing(thingName=name, thingTypeName=type_name)
    assert iot.describe_thing(thingName=name)["thingTypeName"] == type_name
    with pytest.raises(ClientError) as excinfo:
        iot.update_thing(thingName=name, thingTypeName=type_name, removeThingType=True)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    iot.update_thing(thingName=name, removeThingType=True)
    assert "thingTypeName" not in iot.describe_thing(thingName=name)


def test_update_missing_thing_is_not_found(iot: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.update_thing(thingName=f"missing-{unique}", attributePayload={"attributes": {"a": "1"}})
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_delete_thing_checks_version_and_is_idempotent(iot: Any, unique: str) -> None:
    name = f"t-{unique}"
    iot.create_thing(thingName=name)
    with pytest.raises(ClientError) as excinfo:
        iot.delete_thing(thingName=name, expectedVersion=7)
    assert error_of(excinfo) == ("VersionConflictException", 409)
    iot.delete_thing(thingName=name, expectedVersion=1)
    with pytest.raises(ClientError):
        iot.describe_thing(thingName=name)
    iot.delete_thing(thingName=name)  # AWS: deleting a missing thing succeeds


def test_list_things_filters_by_type_and_attribute(iot: Any, unique: str) -> None:
    type_name = f"type-{unique}"
    iot.create_thing_type(thingTypeName=type_name)
    iot.create_thing(thingName=f"a-{unique}", thingTypeName=type_name, attributePayload={"attributes": {"fw": "1.0"}})
    iot.create_thing(thingName=f"b-{unique}", thingTypeName=type_name, attributePayload={"attributes": {"fw": "1.1"}})
    iot.create_thing(thingName=f"c-{unique}", attributePayload={"attributes": {"fw": "1.0", "site": unique}})

    by_type = iot.list_things(thingTypeName=type_name)["things"]
    assert sorted(t["thingName"] for t in by_type) == [f"a-{unique}", f"b-{unique}"]
    assert all(t["thingArn"].endswith(t["thingName"]) and t["version"] == 1 for t in by_type)

    by_site = iot.list_things(attributeName="site", attributeValue=unique)["things"]
    assert [t["thingName"] for t in by_site] == [f"c-{unique}"]
    assert by_site[0]["attributes"] == {"fw": "1.0", "site": unique}

    typed_fw = iot.list_things(thingTypeName=type_name, attributeName="fw", attributeValue="1.")["things"]
    assert typed_fw == []
    prefixed = iot.list_things(
        thingTypeName=type_name, attributeName="fw", attributeValue="1.", usePrefixAttributeValue=True
    )["things"]
    assert sorted(t["thingName"] for t in prefixed) == [f"a-{unique}", f"b-{unique}"]


def test_thing_with_deprecated_type_is_refused(iot: Any, unique: str) -> None:
    type_name = f"type-{unique}"
    iot.create_thing_type(thingTypeName=type_name)
    iot.deprecate_thing_type(thingTypeName=type_name)
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing(thingName=f"t-{unique}", thingTypeName=type_name)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "deprecated" in excinfo.value.response["Error"]["Message"]
