"""TS005 Remote Multicast Setup commands (default FPort 200). PackageVersion 1 and 2 share every layout
[LoRaMac-node ``LmhpRemoteMcastSetup.c``, LBM ``lorawan_remote_multicast_setup_package_v1/v2``, brocaar
``applayer/multicastsetup``]; the McKey wrapping and multicast session keys are in ``crypto.py``.

McAddr is the multicast DevAddr as an int (it goes on the wire little-endian, like a DevAddr);
SessionTime is GPS-epoch seconds mod 2**32 (``clock_sync.gps_time``); DLFrequency is in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from otahub.domain.lorawan.commands import (
    U2,
    U3,
    U4,
    U32,
    Bytes16,
    Command,
    CommandTable,
    Frequency,
    LorawanCodecError,
    PackageVersionAns,
    PackageVersionReq,
    Reader,
    bit,
    le,
)

PORT = 200
PACKAGE_IDENTIFIER = 2
#: Class B sessions count TimeOut in beacon periods.
BEACON_PERIOD_S = 128


@dataclass(frozen=True)
class McGroupStatusReq(Command):
    """↓ Which of the groups in ``reg_group_mask`` (bit k = group k) does the device have?"""

    CID: ClassVar[int] = 0x01
    reg_group_mask: U4

    def payload(self) -> bytes:
        return bytes([self.reg_group_mask])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8() & 0x0F)


@dataclass(frozen=True)
class McGroup:
    """One answered group of McGroupStatusAns."""

    mc_group_id: U2
    mc_addr: U32


@dataclass(frozen=True)
class McGroupStatusAns(Command):
    """↑ Status(1: bits3:0 AnsGroupMask, bits6:4 NbTotalGroups) then McGroupID(1) McAddr(4) for each group
    set in AnsGroupMask, in the order the device wrote them."""

    CID: ClassVar[int] = 0x01
    ans_group_mask: U4
    nb_total_groups: U3
    groups: tuple[McGroup, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.groups) != self.ans_group_mask.bit_count():
            raise LorawanCodecError("McGroupStatusAns needs one group entry per bit of ans_group_mask")
        for group in self.groups:
            if not isinstance(group, McGroup):
                raise LorawanCodecError("McGroupStatusAns.groups holds McGroup entries")
            if not 0 <= group.mc_group_id < 4 or not 0 <= group.mc_addr < 1 << 32:
                raise LorawanCodecError(f"invalid McGroupStatusAns entry {group!r}")

    def payload(self) -> bytes:
        items = b"".join(bytes([group.mc_group_id]) + le(group.mc_addr, 4) for group in self.groups)
        return bytes([self.nb_total_groups << 4 | self.ans_group_mask]) + items

    @classmethod
    def read(cls, reader: Reader) -> Self:
        status = reader.u8()
        mask = status & 0x0F
        groups = tuple(McGroup(reader.u8() & 0x03, reader.u32()) for _ in range(mask.bit_count()))
        return cls(mask, (status >> 4) & 0x07, groups)


@dataclass(frozen=True)
class McGroupSetupReq(Command):
    """↓ McGroupIDHeader(1) McAddr(4) McKey_encrypted(16) minMcFCount(4) maxMcFCount(4): 29 bytes.

    ``mc_key_encrypted`` is ``crypto.encrypt_mc_key(McKEKey, McKey)``; the device accepts multicast frames
    whose FCnt lies in [min_mc_fcount, max_mc_fcount].
    """

    CID: ClassVar[int] = 0x02
    mc_group_id: U2
    mc_addr: U32
    mc_key_encrypted: Bytes16
    min_mc_fcount: U32
    max_mc_fcount: U32

    def payload(self) -> bytes:
        counts = le(self.min_mc_fcount, 4) + le(self.max_mc_fcount, 4)
        return bytes([self.mc_group_id]) + le(self.mc_addr, 4) + self.mc_key_encrypted + counts

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8() & 0x03, reader.u32(), reader.take(16), reader.u32(), reader.u32())


@dataclass(frozen=True)
class McGroupSetupAns(Command):
    """↑ bits1:0 McGroupID, bit2 IDerror (the device cannot hold that group)."""

    CID: ClassVar[int] = 0x02
    mc_group_id: U2
    id_error: bool = False

    def payload(self) -> bytes:
        return bytes([self.id_error << 2 | self.mc_group_id])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        value = reader.u8()
        return cls(value & 0x03, bit(value, 2))


@dataclass(frozen=True)
class McGroupDeleteReq(Command):
    """↓ Forget group McGroupID."""

    CID: ClassVar[int] = 0x03
    mc_group_id: U2

    def payload(self) -> bytes:
        return bytes([self.mc_group_id])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8() & 0x03)


@dataclass(frozen=True)
class McGroupDeleteAns(Command):
    """↑ bits1:0 McGroupID, bit2 McGroupUndefined."""

    CID: ClassVar[int] = 0x03
    mc_group_id: U2
    mc_group_undefined: bool = False

    def payload(self) -> bytes:
        return bytes([self.mc_group_undefined << 2 | self.mc_group_id])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        value = reader.u8()
        return cls(value & 0x03, bit(value, 2))


@dataclass(frozen=True)
class McClassCSessionReq(Command):
    """↓ McGroupIDHeader(1) SessionTime(4) SessionTimeOut(1) DLFrequency(3) DR(1): 10 bytes.
    The session opens at ``session_time`` (GPS s) and lasts 2**time_out seconds."""

    CID: ClassVar[int] = 0x04
    mc_group_id: U2
    session_time: U32
    time_out: U4
    dl_frequency_hz: Frequency
    dr: U4

    @property
    def duration_s(self) -> int:
        return 1 << self.time_out

    def payload(self) -> bytes:
        head = bytes([self.mc_group_id]) + le(self.session_time, 4) + bytes([self.time_out])
        return head + le(self.dl_frequency_hz // 100, 3) + bytes([self.dr])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        group, session_time, time_out = reader.u8() & 0x03, reader.u32(), reader.u8() & 0x0F
        return cls(group, session_time, time_out, reader.u24() * 100, reader.u8() & 0x0F)


@dataclass(frozen=True)
class McClassBSessionReq(Command):
    """↓ As the class C request, but byte 5 is TimeOutPeriodicity (bits3:0 TimeOut, bits6:4 Periodicity):
    the session lasts 2**time_out beacon periods (128 s) with ping slots every 2**periodicity seconds."""

    CID: ClassVar[int] = 0x05
    mc_group_id: U2
    session_time: U32
    time_out: U4
    periodicity: U3
    dl_frequency_hz: Frequency
    dr: U4

    @property
    def duration_s(self) -> int:
        return (1 << self.time_out) * BEACON_PERIOD_S

    def payload(self) -> bytes:
        head = bytes([self.mc_group_id]) + le(self.session_time, 4) + bytes([self.periodicity << 4 | self.time_out])
        return head + le(self.dl_frequency_hz // 100, 3) + bytes([self.dr])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        group, session_time, timing = reader.u8() & 0x03, reader.u32(), reader.u8()
        return cls(group, session_time, timing & 0x0F, (timing >> 4) & 0x07, reader.u24() * 100, reader.u8() & 0x0F)


@dataclass(frozen=True)
class _SessionAns(Command):
    """Status(1: bits1:0 McGroupID, bit2 DRError, bit3 FreqError, bit4 McGroupUndefined, bit5 StartMissed)
    then TimeToStart(3, seconds) only when no error bit is set."""

    mc_group_id: U2
    time_to_start: int | None = None
    dr_error: bool = False
    freq_error: bool = False
    mc_group_undefined: bool = False
    start_missed: bool = False

    @property
    def accepted(self) -> bool:
        return not (self.dr_error or self.freq_error or self.mc_group_undefined or self.start_missed)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.accepted != (self.time_to_start is not None):
            raise LorawanCodecError(f"{type(self).__name__}.time_to_start is given exactly when no error bit is set")
        if self.time_to_start is not None and (
            isinstance(self.time_to_start, bool)
            or not isinstance(self.time_to_start, int)
            or not 0 <= self.time_to_start < 1 << 24
        ):
            raise LorawanCodecError(f"{type(self).__name__}.time_to_start must fit 24 unsigned bits")

    def payload(self) -> bytes:
        errors = self.dr_error << 2 | self.freq_error << 3 | self.mc_group_undefined << 4 | self.start_missed << 5
        status = bytes([errors | self.mc_group_id])
        return status if self.time_to_start is None else status + le(self.time_to_start, 3)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        status = reader.u8()
        flags = [bit(status, position) for position in range(2, 6)]
        time_to_start = None if any(flags) else reader.u24()
        return cls(status & 0x03, time_to_start, *flags)


@dataclass(frozen=True)
class McClassCSessionAns(_SessionAns):
    """↑ Answer to McClassCSessionReq."""

    CID: ClassVar[int] = 0x04


@dataclass(frozen=True)
class McClassBSessionAns(_SessionAns):
    """↑ Answer to McClassBSessionReq."""

    CID: ClassVar[int] = 0x05


_DOWNLINK: CommandTable = {
    kind.CID: kind
    for kind in (
        PackageVersionReq,
        McGroupStatusReq,
        McGroupSetupReq,
        McGroupDeleteReq,
        McClassCSessionReq,
        McClassBSessionReq,
    )
}
_UPLINK: CommandTable = {
    kind.CID: kind
    for kind in (
        PackageVersionAns,
        McGroupStatusAns,
        McGroupSetupAns,
        McGroupDeleteAns,
        McClassCSessionAns,
        McClassBSessionAns,
    )
}
DOWNLINK: dict[int, CommandTable] = {1: _DOWNLINK, 2: _DOWNLINK}
UPLINK: dict[int, CommandTable] = {1: _UPLINK, 2: _UPLINK}
