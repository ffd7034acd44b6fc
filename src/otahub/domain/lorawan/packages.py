"""The FUOTA application-layer packages as one codec: FRMPayload <-> commands by FPort and PackageVersion,
and what a device's answers mean as an AWS ``FuotaDeviceStatus``.

    port 200 TS005 Remote Multicast Setup        multicast.py     PackageIdentifier 2
    port 201 TS004 Fragmented Data Block Transport fragmentation.py PackageIdentifier 3
    port 202 TS003 Clock Synchronization          clock_sync.py    PackageIdentifier 1

Devices may be configured with other FPorts (AWS ``FPorts`` of a wireless device): pass ``ports``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum, StrEnum

from otahub.domain.lorawan import clock_sync, fragmentation, multicast
from otahub.domain.lorawan.commands import (
    Command,
    CommandTable,
    LorawanCodecError,
    PackageVersionAns,
    decode_commands,
    encode_commands,
)
from otahub.domain.lorawan.fragmentation import (
    FragDataBlockReceivedReq,
    FragSessionSetupAns,
    FragSessionStatusAnsV1,
    FragSessionStatusAnsV2,
)

VERSIONS = (1, 2)


class Package(IntEnum):
    """The packages by PackageIdentifier."""

    CLOCK_SYNC = clock_sync.PACKAGE_IDENTIFIER
    MULTICAST_SETUP = multicast.PACKAGE_IDENTIFIER
    FRAGMENTATION = fragmentation.PACKAGE_IDENTIFIER


DEFAULT_PORTS: Mapping[int, Package] = {
    multicast.PORT: Package.MULTICAST_SETUP,
    fragmentation.PORT: Package.FRAGMENTATION,
    clock_sync.PORT: Package.CLOCK_SYNC,
}

_TABLES: dict[Package, tuple[dict[int, CommandTable], dict[int, CommandTable]]] = {
    Package.CLOCK_SYNC: (clock_sync.DOWNLINK, clock_sync.UPLINK),
    Package.MULTICAST_SETUP: (multicast.DOWNLINK, multicast.UPLINK),
    Package.FRAGMENTATION: (fragmentation.DOWNLINK, fragmentation.UPLINK),
}


def _table(port: int, version: int, ports: Mapping[int, Package], uplink: bool) -> CommandTable:
    package = ports.get(port)
    if package is None:
        raise LorawanCodecError(f"FPort {port} carries none of the FUOTA packages")
    if version not in VERSIONS:
        raise LorawanCodecError(f"PackageVersion {version} is not supported (1 or 2)")
    downlink, up = _TABLES[package]
    return (up if uplink else downlink)[version]


def decode_downlink(
    port: int, payload: bytes, version: int = 1, *, ports: Mapping[int, Package] = DEFAULT_PORTS
) -> list[Command]:
    """The server->device commands in one FRMPayload (several may be concatenated; DataFragment goes alone)."""
    return decode_commands(payload, _table(port, version, ports, uplink=False))


def decode_uplink(
    port: int, payload: bytes, version: int = 1, *, ports: Mapping[int, Package] = DEFAULT_PORTS
) -> list[Command]:
    """The device->server commands (answers, AppTimeReq, FragDataBlockReceivedReq) in one FRMPayload."""
    return decode_commands(payload, _table(port, version, ports, uplink=True))


def encode(commands: Sequence[Command]) -> bytes:
    """One FRMPayload carrying ``commands`` in order."""
    return encode_commands(commands)


class FuotaDeviceStatus(StrEnum):
    """botocore ``iotwireless`` FuotaDeviceStatus, value for value."""

    INITIAL = "Initial"
    PACKAGE_NOT_SUPPORTED = "Package_Not_Supported"
    FRAG_ALGO_UNSUPPORTED = "FragAlgo_unsupported"
    NOT_ENOUGH_MEMORY = "Not_enough_memory"
    FRAG_INDEX_UNSUPPORTED = "FragIndex_unsupported"
    WRONG_DESCRIPTOR = "Wrong_descriptor"
    SESSION_CNT_REPLAY = "SessionCnt_replay"
    MISSING_FRAG = "MissingFrag"
    MEMORY_ERROR = "MemoryError"
    MIC_ERROR = "MICError"
    SUCCESSFUL = "Successful"
    DEVICE_EXIST_IN_CONFLICT_FUOTA_TASK = "Device_exist_in_conflict_fuota_task"


FuotaAnswer = (
    PackageVersionAns | FragSessionSetupAns | FragSessionStatusAnsV1 | FragSessionStatusAnsV2 | FragDataBlockReceivedReq
)


def fuota_device_status(answer: FuotaAnswer) -> FuotaDeviceStatus:
    """What one device answer on the fragmentation port says about the device's FUOTA progress.

    - PackageVersionAns: Package_Not_Supported unless it reports package 3 in version 1 or 2, else Initial.
    - FragSessionSetupAns: its first error bit (FragAlgo, memory, FragIndex, descriptor, SessionCnt), else
      Initial (accepted, nothing received yet).
    - FragSessionStatusAns: MemoryError; MICError (v2, once nothing is missing); MissingFrag while fragments
      are missing; Initial when the device has no session or has received nothing; else Successful.
    - FragDataBlockReceivedReq (v2): MICError or Successful.
    """
    if isinstance(answer, PackageVersionAns):
        supported = answer.package_identifier == Package.FRAGMENTATION and answer.package_version in VERSIONS
        return FuotaDeviceStatus.INITIAL if supported else FuotaDeviceStatus.PACKAGE_NOT_SUPPORTED
    if isinstance(answer, FragSessionSetupAns):
        return _setup_status(answer)
    if isinstance(answer, FragDataBlockReceivedReq):
        return FuotaDeviceStatus.MIC_ERROR if answer.mic_error else FuotaDeviceStatus.SUCCESSFUL
    if isinstance(answer, FragSessionStatusAnsV1):
        if answer.not_enough_matrix_memory:
            return FuotaDeviceStatus.MEMORY_ERROR
        return _progress_status(answer.missing_frag, answer.nb_frag_received)
    if answer.memory_error:
        return FuotaDeviceStatus.MEMORY_ERROR
    if answer.session_does_not_exist:
        return FuotaDeviceStatus.INITIAL
    if answer.mic_error and answer.missing_frag == 0:
        return FuotaDeviceStatus.MIC_ERROR
    return _progress_status(answer.missing_frag, answer.nb_frag_received)


def _setup_status(answer: FragSessionSetupAns) -> FuotaDeviceStatus:
    errors = (
        (answer.frag_algo_unsupported, FuotaDeviceStatus.FRAG_ALGO_UNSUPPORTED),
        (answer.not_enough_memory, FuotaDeviceStatus.NOT_ENOUGH_MEMORY),
        (answer.frag_index_unsupported, FuotaDeviceStatus.FRAG_INDEX_UNSUPPORTED),
        (answer.wrong_descriptor, FuotaDeviceStatus.WRONG_DESCRIPTOR),
        (answer.session_cnt_replay, FuotaDeviceStatus.SESSION_CNT_REPLAY),
    )
    return next((status for failed, status in errors if failed), FuotaDeviceStatus.INITIAL)


def _progress_status(missing_frag: int, nb_frag_received: int) -> FuotaDeviceStatus:
    if missing_frag:
        return FuotaDeviceStatus.MISSING_FRAG
    # LBM v2 answers 0/0 for a session that has not received a fragment yet.
    return FuotaDeviceStatus.SUCCESSFUL if nb_frag_received else FuotaDeviceStatus.INITIAL
