"""The iot control plane: wire parameters in, service calls, wire results out (things and groups)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.domain.errors import InvalidInput
from otahub.domain.ids import Arns
from otahub.domain.things import AttributeUpdate, GroupQuery, PropagatingAttribute, Thing, ThingGroup, ThingType
from otahub.services.ports import ThingFilter
from otahub.services.tags import TagService
from otahub.services.things import ThingRegistry, ThingTypeSpec


def _attributes(payload: Mapping[str, Any] | None) -> AttributeUpdate | None:
    if payload is None:
        return None
    return AttributeUpdate(dict(payload.get("attributes") or {}), bool(payload.get("merge", False)))


def tags_from_wire(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    """The model's TagList ([{Key, Value}]) as a dict."""
    return {tag["Key"]: tag.get("Value", "") for tag in tag_list or []}


def _name_from(params: Params, name_key: str, arn_key: str, arns: Arns, kind: str) -> str:
    if params.get(name_key):
        return str(params[name_key])
    arn = params.get(arn_key)
    parsed = arns.parse_iot(arn) if arn else None
    if parsed is None or parsed[0] != kind:
        raise InvalidInput(f"Either {name_key} or a valid {arn_key} must be given", field=name_key)
    return parsed[1]


def _query_fields(query: GroupQuery) -> Result:
    return {"indexName": query.index_name, "queryString": query.query_string, "queryVersion": query.query_version}


