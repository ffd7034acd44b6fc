"""A simulated LoRaWAN network inside otahub: every wireless device the FUOTA engine addresses is backed by a
simulated end device (``domain/lorawan/end_device.py``) with a real application-layer stack.

Staging a scenario with plain boto3, by resource tags on the wireless device:

- ``otahub:simulated-loss`` = a ratio 0..1: the share of DataFragment downlinks the device does not hear.
  Setup, status and clock-sync commands are not lost: a real FUOTA server sends those as confirmed
  downlinks and retries them, so what the tag models is the unconfirmed class C data phase.
- ``otahub:simulated-fault`` = ``corrupt`` (a stored fragment is damaged: the rebuilt block fails its
  MIC), ``no-memory`` (the session is refused), ``v1`` (the device speaks version 1 of the packages),
  ``wrong-descriptor`` (the descriptor is refused), ``silent`` (the device never answers).

Losses are drawn from one seeded generator per device, so a scenario plays the same way every run.
Airtime is not simulated here: the engine paces fragments by the region's data rate and duty cycle
(``domain/lorawan/airtime.py``) and the network delivers what it is given at the time given.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from otahub.domain.lorawan import fragmentation as ts004
from otahub.domain.lorawan.clock_sync import gps_time
from otahub.domain.lorawan.end_device import FAULTS, EndDevice
from otahub.services.lorawan_network import RadioDevice, UplinkHandler

log = logging.getLogger("otahub.lorawan")
LOSS_TAG = "otahub:simulated-loss"
FAULT_TAG = "otahub:simulated-fault"
SILENT = "silent"


@dataclass
class _Simulated:
    device: EndDevice
    loss: float
    silent: bool
    rng: random.Random
    on_uplink: UplinkHandler
    ports: dict[int, int] = field(default_factory=dict)  # its FPort -> the package's default (what the stack speaks)
    heard: int = 0
    missed: int = 0


@dataclass
class SimulatedNetwork:
    seed: int = 0
    devices: dict[str, _Simulated] = field(default_factory=dict)
    downlinks: int = 0

    def prepare(self, devices: Sequence[RadioDevice], on_uplink: UplinkHandler) -> None:
        for radio in devices:
            known = self.devices.get(radio.device_id)
            loss, fault = _loss(radio), radio.tags.get(FAULT_TAG)
            if known is not None and known.device.gen_app_key == radio.root_key:
                known.loss, known.on_uplink = loss, on_uplink  # a device keeps its state between sessions
                known.ports = dict(radio.ports)
                continue
            digest = hashlib.sha256(f"{self.seed}\0{radio.device_id}".encode()).digest()
            stack = EndDevice(radio.dev_eui, radio.root_key, fault=fault if fault in FAULTS else None,
                              clock_offset=int.from_bytes(digest[:2], "big") % 20 - 10, lorawan_1_1=radio.lorawan_1_1)
            self.devices[radio.device_id] = _Simulated(stack, loss, fault == SILENT,
                                                       random.Random(int.from_bytes(digest[2:10], "big")), on_uplink,
                                                       dict(radio.ports))

    def unicast(self, device_id: str, port: int, payload: bytes, at: datetime) -> None:
        simulated = self.devices.get(device_id)
        if simulated is None:
            log.warning("downlink for %s, a device the simulated network does not know", device_id)
            return
        self.downlinks += 1
        self._deliver(device_id, simulated, port, payload, at, multicast=False)

    def multicast(self, mc_addr: int, members: Sequence[str], port: int, payload: bytes, at: datetime,
                  data_rate: int, frequency_hz: int) -> None:
        del data_rate, frequency_hz  # every simulated member listens on its group's channel
        self.downlinks += 1
        for device_id in members:
            simulated = self.devices.get(device_id)
            if simulated is not None and any(g.addr == mc_addr for g in simulated.device.groups.values()):
                self._deliver(device_id, simulated, port, payload, at, multicast=True)

    def _deliver(self, device_id: str, simulated: _Simulated, port: int, payload: bytes, at: datetime, *,
                 multicast: bool) -> None:
        package_port = simulated.ports.get(port, port if not simulated.ports else None)
        if package_port is None:  # not one of the device's FUOTA ports: its stack does not listen there
            return
        if _is_data_fragment(package_port, payload) and simulated.rng.random() < simulated.loss:
            simulated.missed += 1
            return
        simulated.heard += 1
        uplinks = simulated.device.receive(package_port, payload, multicast=multicast,
                                           gps_now=gps_time(at.timestamp()))
        if simulated.silent:
            return
        own = {standard: device_port for device_port, standard in simulated.ports.items()}
        for up_port, up_payload in uplinks:
            simulated.on_uplink(device_id, own.get(up_port, up_port), up_payload, at)


def _loss(radio: RadioDevice) -> float:
    try:
        return min(1.0, max(0.0, float(radio.tags.get(LOSS_TAG, "0"))))
    except ValueError:
        log.warning("%s: %s=%r is not a ratio; no loss", radio.device_id, LOSS_TAG, radio.tags.get(LOSS_TAG))
        return 0.0


def _is_data_fragment(port: int, payload: bytes) -> bool:
    return port == ts004.PORT and payload[:1] == bytes([ts004.DataFragment.CID])
