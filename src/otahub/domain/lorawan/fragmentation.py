"""TS004 Fragmented Data Block Transport commands (default FPort 201), PackageVersion 1 and 2.

v2 is not wire-compatible with v1: FragSessionSetupReq grows from 10 to 16 bytes (SessionCnt, MIC),
FragSessionStatusAns moves its Status byte first and gains MICError/SessionDoesNotExist, and v2 adds
FragDataBlockReceivedReq/Ans (CID 0x04). Those get one class per version (``...V1``/``...V2``); commands
whose layout is shared are one class. Layouts follow LoRaMac-node ``LmhpFragmentation.c`` (v1), LoRa
Basics Modem ``lorawan_fragmentation_package_v2.0.0.c`` (v2) and brocaar/lorawan ``applayer/fragmentation``.

The FEC that builds coded fragments and the v2 data-block MIC live in ``fec.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from otahub.domain.lorawan.commands import (
    U2,
    U3,
    U4,
    U8,
    U14,
    U16,
    Bytes4,
    Command,
    CommandTable,
    LorawanCodecError,
    PackageVersionAns,
    PackageVersionReq,
    Reader,
    bit,
    le,
)

PORT = 201
PACKAGE_IDENTIFIER = 3
#: The DataFragment counter N is 14 bits and starts at 1: uncoded + coded fragments <= 16383.
MAX_FRAGMENT_COUNTER = (1 << 14) - 1
#: CID + IndexAndN in front of every fragment.
DATA_FRAGMENT_HEADER = 3


@dataclass(frozen=True)
class FragSessionStatusReq(Command):
    """↓ Ask for a session's progress; ``participants`` False: only devices still missing fragments answer."""

    CID: ClassVar[int] = 0x01
    frag_index: U2
    participants: bool = False

    def payload(self) -> bytes:
        return bytes([self.frag_index << 1 | self.participants])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        value = reader.u8()
        return cls(frag_index=(value >> 1) & 0x03, participants=bit(value, 0))


def _received_and_index(nb_frag_received: int, frag_index: int) -> bytes:
    return le(frag_index << 14 | nb_frag_received, 2)


@dataclass(frozen=True)
class FragSessionStatusAnsV1(Command):
    """↑ v1: ReceivedAndIndex(2) | MissingFrag(1) | Status(1, bit0 NotEnoughMatrixMemory)."""

    CID: ClassVar[int] = 0x01
    frag_index: U2
    nb_frag_received: U14
    missing_frag: U8
    not_enough_matrix_memory: bool = False

    def payload(self) -> bytes:
        received = _received_and_index(self.nb_frag_received, self.frag_index)
        return received + bytes([self.missing_frag, int(self.not_enough_matrix_memory)])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        received, missing, status = reader.u16(), reader.u8(), reader.u8()
        return cls(received >> 14, received & 0x3FFF, missing, bit(status, 0))


@dataclass(frozen=True)
class FragSessionStatusAnsV2(Command):
    """↑ v2: Status(1: bit0 MemoryError, bit1 MICError, bit2 SessionDoesNotExist) | ReceivedAndIndex(2) |
    MissingFrag(1). MICError is only meaningful once MissingFrag is 0."""

    CID: ClassVar[int] = 0x01
    frag_index: U2
    nb_frag_received: U14
    missing_frag: U8
    memory_error: bool = False
    mic_error: bool = False
    session_does_not_exist: bool = False

    def payload(self) -> bytes:
        status = self.memory_error | self.mic_error << 1 | self.session_does_not_exist << 2
        received = _received_and_index(self.nb_frag_received, self.frag_index)
        return bytes([status]) + received + bytes([self.missing_frag])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        status, received, missing = reader.u8(), reader.u16(), reader.u8()
        return cls(received >> 14, received & 0x3FFF, missing, bit(status, 0), bit(status, 1), bit(status, 2))


