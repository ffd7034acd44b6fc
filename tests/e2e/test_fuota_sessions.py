"""FUOTA sessions end to end: boto3 stages devices (loss and faults by tag), a task is started, the test
moves the clock, and the session engine runs TS003/TS005/TS004 against the simulated network's end devices
until FuotaDone, with each device's FuotaDeviceStatus as its own answers gave it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.jobs_helpers import server_now
from tests.e2e.test_s3 import s3_client
from tests.e2e.wireless_helpers import destination, device, fuota_task, group, listed_devices
from tests.harness import OtahubServer

IMAGE = bytes((i * 131 + i // 251) % 256 for i in range(10 * 1024 + 33))  # 10 KiB and a bit: padding


@pytest.fixture(scope="module")
def vserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    server = OtahubServer(tmp_path_factory.mktemp("otahub-fuota-sessions"), virtual_clock=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wl(vserver: OtahubServer) -> Any:
    return vserver.client("iotwireless")


@pytest.fixture(scope="module")
def image(vserver: OtahubServer) -> str:
    s3 = s3_client(vserver)
    s3.create_bucket(Bucket="fuota-sessions")
    s3.put_object(Bucket="fuota-sessions", Key="fw.bin", Body=IMAGE)
    return "s3://fuota-sessions/fw.bin"


def staged(wl: Any, dest: str, loss: float, fault: str | None = None) -> str:
    tags = [{"Key": "otahub:simulated-loss", "Value": str(loss)}]
    if fault is not None:
        tags.append({"Key": "otahub:simulated-fault", "Value": fault})
    return device(wl, dest, Tags=tags)


def run_session(vserver: OtahubServer, wl: Any, task_id: str, hours: float,
                group_id: str | None = None) -> dict[str, str]:
    wl.start_fuota_task(Id=task_id, LoRaWAN={"StartTime": server_now(vserver) + timedelta(minutes=31)})
    assert wl.get_fuota_task(Id=task_id)["Status"] == "FuotaSession_Waiting"
    vserver.advance_clock(31 * 60 + 25)  # versions and set-up done: the first fragments are on the air
    assert wl.get_fuota_task(Id=task_id)["Status"] == "In_FuotaSession"
    if group_id is not None:
        assert wl.get_multicast_group(Id=group_id)["Status"] == "In_Session"
    vserver.advance_clock(hours * 3600)
    if group_id is not None:
        assert wl.get_multicast_group(Id=group_id)["Status"] == "Pending"  # its class C session ended
    assert wl.get_fuota_task(Id=task_id)["Status"] == "FuotaDone"
    listed = listed_devices(wl, FuotaTaskId=task_id)
    return {device_id: entry["FuotaDeviceStatus"] for device_id, entry in listed.items()}


def test_a_multicast_group_of_fifty_at_fifteen_percent_loss_and_thirty_percent_redundancy(
        vserver: OtahubServer, wl: Any, image: str) -> None:
    dest = destination(wl)
    repairable = [staged(wl, dest, 0.15) for _ in range(46)]
    hopeless = [staged(wl, dest, 0.45) for _ in range(2)]  # 55 % of 30 %-redundant fragments: not enough
    corrupt = staged(wl, dest, 0.0, "corrupt")
    no_memory = staged(wl, dest, 0.0, "no-memory")
    group_id = group(wl, LoRaWAN={"RfRegion": "EU868", "DlClass": "ClassC", "DefaultSessionParameters": {"DlDr": 5}})
    for device_id in [*repairable, *hopeless, corrupt, no_memory]:
        wl.associate_wireless_device_with_multicast_group(Id=group_id, WirelessDeviceId=device_id)
    task_id = fuota_task(wl, image, LoRaWAN={"RfRegion": "EU868"}, RedundancyPercent=30, FragmentSizeBytes=200,
                         FragmentIntervalMS=1000, Descriptor="AQIDBA==")
    wl.associate_multicast_group_with_fuota_task(Id=task_id, MulticastGroupId=group_id)

    statuses = run_session(vserver, wl, task_id, hours=2, group_id=group_id)
    assert len(statuses) == 50
    # The LoRa Alliance code is not MDS: with 52 fragments + 16 coded at 15 % loss, 89 % of loss patterns
    # leave full rank (tests/unit/domain/lorawan prove the device decodes exactly those); the rest miss.
    assert {statuses[d] for d in repairable} <= {"Successful", "MissingFrag"}
    assert sum(statuses[d] == "Successful" for d in repairable) >= 33
    assert {statuses[d] for d in hopeless} == {"MissingFrag"}
    assert statuses[corrupt] == "MICError"
    assert statuses[no_memory] == "Not_enough_memory"
    members = listed_devices(wl, MulticastGroupId=group_id)
    assert len(members) == 50


def test_eleven_unicast_devices_a_v1_device_and_one_on_its_own_ports_among_them(vserver: OtahubServer, wl: Any,
                                                                               image: str) -> None:
    dest = destination(wl)
    clean = [staged(wl, dest, 0.05) for _ in range(8)]
    old_stack = staged(wl, dest, 0.05, "v1")  # answers PackageVersion 1: served v1 layouts and its own matrix
    silent = staged(wl, dest, 0.0, "silent")  # never answers: no package
    own_ports = device(wl, dest, LoRaWAN={"FPorts": {"Fuota": 150, "Multicast": 151, "ClockSync": 152}})
    task_id = fuota_task(wl, image, LoRaWAN={"RfRegion": "US915"}, RedundancyPercent=20, FragmentSizeBytes=50)
    for device_id in [*clean, old_stack, silent, own_ports]:
        wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device_id)

    statuses = run_session(vserver, wl, task_id, hours=3)
    assert {statuses[d] for d in clean} == {"Successful"}
    assert statuses[old_stack] == "Successful"
    assert statuses[silent] == "Package_Not_Supported"
    assert statuses[own_ports] == "Successful"  # spoken to on its own FPorts


def test_a_session_cut_by_a_restart_runs_again_to_fuota_done(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("otahub-fuota-restart")
    first = OtahubServer(data, virtual_clock=True).start()
    try:
        wl = first.client("iotwireless")
        s3 = s3_client(first)
        s3.create_bucket(Bucket="fuota-restart")
        s3.put_object(Bucket="fuota-restart", Key="fw.bin", Body=IMAGE[:2000])
        dest = destination(wl)
        devices = [staged(wl, dest, 0.0) for _ in range(3)]
        task_id = fuota_task(wl, "s3://fuota-restart/fw.bin", LoRaWAN={"RfRegion": "US915"}, RedundancyPercent=10)
        for device_id in devices:
            wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=device_id)
        wl.start_fuota_task(Id=task_id, LoRaWAN={"StartTime": server_now(first) + timedelta(minutes=31)})
        first.advance_clock(31 * 60 + 40)  # set-up done, fragments on the air
        assert wl.get_fuota_task(Id=task_id)["Status"] == "In_FuotaSession"
    finally:
        first.stop()
    second = OtahubServer(data, virtual_clock=True).start()
    try:
        wl = second.client("iotwireless")
        second.advance_clock(3600)
        assert wl.get_fuota_task(Id=task_id)["Status"] == "FuotaDone"
        statuses = {d: e["FuotaDeviceStatus"] for d, e in listed_devices(wl, FuotaTaskId=task_id).items()}
        assert statuses == dict.fromkeys(devices, "Successful")
    finally:
        second.stop()


def test_a_task_deleted_while_waiting_for_its_session_is_gone_at_the_next_tick(vserver: OtahubServer, wl: Any,
                                                                               image: str) -> None:
    dest = destination(wl)
    task_id = fuota_task(wl, image, LoRaWAN={"RfRegion": "EU868"})
    wl.associate_wireless_device_with_fuota_task(Id=task_id, WirelessDeviceId=staged(wl, dest, 0.0))
    wl.start_fuota_task(Id=task_id, LoRaWAN={"StartTime": server_now(vserver) + timedelta(minutes=31)})
    wl.delete_fuota_task(Id=task_id)
    assert wl.get_fuota_task(Id=task_id)["Status"] == "Delete_Waiting"
    vserver.advance_clock(1)
    with pytest.raises(wl.exceptions.ResourceNotFoundException):
        wl.get_fuota_task(Id=task_id)
