"""Thing types: create, describe, list, deprecate (and undo), delete after the five-minute wait."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_things import error_of
from tests.harness import OtahubServer


def test_create_describe_and_list_thing_type(iot: Any, unique: str) -> None:
    name = f"type-{unique}"
    created = iot.create_thing_type(
        thingTypeName=name,
        thingTypeProperties={
            "thingTypeDescription": "Sensor board rev B",
            "searchableAttributes": ["model", "site"],
            "mqtt5Configuration": {"propagatingAttributes": [{"userPropertyKey": "model", "thingAttribute": "model"}]},
        },
        tags=[{"Key": "team", "Value": "fw"}],
    )
    assert created["thingTypeArn"] == f"arn:aws:iot:us-east-1:123456789012:thingtype/{name}"
    described = iot.describe_thing_type(thingTypeName=name)
    assert described["thingTypeId"] == created["thingTypeId"]
    props = described["thingTypeProperties"]
    assert props["thingTypeDescription"] == "Sensor board rev B"
    assert props["searchableAttributes"] == ["model", "site"]
    propagating = props["mqtt5Configuration"]["propagatingAttributes"]
    assert propagating == [{"userPropertyKey": "model", "thingAttribute": "model"}]
    assert described["thingTypeMetadata"]["deprecated"] is False
    assert described["thingTypeMetadata"]["creationDate"].year >= 2026
    listed = iot.list_thing_types(thingTypeName=name)["thingTypes"]
    assert [t["thingTypeName"] for t in listed] == [name]
    assert iot.list_tags_for_resource(resourceArn=created["thingTypeArn"])["tags"] == [{"Key": "team", "Value": "fw"}]


def test_create_thing_type_twice(iot: Any, unique: str) -> None:
    name = f"type-{unique}"
    first = iot.create_thing_type(thingTypeName=name, thingTypeProperties={"thingTypeDescription": "x"})
    again = iot.create_thing_type(thingTypeName=name, thingTypeProperties={"thingTypeDescription": "x"})
    assert (again["thingTypeId"], again["thingTypeArn"]) == (first["thingTypeId"], first["thingTypeArn"])
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing_type(thingTypeName=name, thingTypeProperties={"thingTypeDescription": "y"})
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)


def test_more_than_three_searchable_attributes_is_refused(iot: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing_type(
            thingTypeName=f"type-{unique}", thingTypeProperties={"searchableAttributes": ["a", "b", "c", "d"]}
        )
    assert error_of(excinfo) == ("InvalidRequestException", 400)


def test_deprecate_undo_and_delete_after_five_minutes(fresh_server: OtahubServer, unique: str) -> None:
    iot = fresh_server.client("iot")
    name = f"type-{unique}"
    iot.create_thing_type(thingTypeName=name)
    with pytest.raises(ClientError) as excinfo:
        iot.delete_thing_type(thingTypeName=name)
    assert error_of(excinfo) == ("InvalidRequestException", 400)

    iot.deprecate_thing_type(thingTypeName=name)
    metadata = iot.describe_thing_type(thingTypeName=name)["thingTypeMetadata"]
    assert metadata["deprecated"] is True and "deprecationDate" in metadata
    iot.deprecate_thing_type(thingTypeName=name, undoDeprecate=True)
    assert iot.describe_thing_type(thingTypeName=name)["thingTypeMetadata"]["deprecated"] is False

    iot.deprecate_thing_type(thingTypeName=name)
    with pytest.raises(ClientError) as excinfo:
        iot.delete_thing_type(thingTypeName=name)
    assert "5 minutes" in excinfo.value.response["Error"]["Message"]
    fresh_server.advance_clock(301)
    iot.delete_thing_type(thingTypeName=name)
    with pytest.raises(ClientError) as excinfo:
        iot.describe_thing_type(thingTypeName=name)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_thing_type_in_use_cannot_be_deleted(fresh_server: OtahubServer, unique: str) -> None:
    iot = fresh_server.client("iot")
    name = f"type-{unique}"
    iot.create_thing_type(thingTypeName=name)
    iot.create_thing(thingName=f"t-{unique}", thingTypeName=name)
    iot.deprecate_thing_type(thingTypeName=name)
    fresh_server.advance_clock(301)
    with pytest.raises(ClientError) as excinfo:
        iot.delete_thing_type(thingTypeName=name)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    iot.delete_thing(thingName=f"t-{unique}")
    iot.delete_thing_type(thingTypeName=name)


def test_deprecate_missing_type_is_not_found(iot: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.deprecate_thing_type(thingTypeName=f"nope-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
