"""Things, thing types and thing groups, and the rules that bind them. Pure Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime

from otahub.domain.errors import InvalidInput, InvalidQuery, LimitExceeded
from otahub.domain.fleet_query import Query, Record, parse_query, thing_record

MAX_ATTRIBUTES = 50
MAX_SEARCHABLE_ATTRIBUTES = 3
MAX_GROUP_DEPTH = 7
MAX_GROUPS_PER_THING = 10  # static groups; AWS counts dynamic memberships separately
THINGS_INDEX = "AWS_Things"  # the one fleet index dynamic groups can query
QUERY_VERSION = "2017-09-30"  # the one query language version


@dataclass(frozen=True, slots=True)
class AttributeUpdate:
    """An attribute payload: merge into the existing attributes, or replace them all.

    In a merge, an empty value removes that attribute, as AWS IoT does.
    """

    attributes: dict[str, str]
    merge: bool = False

    def apply(self, current: dict[str, str]) -> dict[str, str]:
        if not self.merge:
            result = {k: v for k, v in self.attributes.items() if v != ""}
        else:
            result = dict(current)
            for key, value in self.attributes.items():
                if value == "":
                    result.pop(key, None)
                else:
                    result[key] = value
        if len(result) > MAX_ATTRIBUTES:
            raise LimitExceeded(f"A resource can have at most {MAX_ATTRIBUTES} attributes", field="attributes")
        return result


@dataclass(frozen=True, slots=True)
class Thing:
    name: str
    thing_id: str
    type_name: str | None
    attributes: dict[str, str]
    version: int
    created_at: datetime
    billing_group: str | None = None

    def updated(
        self,
        *,
        type_name: str | None,
        remove_type: bool,
        attributes: AttributeUpdate | None,
        expected_version: int | None,
    ) -> Thing:
        check_version(self.version, expected_version, f"thing {self.name}")
        if remove_type and type_name:
            raise InvalidInput("Cannot set thingTypeName and removeThingType together", field="removeThingType")
        new_type = None if remove_type else (type_name or self.type_name)
        new_attrs = attributes.apply(self.attributes) if attributes else self.attributes
        return replace(self, type_name=new_type, attributes=new_attrs, version=self.version + 1)


@dataclass(frozen=True, slots=True)
class PropagatingAttribute:
    user_property_key: str | None = None
    thing_attribute: str | None = None
    connection_attribute: str | None = None


@dataclass(frozen=True, slots=True)
class ThingType:
    name: str
    type_id: str
    description: str | None
    searchable_attributes: tuple[str, ...]
    propagating_attributes: tuple[PropagatingAttribute, ...] | None
    created_at: datetime
    deprecated: bool = False
    deprecated_at: datetime | None = None

    def __post_init__(self) -> None:
        if len(self.searchable_attributes) > MAX_SEARCHABLE_ATTRIBUTES:
            raise LimitExceeded(
                f"A thing type can have at most {MAX_SEARCHABLE_ATTRIBUTES} searchable attributes",
                field="thingTypeProperties.searchableAttributes",
            )

    def same_definition(self, other: ThingType) -> bool:
        return (self.description, self.searchable_attributes, self.propagating_attributes) == (
            other.description, other.searchable_attributes, other.propagating_attributes,
        )


@dataclass(frozen=True, slots=True)
class GroupQuery:
    """What makes a thing group dynamic: a fleet-indexing query its members match."""

    query_string: str
    index_name: str = THINGS_INDEX
    query_version: str = QUERY_VERSION

    @classmethod
    def of(cls, query_string: str, index_name: str | None = None, query_version: str | None = None) -> GroupQuery:
        """A checked query: the things index, the one query version, a query string that parses."""
        if index_name is not None and index_name != THINGS_INDEX:
            raise InvalidInput(f"Index {index_name} is not supported; dynamic thing groups query {THINGS_INDEX}",
                               field="indexName")
        if query_version is not None and query_version != QUERY_VERSION:
            raise InvalidInput(f"Query version {query_version} is not supported; the query version is "
                               f"{QUERY_VERSION}", field="queryVersion")
        try:
            parse_query(query_string)
        except InvalidInput as exc:
            raise InvalidQuery(exc.message, field="queryString") from exc
        return cls(query_string, index_name or THINGS_INDEX, query_version or QUERY_VERSION)

    def revised(self, query_string: str | None, index_name: str | None, query_version: str | None) -> GroupQuery:
        """This query with the members given replaced (each is checked again)."""
        return GroupQuery.of(query_string or self.query_string, index_name or self.index_name,
                             query_version or self.query_version)


@dataclass(frozen=True, slots=True)
class ThingGroup:
    name: str
    group_id: str
    description: str | None
    attributes: dict[str, str]
    version: int
    created_at: datetime
    ancestors: tuple[str, ...] = field(default=())  # root first, parent last
    query: GroupQuery | None = None  # set: a dynamic group (no parent, no children, members by query)

    @property
    def parent_name(self) -> str | None:
        return self.ancestors[-1] if self.ancestors else None

    @property
    def dynamic(self) -> bool:
        return self.query is not None

    def child_ancestry(self) -> tuple[str, ...]:
        if self.query is not None:
            raise InvalidInput(f"Thing group {self.name} is a dynamic thing group; dynamic groups cannot have "
                               "child groups", field="parentGroupName")
        ancestry = (*self.ancestors, self.name)
        if len(ancestry) >= MAX_GROUP_DEPTH:
            raise LimitExceeded(
                f"Thing group hierarchies can be at most {MAX_GROUP_DEPTH} levels deep", field="parentGroupName"
            )
        return ancestry

    def updated(
        self, *, description: str | None, attributes: AttributeUpdate | None, expected_version: int | None,
        query: GroupQuery | None = None,
    ) -> ThingGroup:
        check_version(self.version, expected_version, f"thing group {self.name}")
        return replace(
            self,
            description=self.description if description is None else description,
            attributes=attributes.apply(self.attributes) if attributes else self.attributes,
            version=self.version + 1,
            query=query or self.query,
        )


def check_version(current: int, expected: int | None, what: str) -> None:
    from otahub.domain.errors import VersionConflict

    if expected is not None and expected != current:
        raise VersionConflict(
            f"The version for {what} is {current}, but the expected version was {expected}",
            field="expectedVersion",
        )


def refuse_dynamic(group: ThingGroup) -> None:
    """Things join and leave a dynamic group by its query only, never by request."""
    if group.query is not None:
        raise InvalidInput(
            f"Thing group {group.name} is a dynamic thing group; its members follow its query and cannot be "
            "added or removed directly", field="thingGroupName",
        )


def check_new_membership(
    group: ThingGroup, current_groups: list[ThingGroup], thing_name: str
) -> None:
    """A thing may be in at most 10 static groups, and in one group per hierarchy (dynamic ones aside)."""
    refuse_dynamic(group)
    current_groups = [g for g in current_groups if g.query is None]
    if any(g.name == group.name for g in current_groups):
        return
    if len(current_groups) >= MAX_GROUPS_PER_THING:
        raise LimitExceeded(
            f"Thing {thing_name} is already in {MAX_GROUPS_PER_THING} thing groups", field="thingGroupName"
        )
    root = (group.ancestors or (group.name,))[0]
    for other in current_groups:
        if (other.ancestors or (other.name,))[0] == root:
            raise InvalidInput(
                f"Thing {thing_name} is already in thing group {other.name} of the same hierarchy "
                f"as {group.name}; a thing can belong to only one group of a hierarchy",
                field="thingGroupName",
            )


def query_record(thing: Thing, groups: Sequence[ThingGroup]) -> Record:
    """The record dynamic-group queries match a thing as; thingGroupNames are its static groups and
    their ancestors (dynamic groups are not part of the record, so no query depends on another)."""
    names = dict.fromkeys(name for g in groups if g.query is None for name in (*g.ancestors, g.name))
    return thing_record(thing.name, thing.type_name, thing.attributes, tuple(names))


def membership_changes(
    record: Record, queries: Mapping[str, Query], current: Set[str]
) -> tuple[list[str], list[str]]:
    """The dynamic groups (by name, with their parsed queries) a thing joins and leaves, given the
    dynamic groups it is in now; both lists in the order of ``queries``."""
    joined = [name for name, query in queries.items() if name not in current and query.matches(record)]
    left = [name for name, query in queries.items() if name in current and not query.matches(record)]
    return joined, left
