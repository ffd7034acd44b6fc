"""Things, thing types and thing groups, and the rules that bind them. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from otahub.domain.errors import InvalidInput, LimitExceeded

MAX_ATTRIBUTES = 50
MAX_SEARCHABLE_ATTRIBUTES = 3
MAX_GROUP_DEPTH = 7
MAX_GROUPS_PER_THING = 10


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
class ThingGroup:
    name: str
    group_id: str
    description: str | None
    attributes: dict[str, str]
    version: int
    created_at: datetime
    ancestors: tuple[str, ...] = field(default=())  # root first, parent last

    @property
    def parent_name(self) -> str | None:
        return self.ancestors[-1] if self.ancestors else None

    def child_ancestry(self) -> tuple[str, ...]:
        ancestry = (*self.ancestors, self.name)
        if len(ancestry) >= MAX_GROUP_DEPTH:
            raise LimitExceeded(
                f"Thing group hierarchies can be at most {MAX_GROUP_DEPTH} levels deep", field="parentGroupName"
            )
        return ancestry

    def updated(
        self, *, description: str | None, attributes: AttributeUpdate | None, expected_version: int | None
    ) -> ThingGroup:
        check_version(self.version, expected_version, f"thing group {self.name}")
        return replace(
            self,
            description=self.description if description is None else description,
            attributes=attributes.apply(self.attributes) if attributes else self.attributes,
            version=self.version + 1,
        )


def check_version(current: int, expected: int | None, what: str) -> None:
    from otahub.domain.errors import VersionConflict

    if expected is not None and expected != current:
        raise VersionConflict(
            f"The version for {what} is {current}, but the expected version was {expected}",
            field="expectedVersion",
        )


def check_new_membership(
    group: ThingGroup, current_groups: list[ThingGroup], thing_name: str
) -> None:
    """A thing may be in at most 10 groups, and in one group per hierarchy."""
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
