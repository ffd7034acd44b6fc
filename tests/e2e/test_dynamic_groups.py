"""Dynamic thing groups through boto3: queries, membership that follows things, and what AWS refuses."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

ARN = "arn:aws:iot:us-east-1:123456789012"
DOC = '{"operation": "update"}'


def members(iot: Any, group: str) -> list[str]:
    """Every member, a page of two at a time (so paging is exercised too)."""
    found: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = iot.list_things_in_thing_group(thingGroupName=group, maxResults=2, **token)
        found += page["things"]
        if "nextToken" not in page:
            return sorted(found)
        token = {"nextToken": page["nextToken"]}


def groups_of(iot: Any, thing: str) -> list[str]:
    return sorted(g["groupName"] for g in iot.list_thing_groups_for_thing(thingName=thing)["thingGroups"])


def make_fleet(iot: Any, u: str) -> None:
    """{u}-a1 (type-{u}, model m1, version 3, in mid-{u} under root-{u}), {u}-a2 (m2, 10), {u}-b3 (type-{u}, m1, 1)."""
    iot.create_thing_type(thingTypeName=f"type-{u}")
    iot.create_thing_group(thingGroupName=f"root-{u}")
    iot.create_thing_group(thingGroupName=f"mid-{u}", parentGroupName=f"root-{u}")
    iot.create_thing(thingName=f"{u}-a1", thingTypeName=f"type-{u}",
                     attributePayload={"attributes": {"model": "m1", "version": "3"}})
    iot.create_thing(thingName=f"{u}-a2", attributePayload={"attributes": {"model": "m2", "version": "10"}})
    iot.create_thing(thingName=f"{u}-b3", thingTypeName=f"type-{u}",
                     attributePayload={"attributes": {"model": "m1", "version": "1"}})
    iot.add_thing_to_thing_group(thingGroupName=f"mid-{u}", thingName=f"{u}-a1")


@pytest.mark.parametrize(("query", "expected"), [
    ("thingName:{u}-a*", ["a1", "a2"]),  # * wildcard
    ("thingName:{u}-?3", ["b3"]),  # ? wildcard
    ("thingTypeName:type-{u}", ["a1", "b3"]),
    ("thingName:{u}-* AND attributes.model:m1", ["a1", "b3"]),
    ("thingName:{u}-* attributes.model:M2", ["a2"]),  # adjacent terms AND; values ignore case
    ("thingGroupNames:mid-{u}", ["a1"]),
    ("thingGroupNames:root-{u}", ["a1"]),  # an ancestor of a thing's group counts
    ("thingName:{u}-* AND NOT attributes.model:m1", ["a2"]),
    ("thingName:{u}-* AND (attributes.model:m2 OR thingGroupNames:mid-{u})", ["a1", "a2"]),
    ("thingName:{u}-* AND attributes.version:[2 TO 10}", ["a1"]),  # numeric, not string, order
    ("thingName:{u}-* AND attributes.version>5", ["a2"]),
    ("thingName:{u}-* AND attributes.version<=3", ["a1", "b3"]),
])
def test_each_query_construct_picks_its_members(iot: Any, unique: str, query: str, expected: list[str]) -> None:
    make_fleet(iot, unique)
    iot.create_dynamic_thing_group(thingGroupName=f"dyn-{unique}", queryString=query.replace("{u}", unique))
    assert members(iot, f"dyn-{unique}") == [f"{unique}-{name}" for name in expected]


def test_create_describe_list_and_tags(iot: Any, unique: str) -> None:
    make_fleet(iot, unique)
    name, query = f"dyn-{unique}", f"thingName:{unique}-a*"
    created = iot.create_dynamic_thing_group(
        thingGroupName=name, queryString=query, indexName="AWS_Things",
        thingGroupProperties={"thingGroupDescription": "all a", "attributePayload": {"attributes": {"k": "v"}}},
        tags=[{"Key": "team", "Value": "ota"}],
    )
    arn = f"{ARN}:thinggroup/{name}"
    assert (created["thingGroupName"], created["thingGroupArn"]) == (name, arn)
    assert (created["indexName"], created["queryString"], created["queryVersion"]) == (
        "AWS_Things", query, "2017-09-30")
    described = iot.describe_thing_group(thingGroupName=name)
    assert described["thingGroupId"] == created["thingGroupId"]
    assert (described["indexName"], described["queryString"], described["queryVersion"], described["status"]) == (
        "AWS_Things", query, "2017-09-30", "ACTIVE")
    assert described["version"] == 1
    assert described["thingGroupProperties"] == {
        "thingGroupDescription": "all a", "attributePayload": {"attributes": {"k": "v"}}}
    assert "parentGroupName" not in described["thingGroupMetadata"]
    assert "status" not in iot.describe_thing_group(thingGroupName=f"mid-{unique}")  # static groups have none
    listed = iot.list_thing_groups(namePrefixFilter=name)["thingGroups"]
    assert listed == [{"groupName": name, "groupArn": arn}]
    assert groups_of(iot, f"{unique}-a1") == [f"dyn-{unique}", f"mid-{unique}"]
    assert iot.list_things_in_thing_group(thingGroupName=name, recursive=True)["things"] == [
        f"{unique}-a1", f"{unique}-a2"]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "ota"}]


def test_create_is_idempotent_and_names_are_shared_with_static_groups(iot: Any, unique: str) -> None:
    name = f"dyn-{unique}"
    first = iot.create_dynamic_thing_group(thingGroupName=name, queryString=f"thingName:{unique}")
    assert iot.create_dynamic_thing_group(thingGroupName=name, queryString=f"thingName:{unique}")[
        "thingGroupId"] == first["thingGroupId"]
    for call in (
        lambda: iot.create_dynamic_thing_group(thingGroupName=name, queryString=f"thingName:{unique}-x"),
        lambda: iot.create_thing_group(thingGroupName=name),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)
    iot.create_thing_group(thingGroupName=f"static-{unique}")
    with pytest.raises(ClientError) as excinfo:
        iot.create_dynamic_thing_group(thingGroupName=f"static-{unique}", queryString=f"thingName:{unique}")
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)


def test_update_changes_the_query_and_membership(iot: Any, unique: str) -> None:
    make_fleet(iot, unique)
    name = f"dyn-{unique}"
    iot.create_dynamic_thing_group(thingGroupName=name, queryString=f"thingName:{unique}-a*")
    assert members(iot, name) == [f"{unique}-a1", f"{unique}-a2"]
    assert iot.update_dynamic_thing_group(
        thingGroupName=name, thingGroupProperties={}, queryString=f"thingTypeName:type-{unique}", expectedVersion=1,
    )["version"] == 2
    assert members(iot, name) == [f"{unique}-a1", f"{unique}-b3"]  # a2 left, b3 joined
    assert groups_of(iot, f"{unique}-a2") == []
    assert iot.update_dynamic_thing_group(
        thingGroupName=name, thingGroupProperties={"thingGroupDescription": "typed"})["version"] == 3
    described = iot.describe_thing_group(thingGroupName=name)
    assert (described["queryString"], described["thingGroupProperties"]["thingGroupDescription"]) == (
        f"thingTypeName:type-{unique}", "typed")
    assert members(iot, name) == [f"{unique}-a1", f"{unique}-b3"]
    with pytest.raises(ClientError) as excinfo:
        iot.update_dynamic_thing_group(thingGroupName=name, thingGroupProperties={}, expectedVersion=1)
    assert error_of(excinfo) == ("VersionConflictException", 409)
    with pytest.raises(ClientError) as excinfo:
        iot.update_dynamic_thing_group(thingGroupName=f"nope-{unique}", thingGroupProperties={})
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_delete(iot: Any, unique: str) -> None:
    make_fleet(iot, unique)
    name = f"dyn-{unique}"
    iot.create_dynamic_thing_group(thingGroupName=name, queryString=f"thingName:{unique}-a1")
    with pytest.raises(ClientError) as excinfo:
        iot.delete_dynamic_thing_group(thingGroupName=name, expectedVersion=7)
    assert error_of(excinfo) == ("VersionConflictException", 409)
    iot.delete_dynamic_thing_group(thingGroupName=name, expectedVersion=1)
    with pytest.raises(ClientError) as excinfo:
        iot.describe_thing_group(thingGroupName=name)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    assert groups_of(iot, f"{unique}-a1") == [f"mid-{unique}"]
    with pytest.raises(ClientError) as excinfo:
        iot.list_tags_for_resource(resourceArn=f"{ARN}:thinggroup/{name}")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    iot.delete_dynamic_thing_group(thingGroupName=name)  # deleting a missing group succeeds


def test_membership_follows_create_update_and_delete_thing(iot: Any, unique: str) -> None:
    iot.create_thing_type(thingTypeName=f"type-{unique}")
    ready = f"ready-{unique}"
    typed = f"typed-{unique}"
    iot.create_dynamic_thing_group(thingGroupName=ready,
                                   queryString=f"thingName:{unique}-* AND attributes.state:ready")
    iot.create_dynamic_thing_group(thingGroupName=typed, queryString=f"thingTypeName:type-{unique}")
    thing = f"{unique}-t"
    iot.create_thing(thingName=thing, attributePayload={"attributes": {"state": "ready"}})
    assert members(iot, ready) == [thing]
    iot.update_thing(thingName=thing, attributePayload={"attributes": {"state": "busy"}, "merge": True})
    assert members(iot, ready) == []
    iot.update_thing(thingName=thing, thingTypeName=f"type-{unique}",
                     attributePayload={"attributes": {"state": "ready"}, "merge": True})
    assert members(iot, ready) == [thing]
    assert members(iot, typed) == [thing]
    assert groups_of(iot, thing) == [ready, typed]
    iot.update_thing(thingName=thing, removeThingType=True)
    assert members(iot, typed) == []
    iot.delete_thing(thingName=thing)
    assert members(iot, ready) == []
    iot.create_thing(thingName=thing)  # the same name again, without the attribute
    assert members(iot, ready) == []


def test_membership_follows_static_group_changes(iot: Any, unique: str) -> None:
    iot.create_thing_group(thingGroupName=f"root-{unique}")
    iot.create_thing_group(thingGroupName=f"leaf-{unique}", parentGroupName=f"root-{unique}")
    iot.create_thing_group(thingGroupName=f"other-{unique}")
    dyn = f"dyn-{unique}"
    iot.create_dynamic_thing_group(thingGroupName=dyn, queryString=f"thingGroupNames:root-{unique}")
    thing = f"{unique}-t"
    iot.create_thing(thingName=thing)
    iot.add_thing_to_thing_group(thingGroupName=f"leaf-{unique}", thingName=thing)
    assert members(iot, dyn) == [thing]
    iot.remove_thing_from_thing_group(thingGroupName=f"leaf-{unique}", thingName=thing)
    assert members(iot, dyn) == []
    iot.update_thing_groups_for_thing(thingName=thing, thingGroupsToAdd=[f"root-{unique}", f"other-{unique}"])
    assert members(iot, dyn) == [thing]
    iot.update_thing_groups_for_thing(thingName=thing, thingGroupsToRemove=[f"root-{unique}"])
    assert members(iot, dyn) == []
    iot.add_thing_to_thing_group(thingGroupName=f"leaf-{unique}", thingName=thing)
    assert members(iot, dyn) == [thing]
    iot.delete_thing_group(thingGroupName=f"leaf-{unique}")  # its members leave, and with it the dynamic group
    assert members(iot, dyn) == []
    assert groups_of(iot, thing) == [f"other-{unique}"]


def test_dynamic_groups_refuse_direct_membership_and_hierarchy(iot: Any, unique: str) -> None:
    dyn, thing = f"dyn-{unique}", f"{unique}-t"
    iot.create_thing(thingName=thing)
    iot.create_dynamic_thing_group(thingGroupName=dyn, queryString=f"thingName:{unique}-t")
    calls = [
        lambda: iot.add_thing_to_thing_group(thingGroupName=dyn, thingName=thing),
        lambda: iot.remove_thing_from_thing_group(thingGroupName=dyn, thingName=thing),
        lambda: iot.update_thing_groups_for_thing(thingName=thing, thingGroupsToAdd=[dyn]),
        lambda: iot.update_thing_groups_for_thing(thingName=thing, thingGroupsToRemove=[dyn]),
        lambda: iot.create_thing_group(thingGroupName=f"child-{unique}", parentGroupName=dyn),
        lambda: iot.delete_thing_group(thingGroupName=dyn),
    ]
    for call in calls:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidRequestException", 400)
        assert dyn in excinfo.value.response["Error"]["Message"]
    assert "DeleteDynamicThingGroup" in excinfo.value.response["Error"]["Message"]
    assert members(iot, dyn) == [thing]  # all refused, nothing changed
    iot.create_thing_group(thingGroupName=f"static-{unique}")
    for call in (
        lambda: iot.delete_dynamic_thing_group(thingGroupName=f"static-{unique}"),
        lambda: iot.update_dynamic_thing_group(thingGroupName=f"static-{unique}", thingGroupProperties={}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidRequestException", 400)
        assert f"static-{unique}" in excinfo.value.response["Error"]["Message"]
    iot.describe_thing_group(thingGroupName=f"static-{unique}")


def test_dynamic_memberships_do_not_count_towards_ten_groups(iot: Any, unique: str) -> None:
    thing = f"{unique}-t"
    iot.create_thing(thingName=thing)
    for n in range(2):
        iot.create_dynamic_thing_group(thingGroupName=f"dyn{n}-{unique}", queryString=f"thingName:{thing}")
    for n in range(10):
        iot.create_thing_group(thingGroupName=f"s{n}-{unique}")
        iot.add_thing_to_thing_group(thingGroupName=f"s{n}-{unique}", thingName=thing)
    iot.create_thing_group(thingGroupName=f"s10-{unique}")
    with pytest.raises(ClientError) as excinfo:
        iot.add_thing_to_thing_group(thingGroupName=f"s10-{unique}", thingName=thing)
    assert error_of(excinfo)[1] == 400
    iot.create_dynamic_thing_group(thingGroupName=f"dyn2-{unique}", queryString=f"thingName:{thing}")
    assert len(iot.list_thing_groups_for_thing(thingName=thing, maxResults=250)["thingGroups"]) == 13


@pytest.mark.parametrize(("call", "code", "words"), [
    ({"queryString": "thingName:(a"}, "InvalidQueryException", "unclosed '('"),
    ({"queryString": "sensor"}, "InvalidQueryException", "needs a field name"),
    ({"queryString": "attributes.v:[1 TO ]"}, "InvalidQueryException", "expected a bound"),
    ({"queryString": "thingName:a", "indexName": "AWS_Other"}, "InvalidRequestException", "AWS_Other"),
    ({"queryString": "thingName:a", "queryVersion": "2099-01-01"}, "InvalidRequestException", "2099-01-01"),
])
def test_bad_queries_index_and_version_are_refused(
    iot: Any, unique: str, call: dict[str, str], code: str, words: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        iot.create_dynamic_thing_group(thingGroupName=f"dyn-{unique}", **call)
    assert error_of(excinfo) == (code, 400)
    assert words in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        iot.describe_thing_group(thingGroupName=f"dyn-{unique}")  # nothing was created


def test_bad_query_on_update_keeps_the_group(iot: Any, unique: str) -> None:
    name = f"dyn-{unique}"
    iot.create_dynamic_thing_group(thingGroupName=name, queryString=f"thingName:{unique}")
    with pytest.raises(ClientError) as excinfo:
        iot.update_dynamic_thing_group(thingGroupName=name, thingGroupProperties={}, queryString="NOT")
    assert error_of(excinfo) == ("InvalidQueryException", 400)
    assert "queryString" in excinfo.value.response["Error"]["Message"]
    described = iot.describe_thing_group(thingGroupName=name)
    assert (described["queryString"], described["version"]) == (f"thingName:{unique}", 1)


def test_model_validation(server: OtahubServer, unique: str) -> None:
    loose = server.client("iot", validate=False)
    cases = [
        ({"thingGroupName": f"dyn-{unique}", "queryString": ""}, "queryString"),
        ({"thingGroupName": "bad name!", "queryString": "thingName:a"}, "thingGroupName"),
        ({"thingGroupName": "g" * 129, "queryString": "thingName:a"}, "thingGroupName"),
        ({"thingGroupName": f"dyn-{unique}", "queryString": "thingName:a", "indexName": "bad index"}, "indexName"),
    ]
    for params, member in cases:
        with pytest.raises(ClientError) as excinfo:
            loose.create_dynamic_thing_group(**params)
        assert error_of(excinfo) == ("InvalidRequestException", 400)
        assert member in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        loose.update_dynamic_thing_group(thingGroupName=f"dyn-{unique}", queryString="thingName:a")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "thingGroupProperties" in excinfo.value.response["Error"]["Message"]


def test_continuous_job_on_a_dynamic_group_gets_things_that_join(iot: Any, unique: str) -> None:
    dyn = f"dyn-{unique}"
    iot.create_thing(thingName=f"{unique}-early", attributePayload={"attributes": {"ring": "beta"}})
    iot.create_dynamic_thing_group(thingGroupName=dyn, queryString=f"thingName:{unique}-* AND attributes.ring:beta")
    iot.create_job(jobId=f"job-{unique}", targets=[f"{ARN}:thinggroup/{dyn}"], document=DOC,
                   targetSelection="CONTINUOUS")
    iot.create_thing(thingName=f"{unique}-late", attributePayload={"attributes": {"ring": "beta"}})
    iot.create_thing(thingName=f"{unique}-other", attributePayload={"attributes": {"ring": "stable"}})
    iot.update_thing(thingName=f"{unique}-other", attributePayload={"attributes": {"ring": "beta"}})
    iot.create_thing(thingName=f"{unique}-gamma", attributePayload={"attributes": {"ring": "gamma"}})
    iot.update_dynamic_thing_group(thingGroupName=dyn, thingGroupProperties={},
                                   queryString=f"thingName:{unique}-* AND attributes.ring:(beta OR gamma)")
    executions = iot.list_job_executions_for_job(jobId=f"job-{unique}")["executionSummaries"]
    assert sorted(e["thingArn"].rsplit("/", 1)[1] for e in executions) == [
        f"{unique}-early", f"{unique}-gamma", f"{unique}-late", f"{unique}-other"]