class IotApi:
    def __init__(self, registry: ThingRegistry, tags: TagService, arns: Arns) -> None:
        self.registry = registry
        self.tags = tags
        self.arns = arns

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateThing": self.create_thing,
            "DescribeThing": self.describe_thing,
            "ListThings": self.list_things,
            "UpdateThing": self.update_thing,
            "DeleteThing": self.delete_thing,
            "CreateThingType": self.create_thing_type,
            "DescribeThingType": self.describe_thing_type,
            "ListThingTypes": self.list_thing_types,
            "DeprecateThingType": self.deprecate_thing_type,
            "DeleteThingType": self.delete_thing_type,
            "CreateThingGroup": self.create_thing_group,
            "DescribeThingGroup": self.describe_thing_group,
            "UpdateThingGroup": self.update_thing_group,
            "DeleteThingGroup": self.delete_thing_group,
            "ListThingGroups": self.list_thing_groups,
            "AddThingToThingGroup": self.add_thing_to_thing_group,
            "RemoveThingFromThingGroup": self.remove_thing_from_thing_group,
            "UpdateThingGroupsForThing": self.update_thing_groups_for_thing,
            "ListThingsInThingGroup": self.list_things_in_thing_group,
            "ListThingGroupsForThing": self.list_thing_groups_for_thing,
            "CreateDynamicThingGroup": self.create_dynamic_thing_group,
            "UpdateDynamicThingGroup": self.update_dynamic_thing_group,
            "DeleteDynamicThingGroup": self.delete_dynamic_thing_group,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    # --- things -------------------------------------------------------------------------------

    def create_thing(self, ctx: CallContext, p: Params) -> Result:
        thing = self.registry.create_thing(
            p["thingName"], p.get("thingTypeName"), _attributes(p.get("attributePayload")), p.get("billingGroupName")
        )
        return {"thingName": thing.name, "thingArn": self.arns.thing(thing.name), "thingId": thing.thing_id}

    def describe_thing(self, ctx: CallContext, p: Params) -> Result:
        thing = self.registry.describe_thing(p["thingName"])
        return {
            "defaultClientId": thing.name, "thingName": thing.name, "thingId": thing.thing_id,
            "thingArn": self.arns.thing(thing.name), "thingTypeName": thing.type_name,
            "attributes": thing.attributes, "version": thing.version, "billingGroupName": thing.billing_group,
        }

    def _thing_summary(self, thing: Thing) -> Result:
        return {
            "thingName": thing.name, "thingTypeName": thing.type_name, "thingArn": self.arns.thing(thing.name),
            "attributes": thing.attributes, "version": thing.version,
        }

    def list_things(self, ctx: CallContext, p: Params) -> Result:
        where = ThingFilter(
            p.get("thingTypeName"), p.get("attributeName"), p.get("attributeValue"),
            bool(p.get("usePrefixAttributeValue", False)),
        )
        if where.attribute_value is not None and not where.attribute_name:
            raise InvalidInput("attributeValue requires attributeName", field="attributeName")
        page = self.registry.list_things(where, p.get("nextToken"), p.get("maxResults"))
        return {"things": [self._thing_summary(t) for t in page.items], "nextToken": page.next_token}

    def update_thing(self, ctx: CallContext, p: Params) -> Result:
        self.registry.update_thing(
            p["thingName"], type_name=p.get("thingTypeName"), remove_type=bool(p.get("removeThingType", False)),
            attributes=_attributes(p.get("attributePayload")), expected_version=p.get("expectedVersion"),
        )
        return {}

    def delete_thing(self, ctx: CallContext, p: Params) -> Result:
        self.registry.delete_thing(p["thingName"], p.get("expectedVersion"))
        return {}

    # --- thing types --------------------------------------------------------------------------

    def create_thing_type(self, ctx: CallContext, p: Params) -> Result:
        props = p.get("thingTypeProperties") or {}
        mqtt5 = props.get("mqtt5Configuration")
        propagating = None
        if mqtt5 is not None:
            propagating = tuple(
                PropagatingAttribute(a.get("userPropertyKey"), a.get("thingAttribute"), a.get("connectionAttribute"))
                for a in mqtt5.get("propagatingAttributes") or []
            )
        spec = ThingTypeSpec(props.get("thingTypeDescription"), tuple(props.get("searchableAttributes") or ()),
                             propagating)
        thing_type = self.registry.create_thing_type(p["thingTypeName"], spec, tags_from_wire(p.get("tags")))
        return {"thingTypeName": thing_type.name, "thingTypeArn": self.arns.thing_type(thing_type.name),
                "thingTypeId": thing_type.type_id}

    def _thing_type_properties(self, t: ThingType) -> Result:
        props: Result = {"thingTypeDescription": t.description, "searchableAttributes": list(t.searchable_attributes)}
        if t.propagating_attributes is not None:
            props["mqtt5Configuration"] = {"propagatingAttributes": [
                {"userPropertyKey": a.user_property_key, "thingAttribute": a.thing_attribute,
                 "connectionAttribute": a.connection_attribute}
                for a in t.propagating_attributes
            ]}
        return props

    def _thing_type_metadata(self, t: ThingType) -> Result:
        return {"deprecated": t.deprecated, "deprecationDate": t.deprecated_at, "creationDate": t.created_at}

    def describe_thing_type(self, ctx: CallContext, p: Params) -> Result:
        t = self.registry.describe_thing_type(p["thingTypeName"])
        return {"thingTypeName": t.name, "thingTypeId": t.type_id, "thingTypeArn": self.arns.thing_type(t.name),
                "thingTypeProperties": self._thing_type_properties(t),
                "thingTypeMetadata": self._thing_type_metadata(t)}

    def list_thing_types(self, ctx: CallContext, p: Params) -> Result:
        page = self.registry.list_thing_types(p.get("thingTypeName"), p.get("nextToken"), p.get("maxResults"))
        return {"thingTypes": [
            {"thingTypeName": t.name, "thingTypeArn": self.arns.thing_type(t.name),
             "thingTypeProperties": self._thing_type_properties(t), "thingTypeMetadata": self._thing_type_metadata(t)}
            for t in page.items
        ], "nextToken": page.next_token}

    def deprecate_thing_type(self, ctx: CallContext, p: Params) -> Result:
        self.registry.deprecate_thing_type(p["thingTypeName"], bool(p.get("undoDeprecate", False)))
        return {}

    def delete_thing_type(self, ctx: CallContext, p: Params) -> Result:
        self.registry.delete_thing_type(p["thingTypeName"])
        return {}

    # --- thing groups -------------------------------------------------------------------------

    def create_thing_group(self, ctx: CallContext, p: Params) -> Result:
        props = p.get("thingGroupProperties") or {}
        group = self.registry.create_thing_group(
            p["thingGroupName"], p.get("parentGroupName"), props.get("thingGroupDescription"),
            _attributes(props.get("attributePayload")), tags_from_wire(p.get("tags")),
        )
        return {"thingGroupName": group.name, "thingGroupArn": self.arns.thing_group(group.name),
                "thingGroupId": group.group_id}

    def _name_and_arn(self, name: str) -> Result:
        return {"groupName": name, "groupArn": self.arns.thing_group(name)}

    def describe_thing_group(self, ctx: CallContext, p: Params) -> Result:
        g: ThingGroup = self.registry.describe_thing_group(p["thingGroupName"])
        described: Result = {
            "thingGroupName": g.name, "thingGroupId": g.group_id, "thingGroupArn": self.arns.thing_group(g.name),
            "version": g.version,
            "thingGroupProperties": {"thingGroupDescription": g.description,
                                     "attributePayload": {"attributes": g.attributes}},
            "thingGroupMetadata": {
                "parentGroupName": g.parent_name,
                "rootToParentThingGroups": [self._name_and_arn(a) for a in g.ancestors] if g.ancestors else None,
                "creationDate": g.created_at,
            },
        }
        if g.query is not None:
            # AWS reports BUILDING or REBUILDING while it computes members in the background; we compute
            # them within CreateDynamicThingGroup/UpdateDynamicThingGroup, so a group is always ACTIVE.
            described.update(_query_fields(g.query), status="ACTIVE")
        return described

    def update_thing_group(self, ctx: CallContext, p: Params) -> Result:
        props = p["thingGroupProperties"]
        group = self.registry.update_thing_group(
            p["thingGroupName"], props.get("thingGroupDescription"), _attributes(props.get("attributePayload")),
            p.get("expectedVersion"),
        )
        return {"version": group.version}

    def delete_thing_group(self, ctx: CallContext, p: Params) -> Result:
        self.registry.delete_thing_group(p["thingGroupName"], p.get("expectedVersion"))
        return {}

    def list_thing_groups(self, ctx: CallContext, p: Params) -> Result:
        page = self.registry.list_thing_groups(
            p.get("parentGroup"), bool(p.get("recursive", False)), p.get("namePrefixFilter"),
            p.get("nextToken"), p.get("maxResults"),
        )
        return {"thingGroups": [self._name_and_arn(g.name) for g in page.items], "nextToken": page.next_token}

    def create_dynamic_thing_group(self, ctx: CallContext, p: Params) -> Result:
        props = p.get("thingGroupProperties") or {}
        query = GroupQuery.of(p["queryString"], p.get("indexName"), p.get("queryVersion"))
        group = self.registry.dynamic.create(
            p["thingGroupName"], query, props.get("thingGroupDescription"),
            _attributes(props.get("attributePayload")), tags_from_wire(p.get("tags")),
        )
        assert group.query is not None
        return {"thingGroupName": group.name, "thingGroupArn": self.arns.thing_group(group.name),
                "thingGroupId": group.group_id, **_query_fields(group.query)}

    def update_dynamic_thing_group(self, ctx: CallContext, p: Params) -> Result:
        props = p["thingGroupProperties"]
        group = self.registry.dynamic.update(
            p["thingGroupName"], description=props.get("thingGroupDescription"),
            attributes=_attributes(props.get("attributePayload")), expected_version=p.get("expectedVersion"),
            query_string=p.get("queryString"), index_name=p.get("indexName"), query_version=p.get("queryVersion"),
        )
        return {"version": group.version}

    def delete_dynamic_thing_group(self, ctx: CallContext, p: Params) -> Result:
        self.registry.dynamic.delete(p["thingGroupName"], p.get("expectedVersion"))
        return {}

    def add_thing_to_thing_group(self, ctx: CallContext, p: Params) -> Result:
        self.registry.add_thing_to_group(
            _name_from(p, "thingGroupName", "thingGroupArn", self.arns, "thinggroup"),
            _name_from(p, "thingName", "thingArn", self.arns, "thing"),
        )
        return {}

    def remove_thing_from_thing_group(self, ctx: CallContext, p: Params) -> Result:
        self.registry.remove_thing_from_group(
            _name_from(p, "thingGroupName", "thingGroupArn", self.arns, "thinggroup"),
            _name_from(p, "thingName", "thingArn", self.arns, "thing"),
        )
        return {}

    def update_thing_groups_for_thing(self, ctx: CallContext, p: Params) -> Result:
        if not p.get("thingName"):
            raise InvalidInput("thingName is required", field="thingName")
        self.registry.update_groups_for_thing(
            p["thingName"], list(p.get("thingGroupsToAdd") or []), list(p.get("thingGroupsToRemove") or [])
        )
        return {}

    def list_things_in_thing_group(self, ctx: CallContext, p: Params) -> Result:
        page = self.registry.list_things_in_group(
            p["thingGroupName"], bool(p.get("recursive", False)), p.get("nextToken"), p.get("maxResults")
        )
        return {"things": page.items, "nextToken": page.next_token}

    def list_thing_groups_for_thing(self, ctx: CallContext, p: Params) -> Result:
        page = self.registry.list_groups_for_thing(p["thingName"], p.get("nextToken"), p.get("maxResults"))
        return {"thingGroups": [self._name_and_arn(g.name) for g in page.items], "nextToken": page.next_token}

    # --- tags ---------------------------------------------------------------------------------

    def tag_resource(self, ctx: CallContext, p: Params) -> Result:
        self.tags.tag(p["resourceArn"], tags_from_wire(p["tags"]))
        return {}

    def untag_resource(self, ctx: CallContext, p: Params) -> Result:
        self.tags.untag(p["resourceArn"], p["tagKeys"])
        return {}

    def list_tags_for_resource(self, ctx: CallContext, p: Params) -> Result:
        page = self.tags.list(p["resourceArn"], p.get("nextToken"))
        return {"tags": [{"Key": k, "Value": v} for k, v in page.items], "nextToken": page.next_token}
