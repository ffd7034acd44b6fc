"""iotwireless: destinations, LoRaWAN wireless devices, multicast groups (and sessions) and tags.

Wire parameters (PascalCase) in, WirelessService / WirelessTags calls, wire results out. The LoRaWAN
structures become the domain's DeviceKeys, FPorts and group settings here; FUOTA tasks are in
aws/iot_fuota.py. Both register under the `iotwireless` service in app.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.iot import tags_from_wire
from otahub.aws.iot_jobs import without_none
from otahub.domain.errors import InvalidInput
from otahub.domain.ids import Arns
from otahub.domain.lorawan.regions import RfRegion
from otahub.domain.wireless import (
    Activation,
    ApplicationPort,
    Destination,
    DeviceKeys,
    DeviceType,
    DeviceUpdate,
    DlClass,
    ExpressionType,
    FPorts,
    Gateways,
    LoRaWANDevice,
    MulticastGroup,
    MulticastSession,
    PositioningPorts,
    SessionDefaults,
    WirelessDevice,
)
from otahub.services.wireless import (
    DestinationRequest,
    DeviceRequest,
    GroupRequest,
    GroupSettings,
    GroupView,
    WirelessService,
)
from otahub.services.wireless_ports import DeviceFilter, DeviceListing
from otahub.services.wireless_tags import WirelessTags

# Wire member -> DeviceKeys attribute, per activation (SessionKeys and FCntStart apart).
KEY_MEMBERS: dict[Activation, dict[str, str]] = {
    Activation.OTAA_V1_1: {"AppKey": "app_key", "NwkKey": "nwk_key", "JoinEui": "join_eui"},
    Activation.OTAA_V1_0_X: {"AppKey": "app_key", "AppEui": "app_eui", "JoinEui": "join_eui",
                             "GenAppKey": "gen_app_key"},
    Activation.ABP_V1_1: {"DevAddr": "dev_addr"},
    Activation.ABP_V1_0_X: {"DevAddr": "dev_addr"},
}
SESSION_MEMBERS: dict[Activation, dict[str, str]] = {
    Activation.ABP_V1_1: {"FNwkSIntKey": "f_nwk_s_int_key", "SNwkSIntKey": "s_nwk_s_int_key",
                          "NwkSEncKey": "nwk_s_enc_key", "AppSKey": "app_s_key"},
    Activation.ABP_V1_0_X: {"NwkSKey": "nwk_s_key", "AppSKey": "app_s_key"},
}


# --- LoRaWAN devices: wire <-> domain ---------------------------------------------------------------


def keys_from_wire(lorawan: Mapping[str, Any]) -> DeviceKeys:
    given = [a for a in Activation if lorawan.get(a.value) is not None]
    if len(given) != 1:
        names = ", ".join(a.value for a in Activation)
        raise InvalidInput(f"LoRaWAN: exactly one of {names} is required, not {len(given)}", field="LoRaWAN")
    activation = given[0]
    data = lorawan[activation.value]
    session = data.get("SessionKeys") or {}
    values: dict[str, Any] = {attr: data.get(member) for member, attr in KEY_MEMBERS[activation].items()}
    values |= {attr: session.get(member) for member, attr in SESSION_MEMBERS.get(activation, {}).items()}
    return DeviceKeys(activation, fcnt_start=data.get("FCntStart"), **values)


def keys_to_wire(keys: DeviceKeys) -> Result:
    data = {member: getattr(keys, attr) for member, attr in KEY_MEMBERS[keys.activation].items()}
    session = {member: getattr(keys, attr) for member, attr in SESSION_MEMBERS.get(keys.activation, {}).items()}
    data |= {"SessionKeys": without_none(session) or None, "FCntStart": keys.fcnt_start}
    return {keys.activation.value: without_none(data)}


def positioning_from_wire(data: Mapping[str, Any] | None) -> PositioningPorts | None:
    if data is None:
        return None
    return PositioningPorts(data.get("ClockSync"), data.get("Stream"), data.get("Gnss"))


def applications_from_wire(data: list[Mapping[str, Any]] | None) -> tuple[ApplicationPort, ...] | None:
    if data is None:
        return None
    return tuple(ApplicationPort(a.get("FPort"), a.get("Type"), a.get("DestinationName")) for a in data)


def fports_from_wire(data: Mapping[str, Any] | None) -> FPorts | None:
    if data is None:
        return None
    return FPorts(data.get("Fuota"), data.get("Multicast"), data.get("ClockSync"),
                  positioning_from_wire(data.get("Positioning")), applications_from_wire(data.get("Applications")))


def fports_to_wire(ports: FPorts) -> Result:
    p = ports.positioning
    return without_none({
        "Fuota": ports.fuota, "Multicast": ports.multicast, "ClockSync": ports.clock_sync,
        "Positioning": None if p is None else without_none({"ClockSync": p.clock_sync, "Stream": p.stream,
                                                            "Gnss": p.gnss}),
        "Applications": None if ports.applications is None else [
            without_none({"FPort": a.fport, "Type": a.type, "DestinationName": a.destination_name})
            for a in ports.applications],
    })


def lorawan_from_wire(data: Mapping[str, Any] | None) -> LoRaWANDevice | None:
    if data is None:
        return None
    if data.get("DevEui") is None:
        raise InvalidInput("LoRaWAN.DevEui is required for a LoRaWAN wireless device", field="LoRaWAN.DevEui")
    return LoRaWANDevice(data["DevEui"], keys_from_wire(data), data.get("DeviceProfileId"),
                         data.get("ServiceProfileId"), fports_from_wire(data.get("FPorts")))


def lorawan_to_wire(lorawan: LoRaWANDevice) -> Result:
    return without_none({
        "DevEui": lorawan.dev_eui, "DeviceProfileId": lorawan.device_profile_id,
        "ServiceProfileId": lorawan.service_profile_id, **keys_to_wire(lorawan.keys),
        "FPorts": None if lorawan.fports is None else fports_to_wire(lorawan.fports) or None,
    })


def device_update_from_wire(p: Params) -> DeviceUpdate:
    lorawan = p.get("LoRaWAN") or {}
    fports = lorawan.get("FPorts") or {}
    return DeviceUpdate(
        destination_name=p.get("DestinationName"), name=p.get("Name"), description=p.get("Description"),
        device_profile_id=lorawan.get("DeviceProfileId"), service_profile_id=lorawan.get("ServiceProfileId"),
        abp_v1_1_fcnt_start=(lorawan.get("AbpV1_1") or {}).get("FCntStart"),
        abp_v1_0_x_fcnt_start=(lorawan.get("AbpV1_0_x") or {}).get("FCntStart"),
        positioning_ports=positioning_from_wire(fports.get("Positioning")),
        applications=applications_from_wire(fports.get("Applications")), positioning=p.get("Positioning"),
    )


# --- multicast groups: wire <-> domain --------------------------------------------------------------


def group_settings_from_wire(data: Mapping[str, Any] | None) -> GroupSettings | None:
    if data is None:
        return None
    gateways, defaults = data.get("ParticipatingGateways"), data.get("DefaultSessionParameters")
    return GroupSettings(
        rf_region=RfRegion(data["RfRegion"]) if data.get("RfRegion") else None,
        dl_class=DlClass(data["DlClass"]) if data.get("DlClass") else None,
        gateways=None if gateways is None else Gateways(
            None if gateways.get("GatewayList") is None else tuple(gateways["GatewayList"]),
            gateways.get("TransmissionInterval")),
        defaults=None if defaults is None else SessionDefaults(defaults.get("DlDr"), defaults.get("DlFreq")),
    )


def group_lorawan_to_wire(group: MulticastGroup) -> Result:
    gateways, defaults = group.gateways, group.defaults
    return without_none({
        "RfRegion": group.rf_region.value, "DlClass": group.dl_class.value,
        "ParticipatingGateways": None if gateways is None else without_none({
            "GatewayList": None if gateways.gateway_list is None else list(gateways.gateway_list),
            "TransmissionInterval": gateways.transmission_interval}),
        "DefaultSessionParameters": None if defaults is None else without_none({
            "DlDr": defaults.dl_dr, "DlFreq": defaults.dl_freq}),
    })


def session_from_wire(data: Mapping[str, Any]) -> MulticastSession:
    if data.get("SessionStartTime") is None:
        raise InvalidInput("LoRaWAN.SessionStartTime is required to start a multicast session",
                           field="LoRaWAN.SessionStartTime")
    return MulticastSession(data["SessionStartTime"], data.get("DlDr"), data.get("DlFreq"), data.get("SessionTimeout"),
                            data.get("PingSlotPeriod"))


def session_to_wire(session: MulticastSession) -> Result:
    return without_none({"DlDr": session.dl_dr, "DlFreq": session.dl_freq, "SessionStartTime": session.start_time,
                         "SessionTimeout": session.timeout, "PingSlotPeriod": session.ping_slot_period})


def tags_to_wire(tags: Mapping[str, str]) -> list[Result]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


class IotWirelessApi:
    def __init__(self, service: WirelessService, tags: WirelessTags, arns: Arns) -> None:
        self.service = service
        self.tags = tags
        self.arns = arns

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateDestination": self.create_destination, "GetDestination": self.get_destination,
            "ListDestinations": self.list_destinations, "UpdateDestination": self.update_destination,
            "DeleteDestination": self.delete_destination,
            "CreateWirelessDevice": self.create_device, "GetWirelessDevice": self.get_device,
            "ListWirelessDevices": self.list_devices, "UpdateWirelessDevice": self.update_device,
            "DeleteWirelessDevice": self.delete_device,
            "CreateMulticastGroup": self.create_group, "GetMulticastGroup": self.get_group,
            "ListMulticastGroups": self.list_groups, "UpdateMulticastGroup": self.update_group,
            "DeleteMulticastGroup": self.delete_group,
            "AssociateWirelessDeviceWithMulticastGroup": self.associate_device,
            "DisassociateWirelessDeviceFromMulticastGroup": self.disassociate_device,
            "StartMulticastGroupSession": self.start_session, "GetMulticastGroupSession": self.get_session,
            "CancelMulticastGroupSession": self.cancel_session,
            "TagResource": self.tag_resource, "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    # --- destinations ------------------------------------------------------------------------------

    def _destination(self, d: Destination) -> Result:
        return without_none({"Arn": self.arns.destination(d.name), "Name": d.name, "Expression": d.expression,
                             "ExpressionType": d.expression_type.value, "Description": d.description,
                             "RoleArn": d.role_arn})

    def create_destination(self, ctx: CallContext, p: Params) -> Result:
        d = self.service.create_destination(DestinationRequest(
            p["Name"], ExpressionType(p["ExpressionType"]), p["Expression"], p["RoleArn"], p.get("Description"),
            tags_from_wire(p.get("Tags")), p.get("ClientRequestToken")))
        return {"Arn": self.arns.destination(d.name), "Name": d.name}

    def get_destination(self, ctx: CallContext, p: Params) -> Result:
        return self._destination(self.service.get_destination(p["Name"]))

    def list_destinations(self, ctx: CallContext, p: Params) -> Result:
        page = self.service.list_destinations(p.get("NextToken"), p.get("MaxResults"))
        return {"DestinationList": [self._destination(d) for d in page.items], "NextToken": page.next_token}

    def update_destination(self, ctx: CallContext, p: Params) -> Result:
        kind = p.get("ExpressionType")
        self.service.update_destination(p["Name"], ExpressionType(kind) if kind else None, p.get("Expression"),
                                        p.get("Description"), p.get("RoleArn"))
        return {}

    def delete_destination(self, ctx: CallContext, p: Params) -> Result:
        self.service.delete_destination(p["Name"])
        return {}

    # --- wireless devices --------------------------------------------------------------------------

    def create_device(self, ctx: CallContext, p: Params) -> Result:
        if p.get("Sidewalk") is not None:
            raise InvalidInput("Sidewalk: otahub serves LoRaWAN wireless devices only", field="Sidewalk")
        device = self.service.create_device(DeviceRequest(
            DeviceType(p["Type"]), p["DestinationName"], lorawan_from_wire(p.get("LoRaWAN")), p.get("Name"),
            p.get("Description"), p.get("Positioning"), tags_from_wire(p.get("Tags")), p.get("ClientRequestToken")))
        return {"Arn": self.arns.wireless_device(device.device_id), "Id": device.device_id}

    def _device_summary(self, d: WirelessDevice) -> Result:
        return without_none({"Arn": self.arns.wireless_device(d.device_id), "Id": d.device_id, "Type": d.type.value,
                             "Name": d.name, "DestinationName": d.destination_name, "Positioning": d.positioning})

    def get_device(self, ctx: CallContext, p: Params) -> Result:
        d = self.service.get_device(p["Identifier"], p["IdentifierType"])
        return without_none({**self._device_summary(d), "Description": d.description,
                             "ThingName": d.thing_name, "ThingArn": self.arns.thing(d.thing_name) if d.thing_name
                             else None, "LoRaWAN": lorawan_to_wire(d.lorawan)})

    def _listed(self, item: DeviceListing) -> Result:
        return without_none({
            **self._device_summary(item.device), "LoRaWAN": {"DevEui": item.device.lorawan.dev_eui},
            "FuotaDeviceStatus": item.fuota_status.value if item.fuota_status else None,
            "MulticastDeviceStatus": item.multicast_status, "McGroupId": item.mc_group_id,
        })

    def list_devices(self, ctx: CallContext, p: Params) -> Result:
        kind = p.get("WirelessDeviceType")
        where = DeviceFilter(p.get("DestinationName"), p.get("DeviceProfileId"), p.get("ServiceProfileId"),
                             DeviceType(kind) if kind else None, p.get("FuotaTaskId"), p.get("MulticastGroupId"))
        page = self.service.list_devices(where, p.get("NextToken"), p.get("MaxResults"))
        return {"WirelessDeviceList": [self._listed(i) for i in page.items], "NextToken": page.next_token}

    def update_device(self, ctx: CallContext, p: Params) -> Result:
        if p.get("Sidewalk") is not None:
            raise InvalidInput("Sidewalk: otahub serves LoRaWAN wireless devices only", field="Sidewalk")
        self.service.update_device(p["Id"], device_update_from_wire(p))
        return {}

    def delete_device(self, ctx: CallContext, p: Params) -> Result:
        self.service.delete_device(p["Id"])
        return {}

    # --- multicast groups --------------------------------------------------------------------------

    def create_group(self, ctx: CallContext, p: Params) -> Result:
        group = self.service.create_group(GroupRequest(
            group_settings_from_wire(p["LoRaWAN"]) or GroupSettings(), p.get("Name"), p.get("Description"),
            tags_from_wire(p.get("Tags")), p.get("ClientRequestToken")))
        return {"Arn": self.arns.multicast_group(group.group_id), "Id": group.group_id}

    def _group_summary(self, g: MulticastGroup) -> Result:
        return without_none({"Id": g.group_id, "Arn": self.arns.multicast_group(g.group_id), "Name": g.name})

    def get_group(self, ctx: CallContext, p: Params) -> Result:
        view: GroupView = self.service.get_group(p["Id"])
        g = view.group
        lorawan = {**group_lorawan_to_wire(g), "NumberOfDevicesRequested": view.requested,
                   "NumberOfDevicesInGroup": view.in_group}
        return without_none({**self._group_summary(g), "Description": g.description, "Status": g.status.value,
                             "LoRaWAN": lorawan, "CreatedAt": g.created_at})

    def list_groups(self, ctx: CallContext, p: Params) -> Result:
        page = self.service.list_groups(p.get("NextToken"), p.get("MaxResults"))
        return {"MulticastGroupList": [self._group_summary(g) for g in page.items], "NextToken": page.next_token}

    def update_group(self, ctx: CallContext, p: Params) -> Result:
        self.service.update_group(p["Id"], p.get("Name"), p.get("Description"),
                                  group_settings_from_wire(p.get("LoRaWAN")))
        return {}

    def delete_group(self, ctx: CallContext, p: Params) -> Result:
        self.service.delete_group(p["Id"])
        return {}

    def associate_device(self, ctx: CallContext, p: Params) -> Result:
        self.service.associate_device(p["Id"], p["WirelessDeviceId"])
        return {}

    def disassociate_device(self, ctx: CallContext, p: Params) -> Result:
        self.service.disassociate_device(p["Id"], p["WirelessDeviceId"])
        return {}

    def start_session(self, ctx: CallContext, p: Params) -> Result:
        self.service.start_session(p["Id"], session_from_wire(p["LoRaWAN"]))
        return {}

    def get_session(self, ctx: CallContext, p: Params) -> Result:
        session = self.service.get_session(p["Id"])
        return {"LoRaWAN": {} if session is None else session_to_wire(session)}

    def cancel_session(self, ctx: CallContext, p: Params) -> Result:
        self.service.cancel_session(p["Id"])
        return {}

    # --- tags --------------------------------------------------------------------------------------

    def tag_resource(self, ctx: CallContext, p: Params) -> Result:
        self.tags.tag(p["ResourceArn"], tags_from_wire(p["Tags"]))
        return {}

    def untag_resource(self, ctx: CallContext, p: Params) -> Result:
        self.tags.untag(p["ResourceArn"], p["TagKeys"])
        return {}

    def list_tags_for_resource(self, ctx: CallContext, p: Params) -> Result:
        return {"Tags": tags_to_wire(self.tags.list(p["ResourceArn"]))}
