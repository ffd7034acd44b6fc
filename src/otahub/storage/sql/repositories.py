"""One repository per aggregate over SQLAlchemy Core, with explicit row <-> domain functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.engine import CursorResult, Row

from otahub.domain.things import GroupQuery, PropagatingAttribute, Thing, ThingGroup, ThingType
from otahub.services.ports import ThingFilter
from otahub.storage.sql.tables import (
    credentials,
    tags,
    thing_attributes,
    thing_group_members,
    thing_groups,
    thing_types,
    things,
)

# Hot-path statements are built once: building a select per call costs more than running it.
_THING_BY_NAME = select(things).where(things.c.name == bindparam("name"))
_THING_SEQ_BY_NAME = select(things.c.seq).where(things.c.name == bindparam("name"))
_INSERT_THING = insert(things)
_INSERT_ATTRIBUTES = insert(thing_attributes)
_TYPE_BY_NAME = select(thing_types).where(thing_types.c.name == bindparam("name"))
_GROUP_BY_NAME = select(thing_groups).where(thing_groups.c.name == bindparam("name"))
_GROUP_SEQ_BY_NAME = select(thing_groups.c.seq).where(thing_groups.c.name == bindparam("name"))
_DYNAMIC_GROUPS = select(thing_groups).where(thing_groups.c.index_name.is_not(None)).order_by(thing_groups.c.seq)


def _new_seq(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _thing(row: Row[Any]) -> Thing:
    return Thing(
        name=row.name, thing_id=row.thing_id, type_name=row.type_name, attributes=dict(row.attributes),
        version=row.version, created_at=row.created_at, billing_group=row.billing_group,
    )


class SqlThings:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, name: str) -> Thing | None:
        row = self.conn.execute(_THING_BY_NAME, {"name": name}).first()
        return _thing(row) if row else None

    def add(self, thing: Thing) -> None:
        seq = _new_seq(self.conn.execute(_INSERT_THING, _thing_values(thing)))
        self._write_attributes(seq, thing.attributes)

    def save(self, thing: Thing) -> None:
        seq = self.conn.execute(
            update(things).where(things.c.name == thing.name).values(**_thing_values(thing)).returning(things.c.seq)
        ).scalar_one()
        self.conn.execute(delete(thing_attributes).where(thing_attributes.c.thing_seq == seq))
        self._write_attributes(seq, thing.attributes)

    def _write_attributes(self, seq: int, attributes: dict[str, str]) -> None:
        if attributes:
            rows = [{"thing_seq": seq, "name": k, "value": v} for k, v in attributes.items()]
            self.conn.execute(_INSERT_ATTRIBUTES, rows)

    def delete(self, name: str) -> None:
        seq = self.conn.execute(_THING_SEQ_BY_NAME, {"name": name}).scalar()
        if seq is None:
            return
        self.conn.execute(delete(thing_attributes).where(thing_attributes.c.thing_seq == seq))
        self.conn.execute(delete(thing_group_members).where(thing_group_members.c.thing_seq == seq))
        self.conn.execute(delete(things).where(things.c.seq == seq))

    def page(self, where: ThingFilter, after: int, limit: int) -> list[tuple[int, Thing]]:
        query = select(things).where(things.c.seq > after)
        if where.type_name:
            query = query.where(things.c.type_name == where.type_name)
        if where.attribute_name:
            # Driven from the (name, value) index, so a rare attribute does not scan every thing.
            attrs = thing_attributes.c
            query = query.join(thing_attributes, attrs.thing_seq == things.c.seq).where(
                attrs.name == where.attribute_name
            )
            if where.attribute_value is not None and where.attribute_prefix:
                query = query.where(attrs.value >= where.attribute_value,
                                    attrs.value < where.attribute_value + "\U0010ffff")
            elif where.attribute_value is not None:
                query = query.where(attrs.value == where.attribute_value)
        rows = self.conn.execute(query.order_by(things.c.seq).limit(limit))
        return [(row.seq, _thing(row)) for row in rows]

    def count_of_type(self, type_name: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(things).where(things.c.type_name == type_name)
        ).scalar_one())


def _thing_values(thing: Thing) -> dict[str, Any]:
    return {
        "name": thing.name, "thing_id": thing.thing_id, "type_name": thing.type_name,
        "attributes": thing.attributes, "billing_group": thing.billing_group, "version": thing.version,
        "created_at": thing.created_at,
    }


def _thing_type(row: Row[Any]) -> ThingType:
    propagating = row.propagating_attributes
    return ThingType(
        name=row.name, type_id=row.type_id, description=row.description,
        searchable_attributes=tuple(row.searchable_attributes),
        propagating_attributes=None if propagating is None else tuple(
            PropagatingAttribute(p.get("user_property_key"), p.get("thing_attribute"), p.get("connection_attribute"))
            for p in propagating
        ),
        created_at=row.created_at, deprecated=row.deprecated, deprecated_at=row.deprecated_at,
    )


def _thing_type_values(t: ThingType) -> dict[str, Any]:
    propagating = None if t.propagating_attributes is None else [
        {"user_property_key": p.user_property_key, "thing_attribute": p.thing_attribute,
         "connection_attribute": p.connection_attribute}
        for p in t.propagating_attributes
    ]
    return {
        "name": t.name, "type_id": t.type_id, "description": t.description,
        "searchable_attributes": list(t.searchable_attributes), "propagating_attributes": propagating,
        "deprecated": t.deprecated, "deprecated_at": t.deprecated_at, "created_at": t.created_at,
    }


class SqlThingTypes:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, name: str) -> ThingType | None:
        row = self.conn.execute(_TYPE_BY_NAME, {"name": name}).first()
        return _thing_type(row) if row else None

    def add(self, thing_type: ThingType) -> None:
        self.conn.execute(insert(thing_types).values(**_thing_type_values(thing_type)))

    def save(self, thing_type: ThingType) -> None:
        self.conn.execute(
            update(thing_types).where(thing_types.c.name == thing_type.name).values(**_thing_type_values(thing_type))
        )

    def delete(self, name: str) -> None:
        self.conn.execute(delete(thing_types).where(thing_types.c.name == name))

    def page(self, name: str | None, after: int, limit: int) -> list[tuple[int, ThingType]]:
        query = select(thing_types).where(thing_types.c.seq > after)
        if name:
            query = query.where(thing_types.c.name == name)
        rows = self.conn.execute(query.order_by(thing_types.c.seq).limit(limit))
        return [(row.seq, _thing_type(row)) for row in rows]


def _group(row: Row[Any]) -> ThingGroup:
    query = None
    if row.query_string is not None:
        query = GroupQuery(row.query_string, row.index_name, row.query_version)
    return ThingGroup(
        name=row.name, group_id=row.group_id, description=row.description, attributes=dict(row.attributes),
        version=row.version, created_at=row.created_at, ancestors=tuple(row.ancestors), query=query,
    )


class SqlThingGroups:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _seq(self, name: str) -> int | None:
        return self.conn.execute(_GROUP_SEQ_BY_NAME, {"name": name}).scalar()

    def _path(self, name: str) -> str | None:
        return self.conn.execute(select(thing_groups.c.path).where(thing_groups.c.name == name)).scalar()

    def get(self, name: str) -> ThingGroup | None:
        row = self.conn.execute(_GROUP_BY_NAME, {"name": name}).first()
        return _group(row) if row else None

    def add(self, group: ThingGroup) -> None:
        parent = group.parent_name
        parent_seq = self._seq(parent) if parent else None
        parent_path = (self._path(parent) if parent else None) or "/"
        seq = _new_seq(
            self.conn.execute(insert(thing_groups).values(parent_seq=parent_seq, path="", **_group_values(group)))
        )
        self.conn.execute(update(thing_groups).where(thing_groups.c.seq == seq).values(path=f"{parent_path}{seq}/"))

    def save(self, group: ThingGroup) -> None:
        self.conn.execute(update(thing_groups).where(thing_groups.c.name == group.name).values(**_group_values(group)))

    def delete(self, name: str) -> None:
        seq = self._seq(name)
        if seq is not None:
            self.conn.execute(delete(thing_group_members).where(thing_group_members.c.group_seq == seq))
            self.conn.execute(delete(thing_groups).where(thing_groups.c.seq == seq))

    def has_children(self, name: str) -> bool:
        seq = self._seq(name)
        return seq is not None and self.conn.execute(
            select(thing_groups.c.seq).where(thing_groups.c.parent_seq == seq).limit(1)
        ).first() is not None

    def page(
        self, parent: str | None, recursive: bool, prefix: str | None, after: int, limit: int
    ) -> list[tuple[int, ThingGroup]]:
        query = select(thing_groups).where(thing_groups.c.seq > after)
        if parent:
            parent_row = self.conn.execute(
                select(thing_groups.c.seq, thing_groups.c.path).where(thing_groups.c.name == parent)
            ).first()
            if parent_row is None:
                return []
            if recursive:
                query = query.where(thing_groups.c.path.startswith(parent_row.path, autoescape=True),
                                    thing_groups.c.seq != parent_row.seq)
            else:
                query = query.where(thing_groups.c.parent_seq == parent_row.seq)
        if prefix:
            query = query.where(thing_groups.c.name.startswith(prefix, autoescape=True))
        rows = self.conn.execute(query.order_by(thing_groups.c.seq).limit(limit))
        return [(row.seq, _group(row)) for row in rows]

    def add_member(self, group: str, thing: str) -> None:
        group_seq, thing_seq = self._seq(group), _thing_seq(self.conn, thing)
        already = self.conn.execute(select(thing_group_members.c.group_seq).where(
            thing_group_members.c.group_seq == group_seq, thing_group_members.c.thing_seq == thing_seq)).first()
        if already is None:
            self.conn.execute(insert(thing_group_members).values(group_seq=group_seq, thing_seq=thing_seq))

    def remove_member(self, group: str, thing: str) -> None:
        group_seq, thing_seq = self._seq(group), _thing_seq(self.conn, thing)
        self.conn.execute(delete(thing_group_members).where(
            thing_group_members.c.group_seq == group_seq, thing_group_members.c.thing_seq == thing_seq))

    def add_members(self, group: str, names: Sequence[str]) -> None:
        if names:
            source = select(literal(self._seq(group)), things.c.seq).where(things.c.name.in_(list(names)))
            self.conn.execute(insert(thing_group_members).from_select(["group_seq", "thing_seq"], source))

    def remove_members(self, group: str, names: Sequence[str]) -> None:
        if names:
            chosen = select(things.c.seq).where(things.c.name.in_(list(names)))
            self.conn.execute(delete(thing_group_members).where(
                thing_group_members.c.group_seq == self._seq(group), thing_group_members.c.thing_seq.in_(chosen)))

    def groups_of(self, thing: str) -> list[ThingGroup]:
        return [group for _, group in self.groups_page(thing, 0, 1000)]

    def static_groups_of_many(self, names: Sequence[str]) -> dict[str, list[ThingGroup]]:
        members = thing_group_members.c
        query = (
            select(things.c.name.label("thing_name"), thing_groups)
            .join(thing_group_members, members.thing_seq == things.c.seq)
            .join(thing_groups, thing_groups.c.seq == members.group_seq)
            .where(things.c.name.in_(list(names)), thing_groups.c.index_name.is_(None))
            .order_by(thing_groups.c.seq)
        )
        found: dict[str, list[ThingGroup]] = {name: [] for name in names}
        for row in self.conn.execute(query):
            found[row.thing_name].append(_group(row))
        return found

    def dynamic_groups(self) -> list[ThingGroup]:
        return [_group(row) for row in self.conn.execute(_DYNAMIC_GROUPS)]

    def members_among(self, group: str, names: Sequence[str]) -> set[str]:
        members = thing_group_members.c
        query = (
            select(things.c.name)
            .join(thing_group_members, members.thing_seq == things.c.seq)
            .where(members.group_seq == self._seq(group), things.c.name.in_(list(names)))
        )
        return set(self.conn.execute(query).scalars())

    def groups_page(self, thing: str, after: int, limit: int) -> list[tuple[int, ThingGroup]]:
        thing_seq = _thing_seq(self.conn, thing)
        query = (
            select(thing_groups)
            .join(thing_group_members, thing_group_members.c.group_seq == thing_groups.c.seq)
            .where(thing_group_members.c.thing_seq == thing_seq, thing_groups.c.seq > after)
            .order_by(thing_groups.c.seq).limit(limit)
        )
        return [(row.seq, _group(row)) for row in self.conn.execute(query)]

    def members_page(self, group: str, recursive: bool, after: int, limit: int) -> list[tuple[int, str]]:
        row = self.conn.execute(
            select(thing_groups.c.seq, thing_groups.c.path).where(thing_groups.c.name == group)
        ).first()
        if row is None:
            return []
        members = thing_group_members.c
        if recursive:
            subtree = select(thing_groups.c.seq).where(thing_groups.c.path.startswith(row.path, autoescape=True))
            in_group = members.group_seq.in_(subtree)
        else:
            in_group = members.group_seq == row.seq
        # Driven from the membership table (its primary key orders by group, then thing).
        query = (
            select(members.thing_seq, things.c.name)
            .join(things, things.c.seq == members.thing_seq)
            .where(in_group, members.thing_seq > after)
            .distinct()
            .order_by(members.thing_seq)
            .limit(limit)
        )
        return [(r.thing_seq, r.name) for r in self.conn.execute(query)]


def _thing_seq(conn: Connection, name: str) -> int | None:
    return conn.execute(_THING_SEQ_BY_NAME, {"name": name}).scalar()


def _group_values(group: ThingGroup) -> dict[str, Any]:
    return {
        "name": group.name, "group_id": group.group_id, "ancestors": list(group.ancestors),
        "description": group.description, "attributes": group.attributes, "version": group.version,
        "created_at": group.created_at,
        "query_string": group.query.query_string if group.query else None,
        "query_version": group.query.query_version if group.query else None,
        "index_name": group.query.index_name if group.query else None,
    }


class SqlTags:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, arn: str) -> dict[str, str]:
        query = select(tags.c.key, tags.c.value).where(tags.c.resource_arn == arn).order_by(tags.c.key)
        rows = self.conn.execute(query)
        return {row.key: row.value for row in rows}

    def put(self, arn: str, new_tags: dict[str, str]) -> None:
        if not new_tags:
            return
        self.conn.execute(delete(tags).where(tags.c.resource_arn == arn, tags.c.key.in_(list(new_tags))))
        self.conn.execute(insert(tags), [{"resource_arn": arn, "key": k, "value": v} for k, v in new_tags.items()])

    def remove(self, arn: str, keys: Sequence[str]) -> None:
        self.conn.execute(delete(tags).where(tags.c.resource_arn == arn, tags.c.key.in_(list(keys))))

    def drop(self, arn: str) -> None:
        self.conn.execute(delete(tags).where(tags.c.resource_arn == arn))


class SqlCredentials:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, str]:
        rows = self.conn.execute(select(credentials.c.access_key_id, credentials.c.secret_access_key))
        return {row.access_key_id: row.secret_access_key for row in rows}

    def add(self, access_key_id: str, secret: str) -> None:
        from datetime import UTC, datetime

        self.conn.execute(insert(credentials).values(
            access_key_id=access_key_id, secret_access_key=secret, created_at=datetime.now(UTC)))
