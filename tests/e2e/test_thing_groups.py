"""Thing groups: hierarchy, membership rules, recursive listings, versions."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_things import error_of

ARN = "arn:aws:iot:us-east-1:123456789012"


def make_tree(iot: Any, u: str) -> None:
    """root -> (mid -> leaf), root -> other."""
    iot.create_thing_group(thingGroupName=f"root-{u}")
    iot.create_thing_group(thingGroupName=f"mid-{u}", parentGroupName=f"root-{u}")
    iot.create_thing_group(thingGroupName=f"leaf-{u}", parentGroupName=f"mid-{u}")
    iot.create_thing_group(thingGroupName=f"other-{u}", parentGroupName=f"root-{u}")


def test_create_and_describe_group_with_hierarchy(iot: Any, unique: str) -> None:
    make_tree(iot, unique)
    leaf = iot.describe_thing_group(thingGroupName=f"leaf-{unique}")
    assert leaf["thingGroupArn"] == f"{ARN}:thinggroup/leaf-{unique}"
    assert leaf["version"] == 1
    metadata = leaf["thingGroupMetadata"]
    assert metadata["parentGroupName"] == f"mid-{unique}"
    assert metadata["rootToParentThingGroups"] == [
        {"groupName": f"root-{unique}", "groupArn": f"{ARN}:thinggroup/root-{unique}"},
        {"groupName": f"mid-{unique}", "groupArn": f"{ARN}:thinggroup/mid-{unique}"},
    ]
    root = iot.describe_thing_group(thingGroupName=f"root-{unique}")
    assert "parentGroupName" not in root["thingGroupMetadata"]


def test_group_properties_and_update_with_versions(iot: Any, unique: str) -> None:
    name = f"g-{unique}"
    iot.create_thing_group(
        thingGroupName=name,
        thingGroupProperties={"thingGroupDescription": "fleet A", "attributePayload": {"attributes": {"a": "1"}}},
    )
    assert iot.update_thing_group(
        thingGroupName=name,
        thingGroupProperties={"attributePayload": {"attributes": {"b": "2"}, "merge": True}},
        expectedVersion=1,
    )["version"] == 2
    described = iot.describe_thing_group(thingGroupName=name)
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "fleet A", "attributePayload": {"attributes": {"a": "1", "b": "2"}},
    }
    with pytest.raises(ClientError) as excinfo:
        iot.update_thing_group(thingGroupName=name, thingGroupProperties={"thingGroupDescription": "x"},
                               expectedVersion=1)
    assert error_of(excinfo) == ("VersionConflictException", 409)


def test_parent_must_exist_and_depth_is_limited(iot: Any, unique: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing_group(thingGroupName=f"g-{unique}", parentGroupName=f"nope-{unique}")
    assert error_of(excinfo)[1] == 404
    parent = None
    for level in range(7):
        iot.create_thing_group(thingGroupName=f"l{level}-{unique}", **({"parentGroupName": parent} if parent else {}))
        parent = f"l{level}-{unique}"
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing_group(thingGroupName=f"l7-{unique}", parentGroupName=parent)
    assert error_of(excinfo) == ("InvalidRequestException", 400)


def test_list_thing_groups_by_parent_recursive_and_prefix(iot: Any, unique: str) -> None:
    make_tree(iot, unique)
    direct = iot.list_thing_groups(parentGroup=f"root-{unique}")["thingGroups"]
    assert sorted(g["groupName"] for g in direct) == [f"mid-{unique}", f"other-{unique}"]
    deep = iot.list_thing_groups(parentGroup=f"root-{unique}", recursive=True)["thingGroups"]
    assert sorted(g["groupName"] for g in deep) == [f"leaf-{unique}", f"mid-{unique}", f"other-{unique}"]
    prefixed = iot.list_thing_groups(namePrefixFilter="le")["thingGroups"]
    assert f"leaf-{unique}" in [g["groupName"] for g in prefixed]
    assert all(g["groupName"].startswith("le") for g in prefixed)
    with pytest.raises(ClientError) as excinfo:
        iot.list_thing_groups(parentGroup=f"nope-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_membership_and_recursive_listing(iot: Any, unique: str) -> None:
    make_tree(iot, unique)
    for n in range(3):
        iot.create_thing(thingName=f"t{n}-{unique}")
    iot.add_thing_to_thing_group(thingGroupName=f"leaf-{unique}", thingName=f"t0-{unique}")
    iot.add_thing_to_thing_group(thingGroupArn=f"{ARN}:thinggroup/mid-{unique}", thingArn=f"{ARN}:thing/t1-{unique}")
    iot.add_thing_to_thing_group(thingGroupName=f"other-{unique}", thingName=f"t2-{unique}")
    iot.add_thing_to_thing_group(thingGroupName=f"leaf-{unique}", thingName=f"t0-{unique}")  # idempotent

    assert iot.list_things_in_thing_group(thingGroupName=f"mid-{unique}")["things"] == [f"t1-{unique}"]
    recursive = iot.list_things_in_thing_group(thingGroupName=f"root-{unique}", recursive=True)["things"]
    assert sorted(recursive) == [f"t0-{unique}", f"t1-{unique}", f"t2-{unique}"]
    assert iot.list_things_in_thing_group(thingGroupName=f"root-{unique}")["things"] == []

    groups = iot.list_thing_groups_for_thing(thingName=f"t0-{unique}")["thingGroups"]
    assert groups == [{"groupName": f"leaf-{unique}", "groupArn": f"{ARN}:thinggroup/leaf-{unique}"}]

    iot.remove_thing_from_thing_group(thingGroupName=f"leaf-{unique}", thingName=f"t0-{unique}")
    assert iot.list_thing_groups_for_thing(thingName=f"t0-{unique}")["thingGroups"] == []


def test_one_group_per_hierarchy_and_ten_groups_per_thing(iot: Any, unique: str) -> None:
    make_tree(iot, unique)
    thing = f"t-{unique}"
    iot.create_thing(thingName=thing)
    iot.add_thing_to_thing_group(thingGroupName=f"leaf-{unique}", thingName=thing)
    with pytest.raises(ClientError) as excinfo:
        iot.add_thing_to_thing_group(thingGroupName=f"other-{unique}", thingName=thing)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "hierarchy" in excinfo.value.response["Error"]["Message"]
    for n in range(9):
        iot.create_thing_group(thingGroupName=f"solo{n}-{unique}")
        iot.add_thing_to_thing_group(thingGroupName=f"solo{n}-{unique}", thingName=thing)
    iot.create_thing_group(thingGroupName=f"solo9-{unique}")
    with pytest.raises(ClientError) as excinfo:
        iot.add_thing_to_thing_group(thingGroupName=f"solo9-{unique}", thingName=thing)
    assert error_of(excinfo)[1] == 400
    assert len(iot.list_thing_groups_for_thing(thingName=thing, maxResults=250)["thingGroups"]) == 10


def test_update_thing_groups_for_thing_is_all_or_nothing(iot: Any, unique: str) -> None:
    thing = f"t-{unique}"
    iot.create_thing(thingName=thing)
    for name in ("a", "b"):
        iot.create_thing_group(thingGroupName=f"{name}-{unique}")
    iot.add_thing_to_thing_group(thingGroupName=f"a-{unique}", thingName=thing)
    with pytest.raises(ClientError) as excinfo:
        iot.update_thing_groups_for_thing(
            thingName=thing, thingGroupsToRemove=[f"a-{unique}"], thingGroupsToAdd=[f"b-{unique}", f"nope-{unique}"]
        )
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert [g["groupName"] for g in iot.list_thing_groups_for_thing(thingName=thing)["thingGroups"]] == [f"a-{unique}"]
    iot.update_thing_groups_for_thing(thingName=thing, thingGroupsToRemove=[f"a-{unique}"],
                                      thingGroupsToAdd=[f"b-{unique}"])
    assert [g["groupName"] for g in iot.list_thing_groups_for_thing(thingName=thing)["thingGroups"]] == [f"b-{unique}"]


def test_membership_needs_existing_thing_and_group(iot: Any, unique: str) -> None:
    iot.create_thing_group(thingGroupName=f"g-{unique}")
    with pytest.raises(ClientError) as excinfo:
        iot.add_thing_to_thing_group(thingGroupName=f"g-{unique}", thingName=f"nope-{unique}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        iot.add_thing_to_thing_group(thingName=f"nope-{unique}")
    assert error_of(excinfo) == ("InvalidRequestException", 400)


def test_delete_group_refuses_children_and_drops_members(iot: Any, unique: str) -> None:
    make_tree(iot, unique)
    with pytest.raises(ClientError) as excinfo:
        iot.delete_thing_group(thingGroupName=f"mid-{unique}")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    iot.create_thing(thingName=f"t-{unique}")
    iot.add_thing_to_thing_group(thingGroupName=f"leaf-{unique}", thingName=f"t-{unique}")
    with pytest.raises(ClientError) as excinfo:
        iot.delete_thing_group(thingGroupName=f"leaf-{unique}", expectedVersion=5)
    assert error_of(excinfo) == ("VersionConflictException", 409)
    iot.delete_thing_group(thingGroupName=f"leaf-{unique}")
    iot.delete_thing_group(thingGroupName=f"mid-{unique}")
    assert iot.list_thing_groups_for_thing(thingName=f"t-{unique}")["thingGroups"] == []
    iot.delete_thing_group(thingGroupName=f"leaf-{unique}")  # deleting a missing group succeeds


def test_deleting_a_thing_removes_its_memberships(iot: Any, unique: str) -> None:
    iot.create_thing_group(thingGroupName=f"g-{unique}")
    iot.create_thing(thingName=f"t-{unique}")
    iot.add_thing_to_thing_group(thingGroupName=f"g-{unique}", thingName=f"t-{unique}")
    iot.delete_thing(thingName=f"t-{unique}")
    assert iot.list_things_in_thing_group(thingGroupName=f"g-{unique}")["things"] == []


def test_create_group_is_idempotent_and_conflicts_on_other_properties(iot: Any, unique: str) -> None:
    first = iot.create_thing_group(thingGroupName=f"g-{unique}", thingGroupProperties={"thingGroupDescription": "d"})
    again = iot.create_thing_group(thingGroupName=f"g-{unique}", thingGroupProperties={"thingGroupDescription": "d"})
    assert again["thingGroupId"] == first["thingGroupId"]
    with pytest.raises(ClientError) as excinfo:
        iot.create_thing_group(thingGroupName=f"g-{unique}", thingGroupProperties={"thingGroupDescription": "e"})
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)
