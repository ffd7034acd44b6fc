"""Use cases of the thing registry: things, thing types, thing groups and group membership."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from otahub.domain.clock import Clock
from otahub.domain.errors import AlreadyExists, InvalidInput, InvalidState, NotFound
from otahub.domain.ids import Arns, new_uuid
from otahub.domain.things import (
    AttributeUpdate,
    PropagatingAttribute,
    Thing,
    ThingGroup,
    ThingType,
    check_new_membership,
    check_version,
    refuse_dynamic,
)
from otahub.services.dynamic_groups import DynamicGroups
from otahub.services.pagination import Page, paginate
from otahub.services.ports import ThingFilter, UnitOfWork, UnitOfWorkFactory
from otahub.services.tags import check_tags

DEPRECATION_GRACE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ThingTypeSpec:
    description: str | None = None
    searchable_attributes: tuple[str, ...] = ()
    propagating_attributes: tuple[PropagatingAttribute, ...] | None = None


class MembershipListener(Protocol):
    def thing_joined(self, tx: UnitOfWork, thing: str, groups: Sequence[str]) -> None:
        """``thing`` joined the first of ``groups`` (the rest are its ancestors), in transaction ``tx``."""
        ...

    def thing_left(self, tx: UnitOfWork, thing: str, groups: Sequence[str]) -> None:
        """``thing`` left the first of ``groups`` (the rest are its ancestors), in transaction ``tx``."""
        ...

    def thing_deleted(self, tx: UnitOfWork, thing: str) -> None:
        """``thing`` is being deleted, in transaction ``tx``."""
        ...


class ThingRegistry:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, arns: Arns) -> None:
        self.uow = uow
        self.clock = clock
        self.arns = arns
        self.listeners: list[MembershipListener] = []  # continuous jobs follow membership through these
        self.dynamic = DynamicGroups(uow, clock, arns, self._joined, self._left)

    def _joined(self, tx: UnitOfWork, thing: str, groups: Sequence[str]) -> None:
        for listener in self.listeners:
            listener.thing_joined(tx, thing, groups)

    def _left(self, tx: UnitOfWork, thing: str, groups: Sequence[str]) -> None:
        for listener in self.listeners:
            listener.thing_left(tx, thing, groups)

    def _remove_member(self, tx: UnitOfWork, group: ThingGroup, thing_name: str) -> None:
        refuse_dynamic(group)
        tx.thing_groups.remove_member(group.name, thing_name)
        self._left(tx, thing_name, (group.name, *group.ancestors))

    # --- things -------------------------------------------------------------------------------

    def create_thing(
        self, name: str, type_name: str | None, attributes: AttributeUpdate | None, billing_group: str | None
    ) -> Thing:
        if billing_group:
            raise NotFound("Billing group", billing_group)
        attrs = attributes.apply({}) if attributes else {}
        with self.uow(write=True) as tx:
            if type_name:
                _usable_type(tx, type_name)
            existing = tx.things.get(name)
            if existing is not None:
                if existing.type_name == type_name and existing.attributes == attrs:
                    return existing
                raise AlreadyExists("Thing", name, existing.thing_id, self.arns.thing(name))
            thing = Thing(name, new_uuid(), type_name, attrs, 1, self.clock.now())
            tx.things.add(thing)
            self.dynamic.follow(tx, thing, [])
            return thing

    def put_thing(self, tx: UnitOfWork, thing: Thing) -> None:
        """Store, in ``tx``, a thing another service keeps (a managed thing's own thing); dynamic groups follow."""
        if tx.things.get(thing.name) is None:
            tx.things.add(thing)
            self.dynamic.follow(tx, thing, [])
        else:
            tx.things.save(thing)
            self.dynamic.follow(tx, thing)

    def describe_thing(self, name: str) -> Thing:
        with self.uow() as tx:
            return _thing(tx, name)

    def list_things(self, where: ThingFilter, token: str | None, max_results: int | None) -> Page[Thing]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.things.page(where, after, n), token, max_results, "things", where)

    def update_thing(
        self,
        name: str,
        *,
        type_name: str | None,
        remove_type: bool,
        attributes: AttributeUpdate | None,
        expected_version: int | None,
    ) -> Thing:
        with self.uow(write=True) as tx:
            thing = _thing(tx, name)
            if type_name and type_name != thing.type_name:
                _usable_type(tx, type_name)
            updated = thing.updated(
                type_name=type_name, remove_type=remove_type, attributes=attributes,
                expected_version=expected_version,
            )
            tx.things.save(updated)
            self.dynamic.follow(tx, updated)
            return updated

    def delete_thing(self, name: str, expected_version: int | None) -> None:
        with self.uow(write=True) as tx:
            thing = tx.things.get(name)
            if thing is None:
                return  # AWS: deleting a thing that does not exist succeeds
            check_version(thing.version, expected_version, f"thing {name}")
            if tx.principals.principals_page(name, 0, 1):
                raise InvalidInput(f"Cannot delete. Thing {name} is still attached to one or more principals",
                                   field="thingName")
            for listener in self.listeners:
                listener.thing_deleted(tx, name)
            tx.things.delete(name)  # its dynamic memberships go with its other rows

    # --- thing types --------------------------------------------------------------------------

    def create_thing_type(self, name: str, spec: ThingTypeSpec, tags: dict[str, str]) -> ThingType:
        check_tags(tags)
        candidate = ThingType(
            name, new_uuid(), spec.description, spec.searchable_attributes, spec.propagating_attributes,
            self.clock.now(),
        )
        with self.uow(write=True) as tx:
            existing = tx.thing_types.get(name)
            arn = self.arns.thing_type(name)
            if existing is not None:
                if existing.same_definition(candidate) and tx.tags.get(arn) == tags:
                    return existing
                raise AlreadyExists("Thing type", name, existing.type_id, arn)
            tx.thing_types.add(candidate)
            tx.tags.put(arn, tags)
            return candidate

    def describe_thing_type(self, name: str) -> ThingType:
        with self.uow() as tx:
            return _thing_type(tx, name)

    def list_thing_types(self, name: str | None, token: str | None, max_results: int | None) -> Page[ThingType]:
        with self.uow() as tx:
            return paginate(lambda a, n: tx.thing_types.page(name, a, n), token, max_results, "types", name)

    def deprecate_thing_type(self, name: str, undo: bool) -> None:
        with self.uow(write=True) as tx:
            thing_type = _thing_type(tx, name)
            if undo:
                tx.thing_types.save(replace(thing_type, deprecated=False, deprecated_at=None))
            elif not thing_type.deprecated:
                tx.thing_types.save(replace(thing_type, deprecated=True, deprecated_at=self.clock.now()))

    def delete_thing_type(self, name: str) -> None:
        with self.uow(write=True) as tx:
            thing_type = _thing_type(tx, name)
            if not thing_type.deprecated or thing_type.deprecated_at is None:
                raise InvalidState(f"Thing type {name} must be deprecated before it is deleted")
            if self.clock.now() < thing_type.deprecated_at + DEPRECATION_GRACE:
                raise InvalidState(
                    f"Thing type {name} was deprecated less than 5 minutes ago; wait before deleting it"
                )
            if tx.things.count_of_type(name):
                raise InvalidState(f"Thing type {name} still has things associated with it")
            tx.thing_types.delete(name)
            tx.tags.drop(self.arns.thing_type(name))

    # --- thing groups -------------------------------------------------------------------------

    def create_thing_group(
        self, name: str, parent: str | None, description: str | None, attributes: AttributeUpdate | None,
        tags: dict[str, str],
    ) -> ThingGroup:
        check_tags(tags)
        attrs = attributes.apply({}) if attributes else {}
        with self.uow(write=True) as tx:
            ancestors = _group(tx, parent).child_ancestry() if parent else ()
            existing = tx.thing_groups.get(name)
            arn = self.arns.thing_group(name)
            if existing is not None:
                same = (existing.ancestors, existing.description, existing.attributes, existing.query) == (
                    ancestors, description, attrs, None,
                )
                if same and tx.tags.get(arn) == tags:
                    return existing
                raise AlreadyExists("Thing group", name, existing.group_id, arn)
            group = ThingGroup(name, new_uuid(), description, attrs, 1, self.clock.now(), ancestors)
            tx.thing_groups.add(group)
            tx.tags.put(arn, tags)
            return group

    def describe_thing_group(self, name: str) -> ThingGroup:
        with self.uow() as tx:
            return _group(tx, name)

    def update_thing_group(
        self, name: str, description: str | None, attributes: AttributeUpdate | None, expected_version: int | None
    ) -> ThingGroup:
        with self.uow(write=True) as tx:
            updated = _group(tx, name).updated(
                description=description, attributes=attributes, expected_version=expected_version
            )
            tx.thing_groups.save(updated)
            return updated

    def delete_thing_group(self, name: str, expected_version: int | None) -> None:
        with self.uow(write=True) as tx:
            group = tx.thing_groups.get(name)
            if group is None:
                return
            if group.dynamic:
                raise InvalidInput(f"Thing group {name} is a dynamic thing group; delete it with "
                                   "DeleteDynamicThingGroup", field="thingGroupName")
            check_version(group.version, expected_version, f"thing group {name}")
            if tx.thing_groups.has_children(name):
                raise InvalidState(f"Cannot delete thing group {name} while it still has child groups")
            self.dynamic.before_static_group_deleted(tx, group)
            tx.thing_groups.delete(name)
            tx.tags.drop(self.arns.thing_group(name))

    def list_thing_groups(
        self, parent: str | None, recursive: bool, prefix: str | None, token: str | None, max_results: int | None
    ) -> Page[ThingGroup]:
        with self.uow() as tx:
            if parent:
                _group(tx, parent)
            return paginate(
                lambda a, n: tx.thing_groups.page(parent, recursive, prefix, a, n),
                token, max_results, "groups", parent, recursive, prefix,
            )

    # --- membership ---------------------------------------------------------------------------

    # Static membership changes are followed by dynamic groups (their queries may read thingGroupNames).

    def add_thing_to_group(self, group_name: str, thing_name: str) -> None:
        with self.uow(write=True) as tx:
            group, thing = _group(tx, group_name), _thing(tx, thing_name)
            self._add_member(tx, group, thing.name)
            self.dynamic.follow(tx, thing)

    def remove_thing_from_group(self, group_name: str, thing_name: str) -> None:
        with self.uow(write=True) as tx:
            group, thing = _group(tx, group_name), _thing(tx, thing_name)
            self._remove_member(tx, group, thing.name)
            self.dynamic.follow(tx, thing)

    def update_groups_for_thing(self, thing_name: str, add: list[str], remove: list[str]) -> None:
        with self.uow(write=True) as tx:
            thing = _thing(tx, thing_name)
            for name in remove:
                self._remove_member(tx, _group(tx, name), thing.name)
            for name in add:
                self._add_member(tx, _group(tx, name), thing.name)
            self.dynamic.follow(tx, thing)

    def _add_member(self, tx: UnitOfWork, group: ThingGroup, thing_name: str) -> None:
        check_new_membership(group, tx.thing_groups.groups_of(thing_name), thing_name)
        tx.thing_groups.add_member(group.name, thing_name)
        self._joined(tx, thing_name, (group.name, *group.ancestors))

    def list_things_in_group(
        self, group_name: str, recursive: bool, token: str | None, max_results: int | None
    ) -> Page[str]:
        with self.uow() as tx:
            _group(tx, group_name)
            return paginate(
                lambda a, n: tx.thing_groups.members_page(group_name, recursive, a, n),
                token, max_results, "members", group_name, recursive,
            )

    def list_groups_for_thing(self, thing_name: str, token: str | None, max_results: int | None) -> Page[ThingGroup]:
        with self.uow() as tx:
            _thing(tx, thing_name)
            return paginate(
                lambda a, n: tx.thing_groups.groups_page(thing_name, a, n), token, max_results, "of", thing_name
            )


def _thing(tx: UnitOfWork, name: str) -> Thing:
    thing = tx.things.get(name)
    if thing is None:
        raise NotFound("Thing", name)
    return thing


def _thing_type(tx: UnitOfWork, name: str) -> ThingType:
    thing_type = tx.thing_types.get(name)
    if thing_type is None:
        raise NotFound("Thing type", name)
    return thing_type


def _usable_type(tx: UnitOfWork, name: str) -> ThingType:
    thing_type = _thing_type(tx, name)
    if thing_type.deprecated:
        raise InvalidInput(f"Thing type {name} is deprecated; things cannot be associated with it",
                           field="thingTypeName")
    return thing_type


def _group(tx: UnitOfWork, name: str) -> ThingGroup:
    group = tx.thing_groups.get(name)
    if group is None:
        raise NotFound("Thing group", name)
    return group

