"""Use cases of IoT Wireless destinations, LoRaWAN wireless devices and multicast groups (with their sessions).

Every create takes a ClientRequestToken: replayed with the same parameters it answers what the first
request made, with other parameters it is a ConflictException. A multicast group's members and settings
change only while it is Pending and no FUOTA task on the air uses it. The session engine reports a
member's multicast set-up through ``record_member_status`` and moves a group with ``mark_group``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from otahub.domain.clock import Clock
from otahub.domain.errors import AlreadyExists, Conflict, InvalidInput, InvalidState, NotFound
from otahub.domain.fuota import FuotaTaskStatus, check_region
from otahub.domain.ids import Arns, new_uuid
from otahub.domain.lorawan.regions import RfRegion, region
from otahub.domain.wireless import (
    INITIAL_MEMBER_STATUS,
    MAX_GROUPS_PER_DEVICE,
    Destination,
    DeviceType,
    DeviceUpdate,
    DlClass,
    ExpressionType,
    Gateways,
    LoRaWANDevice,
    MulticastGroup,
    MulticastGroupStatus,
    MulticastSession,
    SessionDefaults,
    WirelessDevice,
    check_expression,
    check_keys,
    check_session,
    check_tags,
    fingerprint,
    replayed,
    updated_device,
)
from otahub.services.pagination import Page, paginate
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory
from otahub.services.wireless_ports import DeviceFilter, DeviceListing, Member


@dataclass(frozen=True, slots=True)
class DestinationRequest:
    name: str
    expression_type: ExpressionType
    expression: str
    role_arn: str
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    type: DeviceType
    destination_name: str
    lorawan: LoRaWANDevice | None
    name: str | None = None
    description: str | None = None
    positioning: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """A multicast group's LoRaWAN settings as CreateMulticastGroup or UpdateMulticastGroup give them."""

    rf_region: RfRegion | None = None
    dl_class: DlClass | None = None
    gateways: Gateways | None = None
    defaults: SessionDefaults | None = None


@dataclass(frozen=True, slots=True)
class GroupRequest:
    settings: GroupSettings
    name: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class GroupView:
    group: MulticastGroup
    requested: int  # NumberOfDevicesRequested: the members
    in_group: int  # NumberOfDevicesInGroup: members whose multicast set-up the session engine confirmed


class DestinationExists(AlreadyExists):
    def __init__(self, name: str, arn: str) -> None:
        super().__init__("Destination", name, name, arn)
        self.message = f"Destination {name} already exists"
        self.args = (self.message,)


