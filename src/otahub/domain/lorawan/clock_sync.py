"""TS003 Application Layer Clock Synchronization commands (default FPort 202), and GPS time.

PackageVersion 1 and 2 share these layouts [LoRaMac-node ``LmhpClockSync.c``, LBM ``lorawan_alcsync_v1/v2``
(same command sizes), brocaar ``applayer/clocksync``]. Times are GPS-epoch seconds modulo 2**32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from otahub.domain.lorawan.commands import (
    S32,
    U3,
    U4,
    U32,
    Command,
    CommandTable,
    PackageVersionAns,
    PackageVersionReq,
    Reader,
    bit,
    le,
)

PORT = 202
PACKAGE_IDENTIFIER = 1
#: 1980-01-06T00:00:00Z, the GPS epoch, in Unix seconds.
GPS_EPOCH_UNIX = 315_964_800
#: GPS - UTC since 2017-01-01 (no leap second announced since).
GPS_LEAP_SECONDS = 18


def gps_time(unix_seconds: float, leap_seconds: int = GPS_LEAP_SECONDS) -> int:
    """GPS-epoch seconds mod 2**32 for a Unix timestamp (what SessionTime and DeviceTime carry)."""
    return (int(unix_seconds) - GPS_EPOCH_UNIX + leap_seconds) % (1 << 32)


def unix_time(gps_seconds: int, leap_seconds: int = GPS_LEAP_SECONDS) -> int:
    """The Unix timestamp of a GPS-epoch second count (before the 2**32 wrap in 2116)."""
    return gps_seconds + GPS_EPOCH_UNIX - leap_seconds


@dataclass(frozen=True)
class AppTimeReq(Command):
    """↑ DeviceTime(4) | Param(bits3:0 TokenReq, bit4 AnsRequired: answer even if the clock is right)."""

    CID: ClassVar[int] = 0x01
    device_time: U32
    token_req: U4
    ans_required: bool = False

    def payload(self) -> bytes:
        return le(self.device_time, 4) + bytes([self.ans_required << 4 | self.token_req])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        device_time, param = reader.u32(), reader.u8()
        return cls(device_time, param & 0x0F, bit(param, 4))


@dataclass(frozen=True)
class AppTimeAns(Command):
    """↓ TimeCorrection(4, signed s: network GPS time at reception - DeviceTime) | Param(bits3:0 TokenAns)."""

    CID: ClassVar[int] = 0x01
    time_correction: S32
    token_ans: U4

    def payload(self) -> bytes:
        return le(self.time_correction, 4, signed=True) + bytes([self.token_ans])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.s32(), reader.u8() & 0x0F)


@dataclass(frozen=True)
class DeviceAppTimePeriodicityReq(Command):
    """↓ Ask the device to send AppTimeReq every 128 * 2**period seconds."""

    CID: ClassVar[int] = 0x02
    period: U4

    @property
    def interval_s(self) -> int:
        return 128 << self.period

    def payload(self) -> bytes:
        return bytes([self.period])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8() & 0x0F)


@dataclass(frozen=True)
class DeviceAppTimePeriodicityAns(Command):
    """↑ Status(bit0 NotSupported) | Time(4): the device clock just before sending."""

    CID: ClassVar[int] = 0x02
    time: U32
    not_supported: bool = False

    def payload(self) -> bytes:
        return bytes([int(self.not_supported)]) + le(self.time, 4)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        status = reader.u8()
        return cls(reader.u32(), bit(status, 0))


@dataclass(frozen=True)
class ForceDeviceResyncReq(Command):
    """↓ Make the device send ``nb_transmissions`` AppTimeReq (AnsRequired set) now."""

    CID: ClassVar[int] = 0x03
    nb_transmissions: U3

    def payload(self) -> bytes:
        return bytes([self.nb_transmissions])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8() & 0x07)


_DOWNLINK: CommandTable = {
    kind.CID: kind for kind in (PackageVersionReq, AppTimeAns, DeviceAppTimePeriodicityReq, ForceDeviceResyncReq)
}
_UPLINK: CommandTable = {kind.CID: kind for kind in (PackageVersionAns, AppTimeReq, DeviceAppTimePeriodicityAns)}
DOWNLINK: dict[int, CommandTable] = {1: _DOWNLINK, 2: _DOWNLINK}
UPLINK: dict[int, CommandTable] = {1: _UPLINK, 2: _UPLINK}
