"""The network-server interface the FUOTA session engine talks through (issue 7): downlinks out, uplinks in.

A LoRaWAN network server owns the radio: device sessions, frame counters, MAC commands, gateways, class C
windows. The FUOTA engine only puts application-layer FRMPayloads on an FPort, to one device (unicast,
class A: it goes out in the device's next receive window) or to a multicast group (class C: every member
listening in the session window hears the same frame), and is told of the uplinks devices send back.

Implementations: ``gateway/lorawan/simulated.py`` (a simulated network inside otahub, the one this issue
ships). A ChirpStack v4 or The Things Stack adapter would implement the same three calls with the
server's API (enqueue a device or multicast-group downlink on an FPort) and feed ``on_uplink`` from its
integration (MQTT or webhook uplink events on the FUOTA ports): see docs/lorawan.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RadioDevice:
    """What the engine tells the network of a device it will address (a real network server knows it)."""

    device_id: str
    dev_eui: str
    root_key: bytes  # GenAppKey (LoRaWAN 1.0.x) or AppKey (1.1): TS005 key derivation and the v2 block MIC
    rf_region: str
    tags: Mapping[str, str] = field(default_factory=dict)  # otahub:simulated-* stage a simulated device
    ports: Mapping[int, int] = field(default_factory=dict)  # the device's FPort -> the package's default FPort
    lorawan_1_1: bool = False  # its root key is AppKey, from which McRootKey is derived differently


UplinkHandler = Callable[[str, int, bytes, datetime], None]  # (device id, FPort, FRMPayload, when)


class NetworkServer(Protocol):
    def prepare(self, devices: Sequence[RadioDevice], on_uplink: UplinkHandler) -> None:
        """Devices the engine is about to address, and where their uplinks go."""

    def unicast(self, device_id: str, port: int, payload: bytes, at: datetime) -> None:
        """A downlink to one device (its answer, if any, comes back through ``on_uplink``)."""

    def multicast(self, mc_addr: int, members: Sequence[str], port: int, payload: bytes, at: datetime,
                  data_rate: int, frequency_hz: int) -> None:
        """A class C downlink to a multicast address, heard by the members listening on it."""
