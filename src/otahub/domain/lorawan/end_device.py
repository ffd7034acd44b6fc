"""A simulated LoRaWAN end device's FUOTA application layer: TS003 clock sync, TS005 multicast setup and TS004
fragmentation, in PackageVersion 1 or 2, answering byte for byte as the reference stacks do.

``receive(port, payload, multicast=..., now=...)`` takes one downlink FRMPayload and returns the uplinks it
causes (FPort, FRMPayload). Unicast commands may be concatenated; multicast frames carry only what a device
takes on a multicast address (DataFragment, FragSessionStatusReq), as LoRaMac-node and LBM ignore setup,
delete and version requests there. Fragments go to the FEC decoder (``fec.FragmentDecoder``); when a block
is whole a v2 device checks its MIC (lorawan-fuota.md 1.4) and, if the setup asked for it, says so with
FragDataBlockReceivedReq; a v1 device has no MIC to check. ``image`` is the last block that checked out.

Faults (the ``otahub:simulated-fault`` tag) change what the device does, not what it says it does:
``corrupt`` flips a bit of the first fragment it stores (so the rebuilt block fails its MIC), ``no-memory``
refuses any session (FragSessionSetupAns NotEnoughMemory), ``v1`` speaks PackageVersion 1 of every package,
``wrong-descriptor`` refuses the session's descriptor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from otahub.domain.lorawan import clock_sync as ts003
from otahub.domain.lorawan import fragmentation as ts004
from otahub.domain.lorawan import multicast as ts005
from otahub.domain.lorawan.commands import Command, LorawanCodecError, PackageVersionAns, PackageVersionReq
from otahub.domain.lorawan.crypto import decrypt_mc_key, mc_ke_key, mc_root_key
from otahub.domain.lorawan.fec import AddResult, FragmentDecoder, data_block_int_key, data_block_mic
from otahub.domain.lorawan.packages import decode_downlink, encode

FAULTS = ("corrupt", "no-memory", "v1", "wrong-descriptor")
MAX_GROUPS = 4
MAX_SESSIONS = 4
DEFAULT_MEMORY = 512 * 1024  # bytes the device can give a data block
Uplink = tuple[int, bytes]  # (FPort, FRMPayload)
PACKAGES = {ts003.PORT: ts003.PACKAGE_IDENTIFIER, ts005.PORT: ts005.PACKAGE_IDENTIFIER,
            ts004.PORT: ts004.PACKAGE_IDENTIFIER}


@dataclass
class _Group:
    addr: int
    key: bytes
    min_fcount: int
    max_fcount: int
    session_start: int | None = None  # GPS seconds
    session_end: int | None = None


@dataclass
class _Session:
    setup: ts004.FragSessionSetupReqV1 | ts004.FragSessionSetupReqV2
    decoder: FragmentDecoder
    mic_error: bool = False
    corrupted: bool = False


@dataclass
class EndDevice:
    """One device; ``gen_app_key`` is its root key for TS005 (LoRaWAN 1.0.x) and the v2 block MIC."""

    dev_eui: str
    gen_app_key: bytes  # the root key: GenAppKey (LoRaWAN 1.0.x), or AppKey with ``lorawan_1_1``
    fault: str | None = None
    memory: int = DEFAULT_MEMORY
    clock_offset: int = 0  # seconds the device's clock is ahead of GPS time until a clock sync
    lorawan_1_1: bool = False
    image: bytes | None = None
    groups: dict[int, _Group] = field(default_factory=dict)
    sessions: dict[int, _Session] = field(default_factory=dict)
    _token: int = 0

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {', '.join(FAULTS)}")
        root = mc_root_key(app_key=self.gen_app_key) if self.lorawan_1_1 else mc_root_key(gen_app_key=self.gen_app_key)
        self._ke_key = mc_ke_key(root)
        self._int_key = data_block_int_key(self.gen_app_key)

    @property
    def version(self) -> int:
        return 1 if self.fault == "v1" else 2

    def device_time(self, gps_now: int) -> int:
        return (gps_now + self.clock_offset) & 0xFFFFFFFF

    def app_time_request(self, gps_now: int) -> Uplink:
        """The AppTimeReq a device sends to synchronise its clock (TS003)."""
        self._token = (self._token + 1) & 0xF
        return ts003.PORT, encode([ts003.AppTimeReq(self.device_time(gps_now), self._token, True)])

    def receive(self, port: int, payload: bytes, *, multicast: bool = False, gps_now: int = 0) -> list[Uplink]:
        """Handle one downlink; the uplinks it causes. Undecodable frames are dropped, as a device drops them."""
        try:
            commands = decode_downlink(port, payload, self.version)
        except LorawanCodecError:
            return []
        answers: list[Command] = []
        for command in commands:
            if multicast and not isinstance(command, ts004.DataFragment | ts004.FragSessionStatusReq):
                continue
            if isinstance(command, PackageVersionReq):
                answers.append(PackageVersionAns(PACKAGES[port], self.version))
            else:
                answers += self._handle(command, gps_now)
        return [(port, encode(answers))] if answers else []

    # -- per command

    def _handle(self, command: Command, gps_now: int) -> list[Command]:
        match command:
            case ts003.AppTimeAns():
                if command.token_ans == self._token:
                    self.clock_offset += command.time_correction  # the server's time minus the device's
                return []
            case ts003.ForceDeviceResyncReq():
                return [ts003.AppTimeReq(self.device_time(gps_now), self._token, True)]
            case ts003.DeviceAppTimePeriodicityReq():
                return [ts003.DeviceAppTimePeriodicityAns(self.device_time(gps_now), False)]
            case ts005.McGroupSetupReq():
                return [self._group_setup(command)]
            case ts005.McGroupDeleteReq():
                undefined = self.groups.pop(command.mc_group_id, None) is None
                return [ts005.McGroupDeleteAns(command.mc_group_id, undefined)]
            case ts005.McGroupStatusReq():
                return [self._group_status(command)]
            case ts005.McClassCSessionReq():
                return [self._class_c(command, gps_now)]
            case ts004.FragSessionSetupReqV1() | ts004.FragSessionSetupReqV2():
                return [self._frag_setup(command)]
            case ts004.FragSessionDeleteReq():
                gone = self.sessions.pop(command.frag_index, None) is None
                return [ts004.FragSessionDeleteAns(command.frag_index, gone)]
            case ts004.DataFragment():
                return self._fragment(command)
            case ts004.FragSessionStatusReq():
                return self._frag_status(command)
        return []

    def _group_setup(self, command: ts005.McGroupSetupReq) -> ts005.McGroupSetupAns:
        if command.mc_group_id >= MAX_GROUPS:
            return ts005.McGroupSetupAns(command.mc_group_id, id_error=True)
        key = decrypt_mc_key(self._ke_key, command.mc_key_encrypted)
        self.groups[command.mc_group_id] = _Group(command.mc_addr, key, command.min_mc_fcount, command.max_mc_fcount)
        return ts005.McGroupSetupAns(command.mc_group_id)

    def _group_status(self, command: ts005.McGroupStatusReq) -> ts005.McGroupStatusAns:
        listed = tuple(ts005.McGroup(gid, group.addr) for gid, group in sorted(self.groups.items())
                       if command.reg_group_mask >> gid & 1)
        mask = sum(1 << group.mc_group_id for group in listed)
        return ts005.McGroupStatusAns(mask, len(self.groups), listed)

    def _class_c(self, command: ts005.McClassCSessionReq, gps_now: int) -> ts005.McClassCSessionAns:
        group = self.groups.get(command.mc_group_id)
        if group is None:
            return ts005.McClassCSessionAns(command.mc_group_id, mc_group_undefined=True)
        now = self.device_time(gps_now)
        if command.session_time < now:
            return ts005.McClassCSessionAns(command.mc_group_id, start_missed=True)
        group.session_start, group.session_end = command.session_time, command.session_time + (1 << command.time_out)
        return ts005.McClassCSessionAns(command.mc_group_id, time_to_start=command.session_time - now)

    def _frag_setup(self, command: ts004.FragSessionSetupReqV1 | ts004.FragSessionSetupReqV2) -> Command:
        size = command.nb_frag * command.frag_size
        refused = {
            "frag_algo_unsupported": command.frag_algo != 0,
            "not_enough_memory": self.fault == "no-memory" or size > self.memory or command.nb_frag == 0,
            "frag_index_unsupported": command.frag_index >= MAX_SESSIONS,
            "wrong_descriptor": self.fault == "wrong-descriptor",
        }
        if not any(refused.values()):
            padding = min(command.padding, max(0, size - 1))
            decoder = FragmentDecoder(command.nb_frag, command.frag_size, padding=padding, version=self.version)
            self.sessions[command.frag_index] = _Session(command, decoder)
        return ts004.FragSessionSetupAns(command.frag_index, **refused)

    def _fragment(self, command: ts004.DataFragment) -> list[Command]:
        session = self.sessions.get(command.frag_index)
        if session is None or len(command.data) != session.setup.frag_size:
            return []
        data = command.data
        if self.fault == "corrupt" and not session.corrupted:
            session.corrupted = True
            data = bytes([data[0] ^ 0x01]) + data[1:]
        was_complete = session.decoder.complete
        if session.decoder.add(command.n, data) is AddResult.COMPLETE and not was_complete:
            return self._block_done(command.frag_index, session)
        return []

    def _block_done(self, frag_index: int, session: _Session) -> list[Command]:
        block = session.decoder.image()
        setup = session.setup
        if isinstance(setup, ts004.FragSessionSetupReqV2):
            mic = data_block_mic(self._int_key, block, session_cnt=setup.session_cnt, frag_index=frag_index,
                                 descriptor=setup.descriptor)
            session.mic_error = mic != setup.mic
        if not session.mic_error:
            self.image = block
        if isinstance(setup, ts004.FragSessionSetupReqV2) and setup.ack_reception:
            return [ts004.FragDataBlockReceivedReq(frag_index, session.mic_error)]
        return []

    def _frag_status(self, command: ts004.FragSessionStatusReq) -> list[Command]:
        session = self.sessions.get(command.frag_index)
        if session is None:
            if self.version == 2:
                return [ts004.FragSessionStatusAnsV2(command.frag_index, 0, 0, session_does_not_exist=True)]
            return []
        status = session.decoder.status()
        if not command.participants and status.complete and not session.mic_error:
            return []  # Participants=0: only devices still missing fragments answer
        # MissingFrag: what is still to recover (LBM v2). LoRaMac-node's v1 puts the uncoded fragments lost so
        # far there, which reads 0 for a block whose tail never came; we answer what is missing in both [U]
        missing = min(status.missing, 255)
        received = min(status.received if self.version == 2 else status.last_counter, 0x3FFF)
        if self.version == 1:
            return [ts004.FragSessionStatusAnsV1(command.frag_index, received, missing, status.memory_error)]
        return [ts004.FragSessionStatusAnsV2(command.frag_index, received, missing, status.memory_error,
                                             session.mic_error)]