@dataclass(frozen=True)
class _FragSessionSetupReq(Command):
    """The fields v1 and v2 share; see the two concrete classes."""

    CID: ClassVar[int] = 0x02
    frag_index: U2
    mc_group_bit_mask: U4
    nb_frag: U16
    frag_size: U8
    frag_algo: U3
    block_ack_delay: U3
    padding: U8
    descriptor: Bytes4

    @property
    def data_length(self) -> int:
        """Bytes the device keeps: NbFrag * FragSize - Padding."""
        return self.nb_frag * self.frag_size - self.padding

    def _common(self, ack_reception: bool) -> bytes:
        session = self.frag_index << 4 | self.mc_group_bit_mask
        control = ack_reception << 6 | self.frag_algo << 3 | self.block_ack_delay
        return bytes([session]) + le(self.nb_frag, 2) + bytes([self.frag_size, control, self.padding]) + self.descriptor

    @classmethod
    def read(cls, reader: Reader) -> Self:
        session, nb_frag, frag_size, control, padding = reader.u8(), reader.u16(), reader.u8(), reader.u8(), reader.u8()
        descriptor = reader.take(4)
        return cls(
            frag_index=(session >> 4) & 0x03,
            mc_group_bit_mask=session & 0x0F,
            nb_frag=nb_frag,
            frag_size=frag_size,
            frag_algo=(control >> 3) & 0x07,
            block_ack_delay=control & 0x07,
            padding=padding,
            descriptor=descriptor,
            **cls._read_extra(reader, control),
        )

    @classmethod
    def _read_extra(cls, reader: Reader, control: int) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class FragSessionSetupReqV1(_FragSessionSetupReq):
    """↓ v1 (10 bytes): FragSession(1) NbFrag(2) FragSize(1) Control(1) Padding(1) Descriptor(4).

    ``mc_group_bit_mask`` bit k lets multicast group k feed the session; ``frag_algo`` 0 is the TS004 FEC;
    devices answer status requests after a random delay in [0, 2**(block_ack_delay + 4)) seconds.
    """

    def payload(self) -> bytes:
        return self._common(False)


@dataclass(frozen=True)
class FragSessionSetupReqV2(_FragSessionSetupReq):
    """↓ v2 (16 bytes): the v1 fields, Control bit6 AckReception, then SessionCnt(2) and MIC(4).

    ``session_cnt`` must exceed the last one the device accepted for this FragIndex (else SessionCnt_replay);
    ``mic`` is the data-block MIC (``fec.data_block_mic``), in wire order.
    """

    session_cnt: U16
    mic: Bytes4
    ack_reception: bool = False

    def payload(self) -> bytes:
        return self._common(self.ack_reception) + le(self.session_cnt, 2) + self.mic

    @classmethod
    def _read_extra(cls, reader: Reader, control: int) -> dict[str, Any]:
        return {"session_cnt": reader.u16(), "mic": reader.take(4), "ack_reception": bit(control, 6)}


@dataclass(frozen=True)
class FragSessionSetupAns(Command):
    """↑ bit0 FragAlgoUnsupported, bit1 NotEnoughMemory, bit2 FragIndexUnsupported, bit3 WrongDescriptor,
    bit4 SessionCntReplay (v2; RFU in v1), bits7:6 FragIndex. No error bit: the session is accepted."""

    CID: ClassVar[int] = 0x02
    frag_index: U2
    frag_algo_unsupported: bool = False
    not_enough_memory: bool = False
    frag_index_unsupported: bool = False
    wrong_descriptor: bool = False
    session_cnt_replay: bool = False

    @property
    def accepted(self) -> bool:
        return not (
            self.frag_algo_unsupported
            or self.not_enough_memory
            or self.frag_index_unsupported
            or self.wrong_descriptor
            or self.session_cnt_replay
        )

    def payload(self) -> bytes:
        bits = (
            self.frag_algo_unsupported
            | self.not_enough_memory << 1
            | self.frag_index_unsupported << 2
            | self.wrong_descriptor << 3
            | self.session_cnt_replay << 4
        )
        return bytes([self.frag_index << 6 | bits])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        value = reader.u8()
        return cls(value >> 6, *(bit(value, position) for position in range(5)))


