"""Use cases of FUOTA tasks: the control plane, and what a session engine needs to run them.

The FirmwareUpdateImage is resolved in otahub's object store when the task is made (or its image
changed), to one object version whose bytes the task keeps by digest, so a later session sends exactly
what was resolved. A task reaches devices directly or through multicast groups, never both.

The session engine (a state machine on the injected clock, not part of this module) plugs in through
``sessions_due``/``next_start`` (what to start and when), ``session`` (the task, its image, devices with
their keys, FPorts, tags and statuses, groups with their members), ``mark_in_session``,
``record_device_status`` and ``finish``. Every change goes through the domain's transition table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from otahub.domain.clock import Clock
from otahub.domain.documents import parse_s3_url
from otahub.domain.errors import InvalidInput, InvalidState, NotFound
from otahub.domain.fuota import (
    FirmwareImage,
    FuotaDeviceStatus,
    FuotaSettings,
    FuotaTask,
    FuotaTaskStatus,
    check_fragment_size,
    check_image_size,
    check_region,
    check_settings,
    start_time,
)
from otahub.domain.ids import Arns, new_uuid
from otahub.domain.objects import BlobRef, Conditions
from otahub.domain.wireless import MulticastGroup, WirelessDevice, check_tags, fingerprint, replayed
from otahub.services.pagination import Page, paginate
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory
from otahub.services.streams import ObjectLookup
from otahub.services.wireless import find_device, find_group
from otahub.services.wireless_ports import Member

ON_AIR = (FuotaTaskStatus.SESSION_WAITING, FuotaTaskStatus.IN_SESSION)


@dataclass(frozen=True, slots=True)
class FuotaTaskRequest:
    image: str  # FirmwareUpdateImage: an S3 URI in otahub's object store
    settings: FuotaSettings = field(default_factory=FuotaSettings)
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class SessionDevice:
    device: WirelessDevice
    tags: Mapping[str, str]  # otahub:simulated-loss / -fault stage a simulated device's behaviour
    status: FuotaDeviceStatus
    group_id: str | None  # the multicast group the device is reached through; None: unicast


@dataclass(frozen=True, slots=True)
class SessionGroup:
    group: MulticastGroup
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class FuotaSession:
    """Everything a session engine reads of one task."""

    task: FuotaTask
    image: BlobRef  # the resolved image's bytes in the blob store
    devices: tuple[SessionDevice, ...]
    groups: tuple[SessionGroup, ...]


class FuotaService:
    def __init__(self, uow: UnitOfWorkFactory, objects: ObjectLookup, clock: Clock, arns: Arns) -> None:
        self.uow = uow
        self.objects = objects
        self.clock = clock
        self.arns = arns

    # --- the control plane -----------------------------------------------------------------------

    def create(self, request: FuotaTaskRequest) -> FuotaTask:
        check_tags(request.tags)
        check_settings(request.settings)
        request_hash = fingerprint(replace(request, client_token=None))
        with self.uow() as tx:
            found = self._replay(tx, request, request_hash)
        if found is not None:
            return found
        image = self._resolve(request.image)
        now = self.clock.now()
        with self.uow(write=True) as tx:
            found = self._replay(tx, request, request_hash)  # a concurrent replay may have won the race
            if found is not None:
                return found
            task = FuotaTask(new_uuid(), request.settings, image, FuotaTaskStatus.PENDING, now, now,
                             client_token=request.client_token, request_hash=request_hash)
            tx.fuota_tasks.add(task)
            tx.tags.put(self.arns.fuota_task(task.task_id), dict(request.tags))
            return task

    def _replay(self, tx: UnitOfWork, request: FuotaTaskRequest, request_hash: str) -> FuotaTask | None:
        if request.client_token is None:
            return None
        return replayed(tx.fuota_tasks.by_token(request.client_token), request_hash, "CreateFuotaTask")

    def _resolve(self, uri: str) -> FirmwareImage:
        ref = parse_s3_url(uri, field="FirmwareUpdateImage")
        try:
            version = self.objects.head_object(ref.bucket, ref.key, ref.version, Conditions())
        except NotFound as exc:
            raise _unresolved(uri, exc.message) from exc
        if version.blob is None:
            raise _unresolved(uri, "it is a delete marker")
        check_image_size(uri, version.blob.size)
        return FirmwareImage(uri, ref.bucket, ref.key, version.version_id, version.blob.size, version.blob.sha256)

    def get(self, task_id: str) -> FuotaTask:
        with self.uow() as tx:
            return _task(tx, task_id)

    def list_tasks(self, token: str | None, max_results: int | None) -> Page[FuotaTask]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.fuota_tasks.page(after, n), token, max_results, "fuota-tasks")

    def update(self, task_id: str, image: str | None, change: FuotaSettings) -> FuotaTask:
        check_settings(change)
        resolved = None if image is None else self._resolve(image)
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            task.require_pending("be updated")
            settings = task.settings.merged(change)
            for group in self._groups(tx, task_id):
                check_region(settings, group.rf_region, group.group_id)
            updated = replace(task, settings=settings, image=resolved or task.image, updated_at=self.clock.now())
            tx.fuota_tasks.save(updated)
        if resolved is not None:
            self.objects.collect([_blob(task.image)])  # bytes only the old image referred to
        return updated

    def delete(self, task_id: str) -> None:
        """Gone at once unless a session is on the air: then Delete_Waiting until the engine lets go."""
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            if task.status is FuotaTaskStatus.DELETE_WAITING:
                return
            if task.status.on_air:
                tx.fuota_tasks.save(task.moved(FuotaTaskStatus.DELETE_WAITING, self.clock.now()))
                return
            self._remove(tx, task)
        self.objects.collect([_blob(task.image)])

    def _remove(self, tx: UnitOfWork, task: FuotaTask) -> None:
        tx.fuota_tasks.delete(task.task_id)
        tx.tags.drop(self.arns.fuota_task(task.task_id))

    def start(self, task_id: str, requested: datetime | None) -> FuotaTask:
        """FuotaSession_Waiting until StartTime; devices another task on the air reaches are marked so."""
        now = self.clock.now()
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            task.require_pending("be started")
            devices = tx.fuota_tasks.device_ids(task_id)
            if not devices:
                raise InvalidState(f"FUOTA task {task_id} has no wireless devices or multicast groups with devices")
            for group in self._groups(tx, task_id):
                check_fragment_size(task.settings, group.rf_region, group.dl_dr, group.group_id)
            started = replace(task.moved(FuotaTaskStatus.SESSION_WAITING, now), start_time=start_time(requested, now))
            tx.fuota_tasks.save(started)
            busy = tx.fuota_tasks.busy_devices(devices, other_than=task_id)
            tx.fuota_tasks.set_device_statuses(
                task_id, dict.fromkeys(busy, FuotaDeviceStatus.DEVICE_EXIST_IN_CONFLICT_FUOTA_TASK), now)
            return started

    def associate_device(self, task_id: str, device_id: str) -> None:
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            task.require_pending("change its devices")
            find_device(tx, device_id).lorawan.check_fuota_ready(device_id)
            if tx.fuota_tasks.group_ids(task_id):
                raise InvalidState(f"FUOTA task {task_id} reaches its devices through multicast groups; it cannot "
                                   "also have wireless devices of its own")
            tx.fuota_tasks.add_device(task_id, device_id, self.clock.now())

    def disassociate_device(self, task_id: str, device_id: str) -> None:
        with self.uow(write=True) as tx:
            _task(tx, task_id).require_pending("change its devices")
            find_device(tx, device_id)
            if not tx.fuota_tasks.remove_device(task_id, device_id):
                raise NotFound("WirelessDevice", f"{device_id} in FUOTA task {task_id}")

    def associate_group(self, task_id: str, group_id: str) -> None:
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            task.require_pending("change its multicast groups")
            group = find_group(tx, group_id)
            check_region(task.settings, group.rf_region, group_id)
            if tx.fuota_tasks.has_direct_devices(task_id):
                raise InvalidState(f"FUOTA task {task_id} has wireless devices of its own; it cannot also reach "
                                   "devices through multicast groups")
            if group_id not in tx.fuota_tasks.group_ids(task_id):
                tx.fuota_tasks.add_group(task_id, group_id)

    def disassociate_group(self, task_id: str, group_id: str) -> None:
        with self.uow(write=True) as tx:
            _task(tx, task_id).require_pending("change its multicast groups")
            find_group(tx, group_id)
            if not tx.fuota_tasks.remove_group(task_id, group_id):
                raise NotFound("MulticastGroup", f"{group_id} in FUOTA task {task_id}")

    def list_groups(self, task_id: str, token: str | None, max_results: int | None) -> Page[str]:
        with self.uow() as tx:
            _task(tx, task_id)
            return paginate(lambda after, n: tx.fuota_tasks.groups_page(task_id, after, n), token, max_results,
                            "fuota-task-groups", task_id)

    def _groups(self, tx: UnitOfWork, task_id: str) -> list[MulticastGroup]:
        return [g for g in (tx.multicast_groups.get(i) for i in tx.fuota_tasks.group_ids(task_id)) if g is not None]

    # --- what a session engine calls ---------------------------------------------------------------

    def sessions_due(self, now: datetime) -> list[FuotaTask]:
        """Tasks waiting for a session whose StartTime has come, earliest first."""
        with self.uow() as tx:
            waiting = tx.fuota_tasks.with_status([FuotaTaskStatus.SESSION_WAITING])
        due = [t for t in waiting if t.start_time is not None and t.start_time <= now]
        return sorted(due, key=lambda t: (t.start_time or now, t.created_at))

    def active(self) -> list[FuotaTask]:
        """Tasks a session engine works on: waiting, in a session, or deleted while on the air."""
        with self.uow() as tx:
            return tx.fuota_tasks.with_status([*ON_AIR, FuotaTaskStatus.DELETE_WAITING])

    def next_start(self) -> datetime | None:
        """The earliest StartTime of a waiting task (what a virtual clock should stop at)."""
        with self.uow() as tx:
            waiting = tx.fuota_tasks.with_status([FuotaTaskStatus.SESSION_WAITING])
        return min((t.start_time for t in waiting if t.start_time is not None), default=None)

    def session(self, task_id: str) -> FuotaSession:
        with self.uow() as tx:
            task = _task(tx, task_id)
            statuses = tx.fuota_tasks.device_statuses(task_id)
            groups = tuple(SessionGroup(g, tuple(tx.multicast_groups.members(g.group_id)))
                           for g in self._groups(tx, task_id))
            via = {m.device_id: sg.group.group_id for sg in groups for m in sg.members}
            devices = tuple(
                SessionDevice(d, tx.tags.get(self.arns.wireless_device(d.device_id)),
                              statuses.get(d.device_id, FuotaDeviceStatus.INITIAL), via.get(d.device_id))
                for d in tx.wireless_devices.many(tx.fuota_tasks.device_ids(task_id))
            )
            return FuotaSession(task, _blob(task.image), devices, groups)

    def mark_in_session(self, task_id: str) -> FuotaTask:
        """FuotaSession_Waiting -> In_FuotaSession: set-up is done, fragments go on the air."""
        with self.uow(write=True) as tx:
            task = _task(tx, task_id).moved(FuotaTaskStatus.IN_SESSION, self.clock.now())
            tx.fuota_tasks.save(task)
            return task

    def record_device_status(self, task_id: str, statuses: Mapping[str, FuotaDeviceStatus]) -> None:
        """Devices' FuotaDeviceStatus as the session found it (device id -> status), in one transaction."""
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            if not (task.status.on_air or task.status is FuotaTaskStatus.DELETE_WAITING):
                raise InvalidState(f"FUOTA task {task_id} is {task.status.value}: no session reports on it")
            unknown = set(statuses) - set(tx.fuota_tasks.device_ids(task_id))
            if unknown:
                raise NotFound("WirelessDevice", f"{', '.join(sorted(unknown))} in FUOTA task {task_id}")
            tx.fuota_tasks.set_device_statuses(task_id, statuses, self.clock.now())

    def finish(self, task_id: str) -> FuotaTask | None:
        """The session is over: FuotaDone (None: the task was Delete_Waiting and is gone now)."""
        with self.uow(write=True) as tx:
            task = _task(tx, task_id)
            if task.status is not FuotaTaskStatus.DELETE_WAITING:
                done = task.moved(FuotaTaskStatus.DONE, self.clock.now())
                tx.fuota_tasks.save(done)
                return done
            self._remove(tx, task)
        self.objects.collect([_blob(task.image)])
        return None


def _unresolved(uri: str, reason: str) -> InvalidInput:
    return InvalidInput(f"FirmwareUpdateImage: {uri} is not an object in otahub's S3: {reason}",
                        field="FirmwareUpdateImage")


def _blob(image: FirmwareImage) -> BlobRef:
    return BlobRef(image.sha256, image.size, "")


def _task(tx: UnitOfWork, task_id: str) -> FuotaTask:
    task = tx.fuota_tasks.get(task_id)
    if task is None:
        raise NotFound("FuotaTask", task_id)
    return task