class WirelessService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, arns: Arns) -> None:
        self.uow = uow
        self.clock = clock
        self.arns = arns

    # --- destinations ----------------------------------------------------------------------------

    def create_destination(self, request: DestinationRequest) -> Destination:
        check_tags(request.tags)
        check_expression(request.expression_type, request.expression)
        request_hash = fingerprint(replace(request, client_token=None))
        with self.uow(write=True) as tx:
            if request.client_token is not None:
                found = replayed(tx.destinations.by_token(request.client_token), request_hash, "CreateDestination")
                if found is not None:
                    return found
            if tx.destinations.get(request.name) is not None:
                raise DestinationExists(request.name, self.arns.destination(request.name))
            destination = Destination(request.name, request.expression_type, request.expression, request.description,
                                      request.role_arn, self.clock.now(), request.client_token, request_hash)
            tx.destinations.add(destination)
            tx.tags.put(self.arns.destination(request.name), dict(request.tags))
            return destination

    def get_destination(self, name: str) -> Destination:
        with self.uow() as tx:
            return _destination(tx, name)

    def list_destinations(self, token: str | None, max_results: int | None) -> Page[Destination]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.destinations.page(after, n), token, max_results, "destinations")

    def update_destination(self, name: str, expression_type: ExpressionType | None, expression: str | None,
                           description: str | None, role_arn: str | None) -> Destination:
        with self.uow(write=True) as tx:
            current = _destination(tx, name)
            updated = replace(
                current, expression_type=expression_type or current.expression_type,
                expression=current.expression if expression is None else expression,
                description=current.description if description is None else description,
                role_arn=role_arn or current.role_arn,
            )
            check_expression(updated.expression_type, updated.expression)
            tx.destinations.save(updated)
            return updated

    def delete_destination(self, name: str) -> None:
        with self.uow(write=True) as tx:
            _destination(tx, name)
            if tx.wireless_devices.uses_destination(name):
                raise Conflict(f"Destination {name} is the destination of wireless devices; update or delete them "
                               "first", field="Name")
            tx.destinations.delete(name)
            tx.tags.drop(self.arns.destination(name))

    # --- wireless devices ------------------------------------------------------------------------

    def create_device(self, request: DeviceRequest) -> WirelessDevice:
        lorawan = _checked_lorawan(request)
        check_tags(request.tags)
        request_hash = fingerprint(replace(request, client_token=None))
        now = self.clock.now()
        with self.uow(write=True) as tx:
            if request.client_token is not None:
                found = replayed(tx.wireless_devices.by_token(request.client_token), request_hash,
                                 "CreateWirelessDevice")
                if found is not None:
                    return found
            _destination(tx, request.destination_name)
            if tx.wireless_devices.by_dev_eui(lorawan.dev_eui) is not None:
                raise Conflict(f"A wireless device with DevEui {lorawan.dev_eui} already exists",
                               field="LoRaWAN.DevEui")
            device = WirelessDevice(new_uuid(), request.type, request.name, request.description,
                                    request.destination_name, lorawan, request.positioning, now, now,
                                    client_token=request.client_token, request_hash=request_hash)
            tx.wireless_devices.add(device)
            tx.tags.put(self.arns.wireless_device(device.device_id), dict(request.tags))
            return device

    def get_device(self, identifier: str, identifier_type: str) -> WirelessDevice:
        """By WirelessDeviceId, DevEui or ThingName (no Sidewalk device exists here)."""
        with self.uow() as tx:
            found: WirelessDevice | None = None
            if identifier_type == "WirelessDeviceId":
                found = tx.wireless_devices.get(identifier)
            elif identifier_type == "DevEui":
                found = tx.wireless_devices.by_dev_eui(identifier)
            elif identifier_type == "ThingName":
                found = tx.wireless_devices.by_thing_name(identifier)
            if found is None:
                raise NotFound("WirelessDevice", identifier)
            return found

    def list_devices(self, where: DeviceFilter, token: str | None, max_results: int | None) -> Page[DeviceListing]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.wireless_devices.page(where, after, n), token, max_results,
                            "wireless-devices", where)

    def update_device(self, device_id: str, change: DeviceUpdate) -> WirelessDevice:
        with self.uow(write=True) as tx:
            device = find_device(tx, device_id)
            if change.destination_name is not None:
                _destination(tx, change.destination_name)
            updated = updated_device(device, change, self.clock.now())
            tx.wireless_devices.save(updated)
            return updated

    def delete_device(self, device_id: str) -> None:
        """The device leaves its multicast groups and FUOTA tasks as it goes."""
        with self.uow(write=True) as tx:
            find_device(tx, device_id)
            tx.multicast_groups.drop_device(device_id)
            tx.fuota_tasks.drop_device(device_id)
            tx.wireless_devices.delete(device_id)
            tx.tags.drop(self.arns.wireless_device(device_id))

    # --- multicast groups ------------------------------------------------------------------------

    def create_group(self, request: GroupRequest) -> MulticastGroup:
        settings = request.settings
        if settings.rf_region is None or settings.dl_class is None:
            member = "RfRegion" if settings.rf_region is None else "DlClass"
            raise InvalidInput(f"LoRaWAN.{member} is required for a multicast group", field=f"LoRaWAN.{member}")
        _check_defaults(settings.rf_region, settings.defaults)
        check_tags(request.tags)
        request_hash = fingerprint(replace(request, client_token=None))
        now = self.clock.now()
        with self.uow(write=True) as tx:
            if request.client_token is not None:
                found = replayed(tx.multicast_groups.by_token(request.client_token), request_hash,
                                 "CreateMulticastGroup")
                if found is not None:
                    return found
            group = MulticastGroup(new_uuid(), request.name, request.description, settings.rf_region,
                                   settings.dl_class, settings.gateways, settings.defaults,
                                   MulticastGroupStatus.PENDING, now, now, client_token=request.client_token,
                                   request_hash=request_hash)
            tx.multicast_groups.add(group)
            tx.tags.put(self.arns.multicast_group(group.group_id), dict(request.tags))
            return group

    def get_group(self, group_id: str) -> GroupView:
        with self.uow() as tx:
            group = find_group(tx, group_id)
            requested, in_group = tx.multicast_groups.counts(group_id)
            return GroupView(group, requested, in_group)

    def list_groups(self, token: str | None, max_results: int | None) -> Page[MulticastGroup]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.multicast_groups.page(after, n), token, max_results,
                            "multicast-groups")

    def update_group(self, group_id: str, name: str | None, description: str | None,
                     settings: GroupSettings | None) -> MulticastGroup:
        with self.uow(write=True) as tx:
            group = self._changeable(tx, group_id, "be updated")
            if settings is not None:
                rf_region = settings.rf_region or group.rf_region
                defaults = settings.defaults or group.defaults
                _check_defaults(rf_region, defaults)
                for task in tx.fuota_tasks.tasks_of_group(group_id):
                    check_region(task.settings, rf_region, group_id)
                group = replace(group, rf_region=rf_region, dl_class=settings.dl_class or group.dl_class,
                                gateways=settings.gateways or group.gateways, defaults=defaults)
            group = replace(group, name=group.name if name is None else name, updated_at=self.clock.now(),
                            description=group.description if description is None else description)
            tx.multicast_groups.save(group)
            return group

    def delete_group(self, group_id: str) -> None:
        with self.uow(write=True) as tx:
            find_group(tx, group_id)
            using = [t.task_id for t in tx.fuota_tasks.tasks_of_group(group_id) if t.status is not FuotaTaskStatus.DONE]
            if using:
                raise Conflict(f"Multicast group {group_id} is used by the FUOTA task(s) {', '.join(using)}",
                               field="Id")
            for task in tx.fuota_tasks.tasks_of_group(group_id):
                tx.fuota_tasks.remove_group(task.task_id, group_id)
            tx.multicast_groups.delete(group_id)
            tx.tags.drop(self.arns.multicast_group(group_id))

    def associate_device(self, group_id: str, device_id: str) -> None:
        with self.uow(write=True) as tx:
            self._changeable(tx, group_id, "change its devices")
            device = find_device(tx, device_id)
            device.lorawan.check_fuota_ready(device_id)
            if tx.multicast_groups.member(group_id, device_id) is not None:
                return
            free = sorted(set(range(1, MAX_GROUPS_PER_DEVICE + 1)) - tx.multicast_groups.slots_of(device_id))
            if not free:
                raise Conflict(f"Wireless device {device_id} is already in {MAX_GROUPS_PER_DEVICE} multicast groups, "
                               "the most a LoRaWAN device holds", field="WirelessDeviceId")
            tx.multicast_groups.add_member(group_id, Member(device_id, free[0], INITIAL_MEMBER_STATUS, False))

    def disassociate_device(self, group_id: str, device_id: str) -> None:
        with self.uow(write=True) as tx:
            self._changeable(tx, group_id, "change its devices")
            find_device(tx, device_id)
            if not tx.multicast_groups.remove_member(group_id, device_id):
                raise NotFound("WirelessDevice", f"{device_id} in multicast group {group_id}")

    def start_session(self, group_id: str, session: MulticastSession) -> MulticastGroup:
        now = self.clock.now()
        with self.uow(write=True) as tx:
            group = self._changeable(tx, group_id, "start a session")
            if tx.multicast_groups.counts(group_id)[0] == 0:
                raise InvalidState(f"Multicast group {group_id} has no devices to hold a session with")
            kept = check_session(group, session, now)
            if kept.dl_dr is not None:
                _check_data_rate(group.rf_region, kept.dl_dr, "LoRaWAN.DlDr")
            group = replace(group, session=kept, status=MulticastGroupStatus.SESSION_ATTEMPTING, updated_at=now)
            tx.multicast_groups.save(group)
            return group

    def get_session(self, group_id: str) -> MulticastSession | None:
        with self.uow() as tx:
            return find_group(tx, group_id).session

    def cancel_session(self, group_id: str) -> None:
        with self.uow(write=True) as tx:
            group = find_group(tx, group_id)
            if group.session is None:
                raise InvalidState(f"Multicast group {group_id} has no session to cancel")
            tx.multicast_groups.save(replace(group, session=None, status=MulticastGroupStatus.PENDING,
                                             updated_at=self.clock.now()))

    # --- what the session engine reports ---------------------------------------------------------

    def members(self, group_id: str) -> list[Member]:
        with self.uow() as tx:
            find_group(tx, group_id)
            return tx.multicast_groups.members(group_id)

    def record_member_status(self, group_id: str, statuses: Mapping[str, tuple[str, bool]]) -> None:
        """Each member's MulticastDeviceStatus and whether the group is set up on it (device id -> both)."""
        with self.uow(write=True) as tx:
            find_group(tx, group_id)
            for device_id, (status, joined) in statuses.items():
                if not tx.multicast_groups.set_member_status(group_id, device_id, status, joined):
                    raise NotFound("WirelessDevice", f"{device_id} in multicast group {group_id}")

    def mark_group(self, group_id: str, status: MulticastGroupStatus) -> MulticastGroup:
        """The group's status as its session goes (In_Session at the start time; Pending when it ends)."""
        with self.uow(write=True) as tx:
            group = replace(find_group(tx, group_id), status=status, updated_at=self.clock.now())
            if status is MulticastGroupStatus.PENDING:
                group = replace(group, session=None)
            tx.multicast_groups.save(group)
            return group

    def _changeable(self, tx: UnitOfWork, group_id: str, action: str) -> MulticastGroup:
        group = find_group(tx, group_id)
        if group.status is not MulticastGroupStatus.PENDING:
            raise InvalidState(f"Multicast group {group_id} is {group.status.value}: only a Pending group can {action}")
        busy = [t.task_id for t in tx.fuota_tasks.tasks_of_group(group_id) if t.status.on_air]
        if busy:
            raise InvalidState(f"Multicast group {group_id} is in the FUOTA session of task(s) {', '.join(busy)}: "
                               f"it cannot {action}")
        return group


