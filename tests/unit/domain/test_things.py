"""Domain rules of things and groups, with properties over generated inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.domain.errors import InvalidInput, InvalidQuery, LimitExceeded, VersionConflict
from otahub.domain.fleet_query import parse_query
from otahub.domain.things import (
    MAX_ATTRIBUTES,
    AttributeUpdate,
    GroupQuery,
    Thing,
    ThingGroup,
    check_new_membership,
    membership_changes,
    query_record,
    refuse_dynamic,
)

keys = st.text(alphabet="abcdef", min_size=1, max_size=3)
values = st.text(alphabet="xyz", max_size=2)
attribute_maps = st.dictionaries(keys, values, max_size=8)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@given(current=attribute_maps.map(lambda d: {k: v for k, v in d.items() if v}), update=attribute_maps)
def test_merge_sets_non_empty_removes_empty_and_keeps_the_rest(current: dict[str, str], update: dict[str, str]) -> None:
    result = AttributeUpdate(update, merge=True).apply(current)
    for key, value in update.items():
        assert result.get(key) == (value or None)
    for key, value in current.items():
        if key not in update:
            assert result[key] == value
    assert "" not in result.values()


@given(current=attribute_maps, update=attribute_maps)
def test_replace_keeps_only_the_new_non_empty_attributes(current: dict[str, str], update: dict[str, str]) -> None:
    assert AttributeUpdate(update, merge=False).apply(current) == {k: v for k, v in update.items() if v}


def test_attribute_limit() -> None:
    with pytest.raises(LimitExceeded):
        AttributeUpdate({f"k{n}": "v" for n in range(MAX_ATTRIBUTES + 1)}).apply({})


@given(st.integers(min_value=1, max_value=100), st.one_of(st.none(), st.integers(min_value=0, max_value=100)))
def test_update_bumps_version_only_when_expected_version_matches(version: int, expected: int | None) -> None:
    thing = Thing("t", "id", None, {}, version, NOW)
    if expected is not None and expected != version:
        with pytest.raises(VersionConflict):
            thing.updated(type_name=None, remove_type=False, attributes=None, expected_version=expected)
    else:
        updated = thing.updated(type_name=None, remove_type=False, attributes=None, expected_version=expected)
        assert updated.version == version + 1


def group(name: str, *ancestors: str) -> ThingGroup:
    return ThingGroup(name, name, None, {}, 1, NOW, tuple(ancestors))


def test_one_group_per_hierarchy() -> None:
    check_new_membership(group("b", "root"), [group("x")], "t")
    with pytest.raises(InvalidInput):
        check_new_membership(group("b", "root"), [group("a", "root")], "t")
    with pytest.raises(InvalidInput):
        check_new_membership(group("root"), [group("a", "root", "mid")], "t")
    check_new_membership(group("a", "root"), [group("a", "root")], "t")  # already a member: fine


def test_ten_groups_per_thing() -> None:
    current = [group(f"g{n}") for n in range(10)]
    with pytest.raises(LimitExceeded):
        check_new_membership(group("new"), current, "t")


@given(st.integers(min_value=0, max_value=10))
def test_hierarchy_depth_limit(depth: int) -> None:
    g = group("g", *[f"a{n}" for n in range(depth)])
    if depth + 1 >= 7:
        with pytest.raises(LimitExceeded):
            g.child_ancestry()
    else:
        assert g.child_ancestry() == (*g.ancestors, "g")


def dynamic(name: str, query: str = "thingName:*") -> ThingGroup:
    return ThingGroup(name, name, None, {}, 1, NOW, (), GroupQuery.of(query))


def test_query_record_names_static_groups_and_their_ancestors_only() -> None:
    thing = Thing("t1", "id", "Sensor", {"model": "m1"}, 1, NOW)
    record = query_record(thing, [group("leaf", "root", "mid"), group("solo"), dynamic("dyn")])
    assert record == {"thingName": "t1", "thingTypeName": "Sensor", "attributes.model": "m1",
                      "thingGroupNames": ("root", "mid", "leaf", "solo")}


def test_membership_changes_joins_matching_and_leaves_no_longer_matching_groups() -> None:
    record = query_record(Thing("t1", "id", None, {"ring": "beta"}, 1, NOW), [])
    queries = {name: parse_query(text) for name, text in [
        ("beta", "attributes.ring:beta"), ("stable", "attributes.ring:stable"), ("all", "thingName:t*"),
        ("none", "thingName:x*"),
    ]}
    assert membership_changes(record, queries, {"stable", "all"}) == (["beta"], ["stable"])
    assert membership_changes(record, queries, {"beta", "all"}) == ([], [])


def test_group_query_checks_index_version_and_query() -> None:
    assert GroupQuery.of("thingName:a") == GroupQuery("thingName:a", "AWS_Things", "2017-09-30")
    with pytest.raises(InvalidInput, match="AWS_Other"):
        GroupQuery.of("thingName:a", index_name="AWS_Other")
    with pytest.raises(InvalidInput, match="2020-01-01"):
        GroupQuery.of("thingName:a", query_version="2020-01-01")
    with pytest.raises(InvalidQuery, match="queryString: unclosed"):
        GroupQuery.of("thingName:(a")
    revised = GroupQuery.of("thingName:a").revised("thingName:b", None, None)
    assert revised == GroupQuery("thingName:b", "AWS_Things", "2017-09-30")


def test_dynamic_groups_take_no_members_by_request_no_children_and_do_not_count() -> None:
    with pytest.raises(InvalidInput, match="dyn"):
        refuse_dynamic(dynamic("dyn"))
    with pytest.raises(InvalidInput, match="dyn"):
        check_new_membership(dynamic("dyn"), [], "t")
    with pytest.raises(InvalidInput, match="child"):
        dynamic("dyn").child_ancestry()
    current = [group(f"g{n}") for n in range(9)] + [dynamic(f"d{n}") for n in range(5)]
    check_new_membership(group("tenth"), current, "t")  # dynamic memberships aside, this is the tenth
