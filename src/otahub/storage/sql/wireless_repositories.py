"""IoT Wireless destinations, LoRaWAN devices and multicast groups over SQLAlchemy Core.

Keys, FPorts, group settings and sessions are JSON in the domain's own names, read back by explicit
functions (FUOTA tasks are in fuota_repositories.py). ListWirelessDevices is one query: its task and group
filters are joins that also bring the device's FuotaDeviceStatus, MulticastDeviceStatus and McGroupId.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, insert, select, update
from sqlalchemy.engine import Row

from otahub.domain.fuota import FuotaDeviceStatus
from otahub.domain.lorawan.regions import RfRegion
from otahub.domain.wireless import (
    Activation,
    ApplicationPort,
    Destination,
    DeviceKeys,
    DeviceType,
    DlClass,
    ExpressionType,
    FPorts,
    Gateways,
    LoRaWANDevice,
    MulticastGroup,
    MulticastGroupStatus,
    MulticastSession,
    PositioningPorts,
    SessionDefaults,
    WirelessDevice,
)
from otahub.services.wireless_ports import DeviceFilter, DeviceListing, Member
from otahub.storage.sql.fuota_repositories import task_devices
from otahub.storage.sql.tables import (
    fuota_task_devices,
    multicast_group_devices,
    multicast_groups,
    wireless_destinations,
    wireless_devices,
)

# --- destinations ------------------------------------------------------------------------------------


def _destination(row: Row[Any]) -> Destination:
    return Destination(row.name, ExpressionType(row.expression_type), row.expression, row.description, row.role_arn,
                       row.created_at, row.client_token, row.request_hash)


def _destination_values(d: Destination) -> dict[str, Any]:
    return {"name": d.name, "expression_type": d.expression_type.value, "expression": d.expression,
            "description": d.description, "role_arn": d.role_arn, "client_token": d.client_token,
            "request_hash": d.request_hash, "created_at": d.created_at}


class SqlDestinations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, where: Any) -> Destination | None:
        row = self.conn.execute(select(wireless_destinations).where(where)).first()
        return _destination(row) if row else None

    def get(self, name: str) -> Destination | None:
        return self._one(wireless_destinations.c.name == name)

    def by_token(self, client_token: str) -> Destination | None:
        return self._one(wireless_destinations.c.client_token == client_token)

    def add(self, destination: Destination) -> None:
        self.conn.execute(insert(wireless_destinations).values(**_destination_values(destination)))

    def save(self, destination: Destination) -> None:
        self.conn.execute(update(wireless_destinations).where(wireless_destinations.c.name == destination.name)
                          .values(**_destination_values(destination)))

    def delete(self, name: str) -> None:
        self.conn.execute(delete(wireless_destinations).where(wireless_destinations.c.name == name))

    def page(self, after: int, limit: int) -> list[tuple[int, Destination]]:
        query = (select(wireless_destinations).where(wireless_destinations.c.seq > after)
                 .order_by(wireless_destinations.c.seq).limit(limit))
        return [(row.seq, _destination(row)) for row in self.conn.execute(query)]


# --- wireless devices --------------------------------------------------------------------------------


def _lorawan_json(lorawan: LoRaWANDevice) -> dict[str, Any]:
    keys = asdict(lorawan.keys)
    keys["activation"] = lorawan.keys.activation.value
    return {"dev_eui": lorawan.dev_eui, "device_profile_id": lorawan.device_profile_id,
            "service_profile_id": lorawan.service_profile_id, "keys": keys,
            "fports": None if lorawan.fports is None else asdict(lorawan.fports)}


def _fports(data: Mapping[str, Any] | None) -> FPorts | None:
    if data is None:
        return None
    positioning, applications = data.get("positioning"), data.get("applications")
    return FPorts(
        data.get("fuota"), data.get("multicast"), data.get("clock_sync"),
        None if positioning is None else PositioningPorts(**positioning),
        None if applications is None else tuple(ApplicationPort(**a) for a in applications),
    )


def _lorawan(data: Mapping[str, Any]) -> LoRaWANDevice:
    keys = dict(data["keys"])
    activation = Activation(keys.pop("activation"))
    return LoRaWANDevice(data["dev_eui"], DeviceKeys(activation, **keys), data.get("device_profile_id"),
                         data.get("service_profile_id"), _fports(data.get("fports")))


def _device(row: Row[Any]) -> WirelessDevice:
    return WirelessDevice(row.device_id, DeviceType(row.type), row.name, row.description, row.destination_name,
                          _lorawan(row.lorawan), row.positioning, row.created_at, row.updated_at, row.thing_name,
                          row.client_token, row.request_hash)


def _device_values(d: WirelessDevice) -> dict[str, Any]:
    return {
        "device_id": d.device_id, "type": d.type.value, "name": d.name, "description": d.description,
        "destination_name": d.destination_name, "dev_eui": d.lorawan.dev_eui.lower(),
        "device_profile_id": d.lorawan.device_profile_id, "service_profile_id": d.lorawan.service_profile_id,
        "thing_name": d.thing_name, "positioning": d.positioning, "lorawan": _lorawan_json(d.lorawan),
        "client_token": d.client_token, "request_hash": d.request_hash, "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


class SqlWirelessDevices:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, where: Any) -> WirelessDevice | None:
        row = self.conn.execute(select(wireless_devices).where(where)).first()
        return _device(row) if row else None

    def get(self, device_id: str) -> WirelessDevice | None:
        return self._one(wireless_devices.c.device_id == device_id)

    def by_dev_eui(self, dev_eui: str) -> WirelessDevice | None:
        return self._one(wireless_devices.c.dev_eui == dev_eui.lower())

    def by_thing_name(self, thing_name: str) -> WirelessDevice | None:
        return self._one(wireless_devices.c.thing_name == thing_name)

    def by_token(self, client_token: str) -> WirelessDevice | None:
        return self._one(wireless_devices.c.client_token == client_token)

    def add(self, device: WirelessDevice) -> None:
        self.conn.execute(insert(wireless_devices).values(**_device_values(device)))

    def save(self, device: WirelessDevice) -> None:
        self.conn.execute(update(wireless_devices).where(wireless_devices.c.device_id == device.device_id)
                          .values(**_device_values(device)))

    def delete(self, device_id: str) -> None:
        self.conn.execute(delete(wireless_devices).where(wireless_devices.c.device_id == device_id))

    def uses_destination(self, name: str) -> bool:
        query = select(wireless_devices.c.seq).where(wireless_devices.c.destination_name == name).limit(1)
        return self.conn.execute(query).first() is not None

    def many(self, device_ids: Sequence[str]) -> list[WirelessDevice]:
        if not device_ids:
            return []
        query = (select(wireless_devices).where(wireless_devices.c.device_id.in_(list(device_ids)))
                 .order_by(wireless_devices.c.seq))
        return [_device(row) for row in self.conn.execute(query)]

    def page(self, where: DeviceFilter, after: int, limit: int) -> list[tuple[int, DeviceListing]]:
        query = _filtered(where).where(wireless_devices.c.seq > after).order_by(wireless_devices.c.seq).limit(limit)
        return [(row.seq, _listing(row, where)) for row in self.conn.execute(query)]


def _filtered(where: DeviceFilter) -> Select[Any]:
    d = wireless_devices.c
    query: Select[Any] = select(wireless_devices)
    for column, value in ((d.destination_name, where.destination_name), (d.device_profile_id, where.device_profile_id),
                          (d.service_profile_id, where.service_profile_id),
                          (d.type, where.type.value if where.type else None)):
        if value is not None:
            query = query.where(column == value)
    if where.fuota_task_id is not None:
        query = query.where(d.device_id.in_(task_devices(where.fuota_task_id)))
        statuses = fuota_task_devices.alias("fuota_status")
        query = query.outerjoin(statuses, and_(statuses.c.task_id == where.fuota_task_id,
                                               statuses.c.device_id == d.device_id))
        query = query.add_columns(statuses.c.status.label("fuota_status"))
    if where.multicast_group_id is not None:
        members = multicast_group_devices
        query = query.join(members, and_(members.c.group_id == where.multicast_group_id,
                                         members.c.device_id == d.device_id))
        query = query.add_columns(members.c.status.label("multicast_status"), members.c.mc_group_id)
    return query


def _listing(row: Row[Any], where: DeviceFilter) -> DeviceListing:
    fuota_status = None
    if where.fuota_task_id is not None:
        fuota_status = FuotaDeviceStatus(row.fuota_status) if row.fuota_status else FuotaDeviceStatus.INITIAL
    grouped = where.multicast_group_id is not None
    return DeviceListing(_device(row), fuota_status, row.multicast_status if grouped else None,
                         row.mc_group_id if grouped else None)


# --- multicast groups --------------------------------------------------------------------------------


def _group_values(g: MulticastGroup) -> dict[str, Any]:
    session = None if g.session is None else {**asdict(g.session), "start_time": g.session.start_time.isoformat()}
    return {
        "group_id": g.group_id, "name": g.name, "description": g.description, "rf_region": g.rf_region.value,
        "dl_class": g.dl_class.value, "status": g.status.value, "session": session,
        "settings": {"gateways": None if g.gateways is None else asdict(g.gateways),
                     "defaults": None if g.defaults is None else asdict(g.defaults)},
        "client_token": g.client_token, "request_hash": g.request_hash, "created_at": g.created_at,
        "updated_at": g.updated_at,
    }


def _group(row: Row[Any]) -> MulticastGroup:
    gateways, defaults = row.settings.get("gateways"), row.settings.get("defaults")
    session = None
    if row.session is not None:
        session = MulticastSession(**{**row.session, "start_time": datetime.fromisoformat(row.session["start_time"])})
    return MulticastGroup(
        row.group_id, row.name, row.description, RfRegion(row.rf_region), DlClass(row.dl_class),
        None if gateways is None else Gateways(
            None if gateways["gateway_list"] is None else tuple(gateways["gateway_list"]),
            gateways["transmission_interval"]),
        None if defaults is None else SessionDefaults(**defaults), MulticastGroupStatus(row.status),
        row.created_at, row.updated_at, session, row.client_token, row.request_hash,
    )


def _member(row: Row[Any]) -> Member:
    return Member(row.device_id, row.mc_group_id, row.status, row.joined)


class SqlMulticastGroups:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, where: Any) -> MulticastGroup | None:
        row = self.conn.execute(select(multicast_groups).where(where)).first()
        return _group(row) if row else None

    def get(self, group_id: str) -> MulticastGroup | None:
        return self._one(multicast_groups.c.group_id == group_id)

    def by_token(self, client_token: str) -> MulticastGroup | None:
        return self._one(multicast_groups.c.client_token == client_token)

    def add(self, group: MulticastGroup) -> None:
        self.conn.execute(insert(multicast_groups).values(**_group_values(group)))

    def save(self, group: MulticastGroup) -> None:
        self.conn.execute(update(multicast_groups).where(multicast_groups.c.group_id == group.group_id)
                          .values(**_group_values(group)))

    def delete(self, group_id: str) -> None:
        self.conn.execute(delete(multicast_group_devices).where(multicast_group_devices.c.group_id == group_id))
        self.conn.execute(delete(multicast_groups).where(multicast_groups.c.group_id == group_id))

    def page(self, after: int, limit: int) -> list[tuple[int, MulticastGroup]]:
        query = select(multicast_groups).where(multicast_groups.c.seq > after).order_by(multicast_groups.c.seq)
        return [(row.seq, _group(row)) for row in self.conn.execute(query.limit(limit))]

    def member(self, group_id: str, device_id: str) -> Member | None:
        m = multicast_group_devices.c
        row = self.conn.execute(select(multicast_group_devices)
                                .where(m.group_id == group_id, m.device_id == device_id)).first()
        return _member(row) if row else None

    def members(self, group_id: str) -> list[Member]:
        m = multicast_group_devices.c
        query = (select(multicast_group_devices).join(wireless_devices, wireless_devices.c.device_id == m.device_id)
                 .where(m.group_id == group_id).order_by(wireless_devices.c.seq))
        return [_member(row) for row in self.conn.execute(query)]

    def counts(self, group_id: str) -> tuple[int, int]:
        m = multicast_group_devices.c
        query = select(func.count(), func.count().filter(m.joined.is_(True))).where(m.group_id == group_id)
        requested, joined = self.conn.execute(query).one()
        return int(requested), int(joined or 0)

    def slots_of(self, device_id: str) -> set[int]:
        query = select(multicast_group_devices.c.mc_group_id).where(multicast_group_devices.c.device_id == device_id)
        return set(self.conn.execute(query).scalars())

    def add_member(self, group_id: str, member: Member) -> None:
        self.conn.execute(insert(multicast_group_devices).values(
            group_id=group_id, device_id=member.device_id, mc_group_id=member.mc_group_id, status=member.status,
            joined=member.joined))

    def remove_member(self, group_id: str, device_id: str) -> bool:
        m = multicast_group_devices.c
        result = self.conn.execute(delete(multicast_group_devices).where(m.group_id == group_id,
                                                                         m.device_id == device_id))
        return result.rowcount > 0

    def set_member_status(self, group_id: str, device_id: str, status: str, joined: bool) -> bool:
        m = multicast_group_devices.c
        result = self.conn.execute(update(multicast_group_devices).where(m.group_id == group_id,
                                                                         m.device_id == device_id)
                                   .values(status=status, joined=joined))
        return result.rowcount > 0

    def drop_device(self, device_id: str) -> None:
        self.conn.execute(delete(multicast_group_devices).where(multicast_group_devices.c.device_id == device_id))