def _checked_lorawan(request: DeviceRequest) -> LoRaWANDevice:
    if request.type is not DeviceType.LORAWAN:
        raise InvalidInput(f"Type: otahub serves LoRaWAN wireless devices, not {request.type.value}", field="Type")
    if request.lorawan is None:
        raise InvalidInput("LoRaWAN is required for a LoRaWAN wireless device", field="LoRaWAN")
    check_keys(request.lorawan.keys)
    if request.lorawan.fports is not None:
        request.lorawan.fports.check()
    return request.lorawan


def _check_defaults(rf_region: RfRegion, defaults: SessionDefaults | None) -> None:
    if defaults is not None and defaults.dl_dr is not None:
        _check_data_rate(rf_region, defaults.dl_dr, "LoRaWAN.DefaultSessionParameters.DlDr")


def _check_data_rate(rf_region: RfRegion, dl_dr: int, path: str) -> None:
    if dl_dr not in region(rf_region).data_rates:
        raise InvalidInput(f"{path}: DR{dl_dr} is not a downlink data rate of {rf_region.value}", field=path)


def _destination(tx: UnitOfWork, name: str) -> Destination:
    destination = tx.destinations.get(name)
    if destination is None:
        raise NotFound("Destination", name)
    return destination


def find_device(tx: UnitOfWork, device_id: str) -> WirelessDevice:
    device = tx.wireless_devices.get(device_id)
    if device is None:
        raise NotFound("WirelessDevice", device_id)
    return device


def find_group(tx: UnitOfWork, group_id: str) -> MulticastGroup:
    group = tx.multicast_groups.get(group_id)
    if group is None:
        raise NotFound("MulticastGroup", group_id)
    return group

