"""The FUOTA session engine with the simulated network, on SQLite and a FakeClock: group members of both
LoRaWAN versions end up holding the same McKey (each decrypts it with its own McKEKey: from GenAppKey on
1.0.x, from AppKey on 1.1), and the session ends with both Successful."""

from __future__ import annotations

from datetime import timedelta

from otahub.domain.fuota import FuotaDeviceStatus, FuotaTaskStatus
from otahub.domain.lorawan.regions import RfRegion
from otahub.domain.wireless import Activation, DeviceKeys, DeviceType, DlClass, LoRaWANDevice
from otahub.gateway.lorawan.simulated import SimulatedNetwork
from otahub.services.fuota_engine import FuotaEngine
from otahub.services.wireless import DeviceRequest, GroupRequest, GroupSettings
from tests.unit.services.test_fuota import Setup, setup, task

__all__ = ["setup"]  # fixture


def lorawan_device(s: Setup, n: int, keys: DeviceKeys) -> str:
    request = DeviceRequest(DeviceType.LORAWAN, "dest", LoRaWANDevice(f"{n:016x}", keys))
    return s.wireless.create_device(request).device_id


def test_members_of_both_versions_hold_the_groups_key_and_rebuild_the_image(setup: Setup) -> None:
    s = setup
    old = lorawan_device(s, 1, DeviceKeys(Activation.OTAA_V1_0_X, app_key="1" * 32, app_eui="2" * 16,
                                          gen_app_key="3" * 32))
    new = lorawan_device(s, 2, DeviceKeys(Activation.OTAA_V1_1, app_key="4" * 32, nwk_key="5" * 32,
                                          join_eui="6" * 16))
    group_id = s.wireless.create_group(GroupRequest(GroupSettings(RfRegion.EU868, DlClass.CLASS_C))).group_id
    for member in (old, new):
        s.wireless.associate_device(group_id, member)
    task_id = task(s, rf_region=RfRegion.EU868, fragment_size=40, redundancy_percent=10)
    s.fuota.associate_group(task_id, group_id)
    s.fuota.start(task_id, None)
    network = SimulatedNetwork()
    engine = FuotaEngine(s.fuota, s.wireless, network, lambda ref: b"".join(s.blobs.read(ref)), s.clock)

    s.clock.advance(timedelta(minutes=31))
    steps = 0
    for steps in range(1, 10_000):  # what TimeDriver does: tick, then jump to the next due moment
        engine.tick()
        due = engine.next_due()
        if due is None or s.fuota.get(task_id).status is FuotaTaskStatus.DONE:
            break
        assert due > s.clock.now(), f"step {steps}: the engine says it is due at {due}, not after now"
        s.clock.advance(due - s.clock.now())
    assert s.fuota.get(task_id).status is FuotaTaskStatus.DONE
    (old_group,) = network.devices[old].device.groups.values()
    (new_group,) = network.devices[new].device.groups.values()
    assert old_group.key == new_group.key and old_group.addr == new_group.addr
    statuses = s.fuota.session(task_id)
    assert {d.device.device_id: d.status for d in statuses.devices} == {
        old: FuotaDeviceStatus.SUCCESSFUL, new: FuotaDeviceStatus.SUCCESSFUL}
    assert network.devices[old].device.image == network.devices[new].device.image is not None


def test_a_session_whose_image_is_gone_from_disk_ends_the_task_and_the_clock_moves_on(setup: Setup) -> None:
    s = setup
    device_id = lorawan_device(s, 3, DeviceKeys(Activation.OTAA_V1_0_X, app_key="1" * 32, app_eui="2" * 16,
                                                gen_app_key="3" * 32))
    task_id = task(s, rf_region=RfRegion.EU868)
    s.fuota.associate_device(task_id, device_id)
    s.fuota.start(task_id, None)
    for blob in s.blobs.objects.rglob("*"):  # the disk lost the image's bytes
        if blob.is_file():
            blob.unlink()
    engine = FuotaEngine(s.fuota, s.wireless, SimulatedNetwork(), lambda ref: b"".join(s.blobs.read(ref)), s.clock)
    s.clock.advance(timedelta(minutes=31))
    engine.tick()  # does not raise: a tick that failed would fail every tick after it
    assert s.fuota.get(task_id).status is FuotaTaskStatus.DONE
    assert engine.next_due() is None