@dataclass(frozen=True)
class FragSessionDeleteReq(Command):
    """↓ Delete the session at FragIndex."""

    CID: ClassVar[int] = 0x03
    frag_index: U2

    def payload(self) -> bytes:
        return bytes([self.frag_index])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8() & 0x03)


@dataclass(frozen=True)
class FragSessionDeleteAns(Command):
    """↑ bits1:0 FragIndex, bit2 SessionDoesNotExist."""

    CID: ClassVar[int] = 0x03
    frag_index: U2
    session_does_not_exist: bool = False

    def payload(self) -> bytes:
        return bytes([self.session_does_not_exist << 2 | self.frag_index])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        value = reader.u8()
        return cls(value & 0x03, bit(value, 2))


@dataclass(frozen=True)
class FragDataBlockReceivedReq(Command):
    """↑ v2 only: the block at FragIndex is rebuilt; bit2 MICError if its MIC did not verify.
    The device repeats it (LBM: up to 3 times) until FragDataBlockReceivedAns."""

    CID: ClassVar[int] = 0x04
    frag_index: U2
    mic_error: bool = False

    def payload(self) -> bytes:
        return bytes([self.mic_error << 2 | self.frag_index])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        value = reader.u8()
        return cls(value & 0x03, bit(value, 2))


@dataclass(frozen=True)
class FragDataBlockReceivedAns(Command):
    """↓ v2 only: acknowledges FragDataBlockReceivedReq for FragIndex."""

    CID: ClassVar[int] = 0x04
    frag_index: U2

    def payload(self) -> bytes:
        return bytes([self.frag_index])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8() & 0x03)


@dataclass(frozen=True)
class DataFragment(Command):
    """↓ IndexAndN(2: bits13:0 N, bits15:14 FragIndex) | fragment. N counts from 1: uncoded fragments are
    N = 1..NbFrag, coded ones follow. Takes the rest of the frame, so it is always alone in it."""

    CID: ClassVar[int] = 0x08
    ALONE: ClassVar[bool] = True
    frag_index: U2
    n: U14
    data: bytes

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.data, bytes) or not self.data:
            raise LorawanCodecError("DataFragment.data must be at least one byte")
        if self.n == 0:
            raise LorawanCodecError("DataFragment.n counts from 1")

    def payload(self) -> bytes:
        return le(self.frag_index << 14 | self.n, 2) + self.data

    @classmethod
    def read(cls, reader: Reader) -> Self:
        index_and_n = reader.u16()
        data = reader.rest()
        if not data:
            raise LorawanCodecError("DataFragment without fragment bytes")
        n = index_and_n & 0x3FFF
        if n == 0:
            raise LorawanCodecError("DataFragment counter N is 0 (counts from 1)")
        return cls(index_and_n >> 14, n, data)


_DOWNLINK_COMMON: dict[int, type[Command]] = {
    PackageVersionReq.CID: PackageVersionReq,
    FragSessionStatusReq.CID: FragSessionStatusReq,
    FragSessionDeleteReq.CID: FragSessionDeleteReq,
    DataFragment.CID: DataFragment,
}
_UPLINK_COMMON: dict[int, type[Command]] = {
    PackageVersionAns.CID: PackageVersionAns,
    FragSessionSetupAns.CID: FragSessionSetupAns,
    FragSessionDeleteAns.CID: FragSessionDeleteAns,
}

DOWNLINK: dict[int, CommandTable] = {
    1: {**_DOWNLINK_COMMON, FragSessionSetupReqV1.CID: FragSessionSetupReqV1},
    2: {
        **_DOWNLINK_COMMON,
        FragSessionSetupReqV2.CID: FragSessionSetupReqV2,
        FragDataBlockReceivedAns.CID: FragDataBlockReceivedAns,
    },
}
UPLINK: dict[int, CommandTable] = {
    1: {**_UPLINK_COMMON, FragSessionStatusAnsV1.CID: FragSessionStatusAnsV1},
    2: {
        **_UPLINK_COMMON,
        FragSessionStatusAnsV2.CID: FragSessionStatusAnsV2,
        FragDataBlockReceivedReq.CID: FragDataBlockReceivedReq,
    },
}
