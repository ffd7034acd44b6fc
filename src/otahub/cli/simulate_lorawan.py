"""`otahub simulate-lorawan`: a LoRaWAN FUOTA session over the simulated network, staged with boto3.

It starts an otahub server in this process (a fresh temporary data directory, a virtual clock), creates a
destination, ``--devices`` LoRaWAN devices tagged ``otahub:simulated-loss`` (and a few with faults when
``--faults`` is given), a class C multicast group holding them (or none, with ``--unicast``), uploads an
image and creates, associates and starts a FUOTA task, then moves the clock until the task is FuotaDone and
prints the devices per FuotaDeviceStatus, the session's virtual length and the real time it took.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from otahub.cli.demo import Server, firmware_image
from otahub.domain.lorawan.regions import RfRegion

FAULTS = ("corrupt", "no-memory", "v1")


def _device(wl: Any, destination: str, loss: float, fault: str | None) -> str:
    tags = [{"Key": "otahub:simulated-loss", "Value": f"{loss:g}"}]
    if fault is not None:
        tags.append({"Key": "otahub:simulated-fault", "Value": fault})
    keys = {"AppKey": uuid.uuid4().hex, "AppEui": uuid.uuid4().hex[:16], "GenAppKey": uuid.uuid4().hex}
    created = wl.create_wireless_device(Type="LoRaWAN", DestinationName=destination, Tags=tags,
                                        LoRaWAN={"DevEui": uuid.uuid4().hex[:16], "OtaaV1_0_x": keys})
    return str(created["Id"])


def _server_time(server: Server) -> datetime:
    return datetime.fromisoformat(server.advance(0))


@click.command("simulate-lorawan")
@click.option("--devices", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--loss", default=0.2, show_default=True, type=click.FloatRange(0, 1),
              help="Downlink loss ratio of every device (otahub:simulated-loss).")
@click.option("--redundancy", default=30, show_default=True, type=click.IntRange(0, 100), help="RedundancyPercent.")
@click.option("--image-kib", default=16, show_default=True, type=click.IntRange(1, 1024))
@click.option("--fragment-size", default=200, show_default=True, type=click.IntRange(1, 255),
              help="FragmentSizeBytes (must fit the data rate: --dr).")
@click.option("--region", "rf_region", default="EU868", show_default=True,
              type=click.Choice([r.value for r in RfRegion]))
@click.option("--dr", default=5, show_default=True, type=click.IntRange(0, 15), help="The multicast group's DlDr.")
@click.option("--unicast", is_flag=True, help="Reach each device alone instead of through a multicast group.")
@click.option("--faults", is_flag=True, help="Give three devices a fault each: corrupt, no-memory, v1.")
@click.option("--seed", default=0, show_default=True, type=int)
def simulate_lorawan(devices: int, loss: float, redundancy: int, image_kib: int, fragment_size: int,
                     rf_region: str, dr: int, unicast: bool, faults: bool, seed: int) -> None:
    """Run a FUOTA task over the simulated LoRaWAN network and print each device's FuotaDeviceStatus."""
    scratch = Path(tempfile.mkdtemp(prefix="otahub-lorawan-"))
    server = Server.start(scratch / "data", 0)
    started = time.monotonic()
    try:
        wl, s3 = server.client("iotwireless"), server.client("s3")
        destination = wl.create_destination(Name="simulated", ExpressionType="RuleName", Expression="fuota",
                                            RoleArn="arn:aws:iam::123456789012:role/destination")["Name"]
        chosen = random.Random(seed).sample(range(devices), min(len(FAULTS), devices)) if faults else []
        fault_of = dict(zip(chosen, FAULTS, strict=False))
        ids = [_device(wl, destination, loss, fault_of.get(n)) for n in range(devices)]
        s3.create_bucket(Bucket="lorawan-firmware")
        s3.put_object(Bucket="lorawan-firmware", Key="fw.bin", Body=firmware_image(image_kib * 1024))
        task = wl.create_fuota_task(FirmwareUpdateImage="s3://lorawan-firmware/fw.bin",
                                    FirmwareUpdateRole="arn:aws:iam::123456789012:role/fuota",
                                    LoRaWAN={"RfRegion": rf_region}, RedundancyPercent=redundancy,
                                    FragmentSizeBytes=fragment_size)["Id"]
        if unicast:
            for device_id in ids:
                wl.associate_wireless_device_with_fuota_task(Id=task, WirelessDeviceId=device_id)
        else:
            group = wl.create_multicast_group(LoRaWAN={"RfRegion": rf_region, "DlClass": "ClassC",
                                                       "DefaultSessionParameters": {"DlDr": dr}})["Id"]
            for device_id in ids:
                wl.associate_wireless_device_with_multicast_group(Id=group, WirelessDeviceId=device_id)
            wl.associate_multicast_group_with_fuota_task(Id=task, MulticastGroupId=group)
        begin = _server_time(server) + timedelta(minutes=31)
        wl.start_fuota_task(Id=task, LoRaWAN={"StartTime": begin})
        server.advance(31 * 60)
        status = wl.get_fuota_task(Id=task)["Status"]
        while status != "FuotaDone" and time.monotonic() - started < 300:
            server.advance(600)
            status = wl.get_fuota_task(Id=task)["Status"]
        ended = _server_time(server)
        listed = wl.list_wireless_devices(FuotaTaskId=task, MaxResults=250)["WirelessDeviceList"]
        counts = Counter(entry["FuotaDeviceStatus"] for entry in listed)
        click.echo(f"FUOTA task {task}: {status} ({'unicast' if unicast else f'multicast DR{dr}'}, {rf_region}, "
                   f"{image_kib} KiB in {fragment_size}-byte fragments, {redundancy}% redundancy, {loss:g} loss)")
        for name, count in sorted(counts.items()):
            click.echo(f"  {name:24} {count}")
        click.echo(f"  session ended by {ended - begin} of server time (at most; the clock moves in 10-minute "
                   f"steps), {time.monotonic() - started:.1f} s of real time")
        if status != "FuotaDone":
            raise SystemExit(1)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
