"""FUOTA tasks: a firmware image sent over LoRaWAN to wireless devices or multicast groups. Pure Python.

A task moves Pending -> FuotaSession_Waiting (StartFuotaTask: set-up with the devices until StartTime)
-> In_FuotaSession (fragments on the air) -> FuotaDone. Deleting a task that is not on the air removes
it; deleting one in a session makes it Delete_Waiting until the session engine lets go of it. Each
device of a task has a FuotaDeviceStatus, Initial until the session engine reports another.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum

from otahub.domain.errors import InvalidInput, InvalidState
from otahub.domain.lorawan.packages import FuotaDeviceStatus as FuotaDeviceStatus  # one enum for both faces
from otahub.domain.lorawan.regions import RfRegion, region

MAX_IMAGE_SIZE = 1024 * 1024  # AWS IoT Core for LoRaWAN takes firmware files of at most 1 MB
MAX_DESCRIPTOR_BYTES = 4  # FragSessionSetupReq.Descriptor is four octets
START_LEAD = timedelta(minutes=30)  # a session starts at least 30 minutes after StartFuotaTask


class FuotaTaskStatus(StrEnum):
    PENDING = "Pending"
    SESSION_WAITING = "FuotaSession_Waiting"
    IN_SESSION = "In_FuotaSession"
    DONE = "FuotaDone"
    DELETE_WAITING = "Delete_Waiting"

    @property
    def on_air(self) -> bool:
        """Does a session engine work on the task (set-up or fragments)?"""
        return self in (FuotaTaskStatus.SESSION_WAITING, FuotaTaskStatus.IN_SESSION)


TRANSITIONS: dict[FuotaTaskStatus, frozenset[FuotaTaskStatus]] = {
    FuotaTaskStatus.PENDING: frozenset({FuotaTaskStatus.SESSION_WAITING}),
    FuotaTaskStatus.SESSION_WAITING: frozenset({FuotaTaskStatus.IN_SESSION, FuotaTaskStatus.DONE,
                                                FuotaTaskStatus.DELETE_WAITING}),
    FuotaTaskStatus.IN_SESSION: frozenset({FuotaTaskStatus.DONE, FuotaTaskStatus.DELETE_WAITING}),
    FuotaTaskStatus.DONE: frozenset(),
    FuotaTaskStatus.DELETE_WAITING: frozenset(),
}


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """The FirmwareUpdateImage as given, and the object version it resolved to when the task was made."""

    uri: str
    bucket: str
    key: str
    version_id: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class FuotaSettings:
    """What CreateFuotaTask and UpdateFuotaTask set besides the image (None: not given)."""

    name: str | None = None
    description: str | None = None
    rf_region: RfRegion | None = None
    role: str | None = None
    redundancy_percent: int | None = None
    fragment_size: int | None = None
    fragment_interval_ms: int | None = None
    descriptor: str | None = None  # base64, as given

    def merged(self, change: FuotaSettings) -> FuotaSettings:
        """These settings with the members ``change`` gives replacing them."""
        given = {f.name: getattr(change, f.name) for f in fields(change) if getattr(change, f.name) is not None}
        return replace(self, **given)


@dataclass(frozen=True, slots=True)
class FuotaTask:
    task_id: str
    settings: FuotaSettings
    image: FirmwareImage
    status: FuotaTaskStatus
    created_at: datetime
    updated_at: datetime
    start_time: datetime | None = None
    client_token: str | None = None
    request_hash: str | None = None

    def moved(self, status: FuotaTaskStatus, now: datetime) -> FuotaTask:
        if status not in TRANSITIONS[self.status]:
            raise InvalidState(f"FUOTA task {self.task_id} is {self.status.value}; it cannot become {status.value}")
        return replace(self, status=status, updated_at=now)

    def require_pending(self, action: str) -> None:
        """Settings, devices and groups change only before the task is started."""
        if self.status is not FuotaTaskStatus.PENDING:
            raise InvalidState(f"FUOTA task {self.task_id} is {self.status.value}: only a Pending task can "
                               f"{action}")


def check_role(role: str) -> None:
    parts = role.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise InvalidInput(f"FirmwareUpdateRole: {role!r} is not an IAM role ARN (arn:aws:iam::<account>:role/...)",
                           field="FirmwareUpdateRole")


def descriptor_bytes(descriptor: str | None) -> bytes:
    """The FragSessionSetupReq Descriptor: the base64 value's bytes, zero-padded to four."""
    if descriptor is None:
        return bytes(MAX_DESCRIPTOR_BYTES)
    try:
        raw = base64.b64decode(descriptor, validate=True)
    except binascii.Error as exc:
        raise InvalidInput(f"Descriptor: {descriptor!r} is not base64", field="Descriptor") from exc
    if len(raw) > MAX_DESCRIPTOR_BYTES:
        raise InvalidInput(f"Descriptor: {len(raw)} bytes do not fit the 4-byte FragSessionSetupReq descriptor",
                           field="Descriptor")
    return raw.ljust(MAX_DESCRIPTOR_BYTES, b"\0")


def check_settings(settings: FuotaSettings) -> None:
    if settings.role is not None:
        check_role(settings.role)
    descriptor_bytes(settings.descriptor)


def check_image_size(uri: str, size: int) -> None:
    if not 0 < size <= MAX_IMAGE_SIZE:
        raise InvalidInput(f"FirmwareUpdateImage: {uri} is {size} bytes; a FUOTA image has 1 to {MAX_IMAGE_SIZE}",
                           field="FirmwareUpdateImage")


def check_fragment_size(settings: FuotaSettings, group_region: RfRegion, dl_dr: int | None, group_id: str) -> None:
    """FragmentSizeBytes must fit one DataFragment at the group's downlink data rate (its RX2 rate if unset)."""
    if settings.fragment_size is None:
        return
    params = region(group_region)
    dr = params.rx2_data_rate if dl_dr is None else dl_dr
    largest = params.max_fragment_size(dr)
    if settings.fragment_size > largest:
        raise InvalidInput(f"FragmentSizeBytes: {settings.fragment_size} bytes do not fit a DataFragment at DR{dr} "
                           f"of {group_region.value} (multicast group {group_id}), which carries at most {largest}",
                           field="FragmentSizeBytes")


def check_region(settings: FuotaSettings, group_region: RfRegion, group_id: str) -> None:
    if settings.rf_region is not None and settings.rf_region is not group_region:
        raise InvalidInput(f"LoRaWAN.RfRegion: the task's {settings.rf_region.value} is not the "
                           f"{group_region.value} of multicast group {group_id}", field="LoRaWAN.RfRegion")


def start_time(requested: datetime | None, now: datetime) -> datetime:
    """When the session starts: the requested time, at least 30 minutes ahead, or 30 minutes from now."""
    if requested is None:
        return now + START_LEAD
    if requested < now + START_LEAD:
        raise InvalidInput(f"LoRaWAN.StartTime: {requested.isoformat()} is less than 30 minutes from now",
                           field="LoRaWAN.StartTime")
    return requested
