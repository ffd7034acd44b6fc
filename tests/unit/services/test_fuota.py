"""FuotaService's face to a session engine, on SQLite with the real ObjectStore and a FakeClock:
what is due when, the session view (devices, keys, tags, groups), status reports and the end of a task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from otahub.domain.clock import FakeClock
from otahub.domain.errors import InvalidState, NotFound
from otahub.domain.fuota import FuotaDeviceStatus, FuotaSettings, FuotaTaskStatus
from otahub.domain.ids import Arns
from otahub.domain.lorawan.regions import RfRegion
from otahub.domain.wireless import Activation, DeviceKeys, DeviceType, DlClass, ExpressionType, LoRaWANDevice
from otahub.services.fuota import FuotaService, FuotaTaskRequest
from otahub.services.objects import NewObject, ObjectStore
from otahub.services.wireless import DestinationRequest, DeviceRequest, GroupRequest, GroupSettings, WirelessService
from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema

ROLE = "arn:aws:iam::123456789012:role/fuota"
IMAGE = b"firmware 2.0 " * 100


@dataclass
class Setup:
    fuota: FuotaService
    wireless: WirelessService
    objects: ObjectStore
    blobs: LocalBlobStore
    clock: FakeClock


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    clock = FakeClock()
    engine = make_engine(f"sqlite:///{tmp_path / 'otahub.db'}")
    upgrade_schema(engine)
    uow = SqlUnitOfWorkFactory(engine)
    blobs = LocalBlobStore(tmp_path / "blobs")
    objects = ObjectStore(uow, blobs, clock)
    objects.create_bucket("fw-images")
    spool = blobs.spool()
    spool.write(IMAGE)
    objects.put_object("fw-images", "fw.bin", spool.finish(), NewObject())
    arns = Arns("us-east-1", "123456789012")
    wireless = WirelessService(uow, clock, arns)
    wireless.create_destination(DestinationRequest("dest", ExpressionType.RULE_NAME, "rule", ROLE))
    return Setup(FuotaService(uow, objects, clock, arns), wireless, objects, blobs, clock)


def device(s: Setup, n: int, **tags: str) -> str:
    keys = DeviceKeys(Activation.OTAA_V1_0_X, app_key="1" * 32, app_eui="2" * 16, gen_app_key="3" * 32)
    lorawan = LoRaWANDevice(f"{n:016x}", keys)
    return s.wireless.create_device(DeviceRequest(DeviceType.LORAWAN, "dest", lorawan, tags=tags)).device_id


def task(s: Setup, **settings: Any) -> str:
    request = FuotaTaskRequest("s3://fw-images/fw.bin", FuotaSettings(role=ROLE, **settings))
    return s.fuota.create(request).task_id


def test_sessions_come_due_at_their_start_time(setup: Setup) -> None:
    s = setup
    first, second = task(s), task(s)
    for task_id, n in ((first, 1), (second, 2)):
        s.fuota.associate_device(task_id, device(s, n))
    assert s.fuota.next_start() is None and s.fuota.sessions_due(s.clock.now()) == []
    s.fuota.start(second, s.clock.now() + timedelta(hours=2))
    s.fuota.start(first, None)  # 30 minutes from now
    assert s.fuota.next_start() == s.clock.now() + timedelta(minutes=30)
    assert [t.task_id for t in s.fuota.active()] == [first, second]
    assert s.fuota.sessions_due(s.clock.now() + timedelta(minutes=29)) == []
    assert [t.task_id for t in s.fuota.sessions_due(s.clock.now() + timedelta(hours=3))] == [first, second]
    s.fuota.mark_in_session(first)
    assert s.fuota.get(first).status is FuotaTaskStatus.IN_SESSION
    assert [t.task_id for t in s.fuota.sessions_due(s.clock.now() + timedelta(hours=3))] == [second]
    with pytest.raises(InvalidState):
        s.fuota.mark_in_session(first)


def test_the_session_view_has_devices_keys_tags_and_groups(setup: Setup) -> None:
    s = setup
    group_id = s.wireless.create_group(GroupRequest(GroupSettings(RfRegion.EU868, DlClass.CLASS_C))).group_id
    members = [device(s, 10, **{"otahub:simulated-loss": "0.2"}), device(s, 11, **{"otahub:simulated-fault": "v1"})]
    for member in members:
        s.wireless.associate_device(group_id, member)
    task_id = task(s, rf_region=RfRegion.EU868, redundancy_percent=30)
    s.fuota.associate_group(task_id, group_id)
    s.fuota.start(task_id, None)
    session = s.fuota.session(task_id)
    assert session.task.settings.redundancy_percent == 30
    assert (session.image.size, b"".join(s.blobs.read(session.image))) == (len(IMAGE), IMAGE)
    assert [d.device.device_id for d in session.devices] == members
    assert [d.group_id for d in session.devices] == [group_id, group_id]
    assert session.devices[0].tags == {"otahub:simulated-loss": "0.2"}
    assert session.devices[1].device.lorawan.keys.gen_app_key == "3" * 32
    assert session.devices[0].device.lorawan.fports is None  # the engine uses FPorts().effective defaults
    assert [g.group.group_id for g in session.groups] == [group_id]
    assert [(m.device_id, m.mc_group_id) for m in session.groups[0].members] == [(members[0], 1), (members[1], 1)]
    assert {d.status for d in session.devices} == {FuotaDeviceStatus.INITIAL}


def test_device_statuses_and_the_end_of_a_task(setup: Setup) -> None:
    s = setup
    task_id = task(s)
    devices = [device(s, 20 + i) for i in range(3)]
    for device_id in devices:
        s.fuota.associate_device(task_id, device_id)
    with pytest.raises(InvalidState):  # a Pending task has no session to report on
        s.fuota.record_device_status(task_id, {devices[0]: FuotaDeviceStatus.SUCCESSFUL})
    s.fuota.start(task_id, None)
    s.fuota.mark_in_session(task_id)
    s.fuota.record_device_status(task_id, {devices[0]: FuotaDeviceStatus.SUCCESSFUL,
                                           devices[1]: FuotaDeviceStatus.MISSING_FRAG})
    with pytest.raises(NotFound):
        s.fuota.record_device_status(task_id, {"not-in-the-task": FuotaDeviceStatus.SUCCESSFUL})
    statuses = {d.device.device_id: d.status for d in s.fuota.session(task_id).devices}
    assert statuses == {devices[0]: FuotaDeviceStatus.SUCCESSFUL, devices[1]: FuotaDeviceStatus.MISSING_FRAG,
                        devices[2]: FuotaDeviceStatus.INITIAL}
    done = s.fuota.finish(task_id)
    assert done is not None and done.status is FuotaTaskStatus.DONE
    assert s.fuota.active() == []
    with pytest.raises(InvalidState):
        s.fuota.finish(task_id)
    s.fuota.delete(task_id)  # a finished task goes at once
    with pytest.raises(NotFound):
        s.fuota.get(task_id)


def test_a_task_deleted_on_the_air_goes_when_the_engine_finishes_it(setup: Setup) -> None:
    s = setup
    task_id = task(s)
    s.fuota.associate_device(task_id, device(s, 30))
    s.fuota.start(task_id, None)
    s.fuota.delete(task_id)
    assert s.fuota.get(task_id).status is FuotaTaskStatus.DELETE_WAITING
    assert [t.task_id for t in s.fuota.active()] == [task_id]
    assert s.fuota.sessions_due(s.clock.now() + timedelta(days=1)) == []
    assert s.fuota.finish(task_id) is None
    with pytest.raises(NotFound):
        s.fuota.get(task_id)


def test_the_image_outlives_its_s3_object_while_a_task_keeps_it(setup: Setup) -> None:
    s = setup
    task_id = task(s)
    s.objects.delete_object("fw-images", "fw.bin", None)
    image = s.fuota.session(task_id).image
    assert b"".join(s.blobs.read(image)) == IMAGE
    s.fuota.delete(task_id)
    assert not s.blobs.exists(image)
