"""Dynamic thing groups: groups whose members are the things that match a fleet-indexing query.

Dynamic membership lives in the same membership rows as static membership, so member listings,
ListThingGroupsForThing and job targeting treat a dynamic group as any other group. It is computed
over every thing (a chunk at a time) when a group is created or its query changes, and follows each
thing change (``follow``) inside that change's transaction. AWS builds a new group in the background
(status BUILDING, then ACTIVE, REBUILDING after a query change); we build it within the request, so a
group is complete, and ACTIVE, once the request is answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from otahub.domain.clock import Clock
from otahub.domain.errors import AlreadyExists, InvalidInput, NotFound
from otahub.domain.fleet_query import Query, parse_query
from otahub.domain.ids import Arns, new_uuid
from otahub.domain.things import (
    AttributeUpdate,
    GroupQuery,
    Thing,
    ThingGroup,
    check_version,
    membership_changes,
    query_record,
)
from otahub.services.ports import ThingFilter, UnitOfWork, UnitOfWorkFactory
from otahub.services.tags import check_tags

CHUNK = 1000  # things evaluated per query while a group is built, so memory stays bounded

Joined = Callable[[UnitOfWork, str, Sequence[str]], None]
"""Called as ``joined(tx, thing, (group,))`` for every thing that joins a dynamic group (and ``left``
likewise for every thing that leaves one)."""


@lru_cache(maxsize=256)
def parsed(query: GroupQuery) -> Query:
    """A stored query's parsed form (stored queries were checked when they were written)."""
    return parse_query(query.query_string)


def _reads_groups(group: ThingGroup) -> bool:
    return group.query is not None and "thingGroupNames" in parsed(group.query).fields()


class DynamicGroups:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, arns: Arns, joined: Joined, left: Joined) -> None:
        self.uow = uow
        self.clock = clock
        self.arns = arns
        self.joined = joined
        self.left = left

    # --- use cases ------------------------------------------------------------------------------

    def create(
        self, name: str, query: GroupQuery, description: str | None, attributes: AttributeUpdate | None,
        tags: dict[str, str],
    ) -> ThingGroup:
        with self.uow(write=True) as tx:
            return self.create_in(tx, name, query, description, attributes, tags)

    def create_in(
        self, tx: UnitOfWork, name: str, query: GroupQuery, description: str | None,
        attributes: AttributeUpdate | None, tags: dict[str, str],
    ) -> ThingGroup:
        """``create`` in a transaction of the caller's (a managed-integrations OTA task makes its group so)."""
        check_tags(tags)
        attrs = attributes.apply({}) if attributes else {}
        existing = tx.thing_groups.get(name)
        arn = self.arns.thing_group(name)
        if existing is not None:
            same = (existing.query, existing.description, existing.attributes) == (query, description, attrs)
            if same and tx.tags.get(arn) == tags:
                return existing
            raise AlreadyExists("Thing group", name, existing.group_id, arn)
        group = ThingGroup(name, new_uuid(), description, attrs, 1, self.clock.now(), (), query)
        tx.thing_groups.add(group)
        tx.tags.put(arn, tags)
        self._build(tx, group, fresh=True)
        return group

    def update(
        self, name: str, *, description: str | None, attributes: AttributeUpdate | None,
        expected_version: int | None, query_string: str | None, index_name: str | None, query_version: str | None,
    ) -> ThingGroup:
        with self.uow(write=True) as tx:
            group = _dynamic(tx, name)
            assert group.query is not None
            query = group.query.revised(query_string, index_name, query_version)
            updated = group.updated(description=description, attributes=attributes,
                                    expected_version=expected_version, query=query)
            tx.thing_groups.save(updated)
            if query.query_string != group.query.query_string:
                self._build(tx, updated, fresh=False)
            return updated

    def delete(self, name: str, expected_version: int | None) -> None:
        with self.uow(write=True) as tx:
            self.delete_in(tx, name, expected_version)

    def delete_in(self, tx: UnitOfWork, name: str, expected_version: int | None) -> None:
        group = tx.thing_groups.get(name)
        if group is None:
            return  # as DeleteThingGroup: deleting a group that does not exist succeeds
        if group.query is None:
            raise InvalidInput(f"Thing group {name} is a static thing group; delete it with DeleteThingGroup",
                               field="thingGroupName")
        check_version(group.version, expected_version, f"thing group {name}")
        tx.thing_groups.delete(name)
        tx.tags.drop(self.arns.thing_group(name))

    # --- membership follows things --------------------------------------------------------------

    def follow(self, tx: UnitOfWork, thing: Thing, groups: list[ThingGroup] | None = None) -> None:
        """Re-evaluate one thing (just created or changed; ``groups``: all its groups, if known)
        against every dynamic group, joining and leaving them in ``tx``."""
        dynamic = tx.thing_groups.dynamic_groups()
        if dynamic:
            self._reevaluate(tx, thing, tx.thing_groups.groups_of(thing.name) if groups is None else groups, dynamic)

    def before_static_group_deleted(self, tx: UnitOfWork, group: ThingGroup) -> None:
        """A static group is going: its members leave it now, and are re-evaluated against the dynamic
        groups whose queries read thingGroupNames (the others cannot change)."""
        dynamic = [g for g in tx.thing_groups.dynamic_groups() if _reads_groups(g)]
        while dynamic and (rows := tx.thing_groups.members_page(group.name, False, 0, CHUNK)):
            names = [name for _, name in rows]
            tx.thing_groups.remove_members(group.name, names)
            for name in names:
                thing = tx.things.get(name)
                if thing is not None:
                    self._reevaluate(tx, thing, tx.thing_groups.groups_of(name), dynamic)

    def _reevaluate(self, tx: UnitOfWork, thing: Thing, groups: list[ThingGroup], dynamic: list[ThingGroup]) -> None:
        queries = {g.name: parsed(g.query) for g in dynamic if g.query is not None}
        current = {g.name for g in groups if g.dynamic}
        joined, left = membership_changes(query_record(thing, groups), queries, current)
        for name in left:
            tx.thing_groups.remove_member(name, thing.name)
            self.left(tx, thing.name, (name,))
        for name in joined:
            tx.thing_groups.add_member(name, thing.name)
            self.joined(tx, thing.name, (name,))

    # --- building a group -----------------------------------------------------------------------

    def _build(self, tx: UnitOfWork, group: ThingGroup, *, fresh: bool) -> None:
        """Evaluate the group's query over every thing, a chunk at a time (``fresh``: no members yet)."""
        assert group.query is not None
        query = parsed(group.query)
        reads_groups = _reads_groups(group)
        after = 0
        while rows := tx.things.page(ThingFilter(), after, CHUNK):
            after = rows[-1][0]
            names = [thing.name for _, thing in rows]
            static = tx.thing_groups.static_groups_of_many(names) if reads_groups else {}
            current = set() if fresh else tx.thing_groups.members_among(group.name, names)
            matching = {
                thing.name for _, thing in rows if query.matches(query_record(thing, static.get(thing.name, [])))
            }
            leaving = [name for name in names if name in current - matching]
            tx.thing_groups.remove_members(group.name, leaving)
            for name in leaving:
                self.left(tx, name, (group.name,))
            joining = [name for name in names if name in matching - current]
            tx.thing_groups.add_members(group.name, joining)
            for name in joining:
                self.joined(tx, name, (group.name,))


def _dynamic(tx: UnitOfWork, name: str) -> ThingGroup:
    group = tx.thing_groups.get(name)
    if group is None:
        raise NotFound("Thing group", name)
    if group.query is None:
        raise InvalidInput(f"Thing group {name} is a static thing group; update it with UpdateThingGroup",
                           field="thingGroupName")
    return group
