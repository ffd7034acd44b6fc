"""The FUOTA session engine: what StartFuotaTask sets going, as a state machine on the injected clock.

It sits beside the rollout engine behind one ``Engines`` (services/timekeeping.py): ``tick()`` does what is
due, ``next_due()`` says when the next step is, so a virtual clock jumps from step to step and a real one
ticks every ``--engine-interval``. A session, from the task's StartTime, each step ``window`` apart
(time for class A answers to come back; lorawan-fuota.md section 4):

    versions   PackageVersionReq on the fragmentation port, ForceDeviceResyncReq on the clock port (a
               device's AppTimeReq is answered with AppTimeAns at once)
    setup      per device: McGroupSetupReq (its group's McAddr, the McKey encrypted with its McKEKey) and
               McClassCSessionReq for group members; FragSessionSetupReq in the version the device
               reported (v2 with the data block's MIC); the task goes In_FuotaSession
    fragments  from the session time: DataFragments 1..NbFrag then the coded ones (RedundancyPercent of
               NbFrag, rounded up), one per downlink, spaced by FragmentIntervalMS or the data rate's
               airtime and the channel's duty cycle, whichever is longer; on each group's McAddr for its v2
               members, unicast to a device reached alone or one that speaks v1 (its own matrix)
    status     FragSessionStatusReq (Participants=1) to every device that took the session
    done       each device's answers as a FuotaDeviceStatus (fuota_device_status), FuotaDone

A device that never answers the version request is Package_Not_Supported; one that refuses the session
keeps the setup answer's status; one whose status answer never comes is MissingFrag. The run of a
session is kept in memory: after a restart a task found In_FuotaSession starts its session again from
the setup (its devices kept what they had; the fragments are sent again).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from otahub.domain.clock import Clock
from otahub.domain.fuota import FuotaDeviceStatus, FuotaTask, FuotaTaskStatus, descriptor_bytes
from otahub.domain.lorawan import clock_sync as ts003
from otahub.domain.lorawan import fragmentation as ts004
from otahub.domain.lorawan import multicast as ts005
from otahub.domain.lorawan.airtime import session_airtime
from otahub.domain.lorawan.commands import Command, LorawanCodecError, PackageVersionAns, PackageVersionReq
from otahub.domain.lorawan.crypto import encrypt_mc_key, mc_ke_key, mc_root_key
from otahub.domain.lorawan.fec import FragmentedImage, coded_fragment_count, data_block_int_key, data_block_mic, encode
from otahub.domain.lorawan.packages import decode_uplink, fuota_device_status
from otahub.domain.lorawan.packages import encode as encode_commands
from otahub.domain.lorawan.regions import Region, region
from otahub.domain.objects import BlobRef
from otahub.domain.wireless import Activation, MulticastGroup, MulticastGroupStatus
from otahub.services.fuota import FuotaService, FuotaSession, SessionDevice, SessionGroup
from otahub.services.lorawan_network import NetworkServer, RadioDevice
from otahub.services.wireless import WirelessService

log = logging.getLogger("otahub.fuota")
WINDOW = timedelta(seconds=10)
DEFAULT_FRAGMENT_SIZE = 200
FRAG_INDEX = 0
ImageReader = Callable[[BlobRef], bytes]


@dataclass
class _Device:
    view: SessionDevice
    root_key: bytes
    ports: dict[int, int]  # the package's default FPort -> the device's (LoRaWAN.FPorts)
    lorawan_1_1: bool = False  # its root key is AppKey (McRootKey derives from it as TS005 says for 1.1)
    version: int | None = None
    status: FuotaDeviceStatus = FuotaDeviceStatus.INITIAL
    in_session: bool = False
    answered_status: bool = False

    @property
    def device_id(self) -> str:
        return self.view.device.device_id


@dataclass
class _Stream:
    """One sequence of DataFragments: on a multicast address, or to one device."""

    image: FragmentedImage
    spacing: timedelta
    next_at: datetime
    devices: list[str]
    mc_addr: int | None = None
    data_rate: int = 0
    frequency_hz: int = 0
    next_n: int = 1

    @property
    def done(self) -> bool:
        return self.next_n > len(self.image.fragments)


@dataclass
class _Run:
    task: FuotaTask
    session: FuotaSession
    image: bytes
    devices: dict[str, _Device]
    due: datetime
    step: str = "versions"
    streams: list[_Stream] = field(default_factory=list)
    images: dict[int, FragmentedImage] = field(default_factory=dict)  # by PackageVersion (their matrices differ)

    @property
    def region(self) -> Region:
        rf_region = self.task.settings.rf_region
        return region(rf_region.value if rf_region is not None else "EU868")


class FuotaEngine:
    def __init__(self, fuota: FuotaService, wireless: WirelessService, network: NetworkServer, images: ImageReader,
                 clock: Clock, window: timedelta = WINDOW) -> None:
        self.fuota, self.wireless, self.network, self.images = fuota, wireless, network, images
        self.clock, self.window = clock, window
        self.runs: dict[str, _Run] = {}
        self._lock = threading.RLock()

    # --- the engine face

    def next_due(self) -> datetime | None:
        """The next step of a running session, or the next task to begin (or to let go of)."""
        with self._lock:
            times = [self._next(run) for run in self.runs.values()]
            for task in self.fuota.active():
                if task.task_id in self.runs:
                    continue
                if task.status is FuotaTaskStatus.SESSION_WAITING and task.start_time is not None:
                    times.append(task.start_time)
                elif task.status is not FuotaTaskStatus.SESSION_WAITING:  # deleted, or cut by a restart: now
                    times.append(self.clock.now())
            return min(times, default=None)

    def tick(self) -> int:
        """Everything due by now; returns how many steps and fragments went out."""
        with self._lock:
            now = self.clock.now()
            done = 0
            active = self.fuota.active()
            for task in active:  # deleted while waiting for its session (or in one cut by a restart)
                if task.status is FuotaTaskStatus.DELETE_WAITING and task.task_id not in self.runs:
                    self.fuota.finish(task.task_id)
                    done += 1
            for task in self._to_begin(now, active):
                try:
                    done += self._begin(task, now)
                except Exception:  # its image unreadable, say: the task ends (FuotaDone) rather than stall the clock
                    log.exception("FUOTA task %s: the session could not begin", task.task_id)
                    self.runs.pop(task.task_id, None)
                    with contextlib.suppress(Exception):
                        self.fuota.finish(task.task_id)
            for run in list(self.runs.values()):
                try:
                    done += self._advance(run, now)
                except Exception:  # one broken session must not stop the others (nor the rollout engine)
                    log.exception("FUOTA task %s: the session failed; it ends with what the devices said",
                                  run.task.task_id)
                    self._give_up(run)
            return done

    def _give_up(self, run: _Run) -> None:
        try:
            self._finish(run)
        except Exception:
            log.exception("FUOTA task %s: its statuses could not be recorded either", run.task.task_id)
        finally:
            self.runs.pop(run.task.task_id, None)

    def on_uplink(self, device_id: str, port: int, payload: bytes, at: datetime) -> None:
        with self._lock:
            for run in self.runs.values():
                device = run.devices.get(device_id)
                if device is not None:
                    self._heard(run, device, port, payload, at)

    # --- beginning a session

    def _to_begin(self, now: datetime, active: list[FuotaTask]) -> list[FuotaTask]:
        due = self.fuota.sessions_due(now)
        if not self.runs:  # after a restart: sessions that were on the air start again
            due += [t for t in active if t.status is FuotaTaskStatus.IN_SESSION]
        return [t for t in due if t.task_id not in self.runs]

    def _begin(self, task: FuotaTask, now: datetime) -> int:
        session = self.fuota.session(task.task_id)
        devices = {d.device.device_id: _Device(d, _root_key(d), _ports(d), _is_1_1(d)) for d in session.devices}
        run = _Run(task, session, self.images(session.image), devices, due=now + self.window)
        self.runs[task.task_id] = run
        self.network.prepare([RadioDevice(d.device_id, d.view.device.lorawan.dev_eui, d.root_key,
                                          run.region.region.value, d.view.tags,
                                          {own: standard for standard, own in d.ports.items()}, d.lorawan_1_1)
                              for d in devices.values()], self.on_uplink)
        log.info("FUOTA task %s: session begins with %d devices", task.task_id, len(devices))
        for device in devices.values():
            self._send(device, ts004.PORT, [PackageVersionReq()], now)
            self._send(device, ts003.PORT, [ts003.ForceDeviceResyncReq(1)], now)
        return 1

    # --- the steps

    def _next(self, run: _Run) -> datetime:
        if run.step == "fragments":
            pending = [s.next_at for s in run.streams if not s.done]
            return min(pending) if pending else run.due
        return run.due

    def _advance(self, run: _Run, now: datetime) -> int:
        done = 0
        while run.task.task_id in self.runs and self._next(run) <= now:
            step = run.step
            if step == "versions":
                self._setup(run, run.due)
            elif step == "setup":
                self._plan_fragments(run, run.due)
            elif step == "fragments":
                self._send_fragments(run, now)
                if all(s.done for s in run.streams):
                    run.step, run.due = "status", max([s.next_at for s in run.streams], default=run.due)
            elif step == "status":
                self._ask_status(run, run.due)
            elif step == "done":
                self._finish(run)
            done += 1
        return done

    def _setup(self, run: _Run, at: datetime) -> None:
        start = at + self.window  # the class C session and the first fragment
        for device in run.devices.values():
            if device.version is None:
                device.status = FuotaDeviceStatus.PACKAGE_NOT_SUPPORTED
                continue
            group = _group_of(run, device)
            slot = _slot(group, device)
            if group is not None:
                root = (mc_root_key(app_key=device.root_key) if device.lorawan_1_1
                        else mc_root_key(gen_app_key=device.root_key))
                key = encrypt_mc_key(mc_ke_key(root), _mc_key(run, group.group.group_id))
                self._send(device, ts005.PORT, [ts005.McGroupSetupReq(slot, _mc_addr(group.group.group_id), key, 0,
                                                                      0xFFFFFFFF)], at)
            self._send(device, ts004.PORT, [self._setup_request(run, device)], at)
            if group is not None:
                params = region(group.group.rf_region)
                seconds = int((self._session_length(run, device) + self.window * 2).total_seconds())
                self._send(device, ts005.PORT, [ts005.McClassCSessionReq(
                    slot, ts003.gps_time(start.timestamp()), min(15, max(0, (seconds - 1).bit_length())),
                    _frequency(group.group) or params.rx2_frequency_hz, _data_rate(group.group, params.rx2_data_rate))],
                    at)
        if run.task.status is FuotaTaskStatus.SESSION_WAITING:  # (a session begun again after a restart is in it)
            self.fuota.mark_in_session(run.task.task_id)
        run.step, run.due = "setup", start

    def _setup_request(self, run: _Run, device: _Device) -> Command:
        image = self._fragmented(run, device.version or 2)
        group = _group_of(run, device)
        mask = 0 if group is None or device.version == 1 else 1 << _slot(group, device)
        descriptor = descriptor_bytes(run.task.settings.descriptor)
        if device.version == 1:
            return ts004.FragSessionSetupReqV1(FRAG_INDEX, mask, image.nb_frag, image.frag_size, 0, 1, image.padding,
                                               descriptor)
        mic = data_block_mic(data_block_int_key(device.root_key), run.image, session_cnt=0, frag_index=FRAG_INDEX,
                             descriptor=descriptor)
        return ts004.FragSessionSetupReqV2(FRAG_INDEX, mask, image.nb_frag, image.frag_size, 0, 1, image.padding,
                                           descriptor, 0, mic, True)

    def _plan_fragments(self, run: _Run, at: datetime) -> None:
        taking = [d for d in run.devices.values() if d.in_session]
        for group in run.session.groups:
            members = [d.device_id for d in taking if _group_of(run, d) is group and d.version == 2]
            if members:
                params = region(group.group.rf_region)
                dr = _data_rate(group.group, params.rx2_data_rate)
                frequency = _frequency(group.group) or params.rx2_frequency_hz
                run.streams.append(_Stream(self._fragmented(run, 2), self._spacing(run, dr, frequency), at,
                                           members, _mc_addr(group.group.group_id), dr, frequency))
            statuses = {m.device_id: ("Session_Set" if run.devices[m.device_id].in_session else "Setup_Failed",
                                      run.devices[m.device_id].in_session)
                        for m in group.members if m.device_id in run.devices}
            self.wireless.record_member_status(group.group.group_id, statuses)
            self.wireless.mark_group(group.group.group_id, MulticastGroupStatus.IN_SESSION)
        for device in taking:  # alone, or a v1 device in a group: its own unicast stream in its own matrix
            via = _group_of(run, device)
            if via is None or device.version == 1:
                dr, frequency = self._channel(run, via)
                run.streams.append(_Stream(self._fragmented(run, device.version or 2),
                                           self._spacing(run, dr, frequency), at, [device.device_id]))
        run.step, run.due = "fragments", at
        log.info("FUOTA task %s: %d devices took the session; %d fragment streams", run.task.task_id, len(taking),
                 len(run.streams))

    def _send_fragments(self, run: _Run, now: datetime) -> None:
        for stream in run.streams:
            while not stream.done and stream.next_at <= now:
                command = ts004.DataFragment(FRAG_INDEX, stream.next_n, stream.image.fragment(stream.next_n))
                payload = encode_commands([command])
                port = run.devices[stream.devices[0]].ports[ts004.PORT]  # a group's members share their FPorts
                if stream.mc_addr is not None:
                    self.network.multicast(stream.mc_addr, stream.devices, port, payload, stream.next_at,
                                           stream.data_rate, stream.frequency_hz)
                else:
                    self.network.unicast(stream.devices[0], port, payload, stream.next_at)
                stream.next_n += 1
                stream.next_at += stream.spacing

    def _ask_status(self, run: _Run, at: datetime) -> None:
        for device in run.devices.values():
            if device.in_session:
                self._send(device, ts004.PORT, [ts004.FragSessionStatusReq(FRAG_INDEX, participants=True)], at)
        run.step, run.due = "done", at + self.window

    def _finish(self, run: _Run) -> None:
        for device in run.devices.values():
            if device.in_session and not device.answered_status:
                device.status = FuotaDeviceStatus.MISSING_FRAG
        statuses = {d.device_id: d.status for d in run.devices.values()}
        self.fuota.record_device_status(run.task.task_id, statuses)
        for group in run.session.groups:  # the class C session is over
            self.wireless.mark_group(group.group.group_id, MulticastGroupStatus.PENDING)
        self.fuota.finish(run.task.task_id)
        del self.runs[run.task.task_id]
        log.info("FUOTA task %s: done, %s", run.task.task_id, statuses)

    # --- answers

    def _heard(self, run: _Run, device: _Device, own_port: int, payload: bytes, at: datetime) -> None:
        port = next((standard for standard, own in device.ports.items() if own == own_port), own_port)
        try:
            commands = decode_uplink(port, payload, device.version or 2)
        except LorawanCodecError as exc:
            log.warning("FUOTA task %s: %s sent what does not decode: %s", run.task.task_id, device.device_id, exc)
            return
        for command in commands:
            match command:
                case PackageVersionAns() if port == ts004.PORT:
                    device.version = command.package_version if command.package_identifier == 3 else None
                case ts003.AppTimeReq():
                    correction = ts003.gps_time(at.timestamp()) - command.device_time
                    self._send(device, ts003.PORT, [ts003.AppTimeAns(_signed32(correction), command.token_req)], at)
                case ts004.FragSessionSetupAns():
                    device.status = fuota_device_status(command)
                    device.in_session = device.status is FuotaDeviceStatus.INITIAL
                case ts004.FragSessionStatusAnsV1() | ts004.FragSessionStatusAnsV2():
                    device.status, device.answered_status = fuota_device_status(command), True
                case ts004.FragDataBlockReceivedReq():
                    device.status = fuota_device_status(command)
                    self._send(device, ts004.PORT, [ts004.FragDataBlockReceivedAns(command.frag_index)], at)

    # --- helpers

    def _send(self, device: _Device, port: int, commands: Sequence[Command], at: datetime) -> None:
        self.network.unicast(device.device_id, device.ports[port], encode_commands(list(commands)), at)

    def _fragmented(self, run: _Run, version: int) -> FragmentedImage:
        if version not in run.images:
            size = self._fragment_size(run)
            nb_frag = -(-len(run.image) // size)
            coded = coded_fragment_count(nb_frag, run.task.settings.redundancy_percent or 0)
            run.images[version] = encode(run.image, size, coded, version=version)
        return run.images[version]

    @staticmethod
    def _fragment_size(run: _Run) -> int:
        """FragmentSizeBytes, which the model supports only for tasks with multicast groups (checked against
        their data rates at StartFuotaTask); devices reached alone get what their RX2 rate carries [U]."""
        rx2_limit = run.region.max_fragment_size(run.region.rx2_data_rate)
        if run.session.groups:
            return run.task.settings.fragment_size or min(DEFAULT_FRAGMENT_SIZE, rx2_limit)
        return min(run.task.settings.fragment_size or DEFAULT_FRAGMENT_SIZE, rx2_limit)

    def _spacing(self, run: _Run, dr: int, frequency_hz: int) -> timedelta:
        image = self._fragmented(run, 2)
        airtime = session_airtime(len(run.image), image.frag_size, image.coded, run.region.region, dr,
                                  fragment_interval_ms=run.task.settings.fragment_interval_ms or 0,
                                  frequency_hz=frequency_hz)
        return timedelta(seconds=airtime.spacing_s)

    def _session_length(self, run: _Run, device: _Device) -> timedelta:
        image = self._fragmented(run, device.version or 2)
        return self._spacing(run, *self._channel(run, _group_of(run, device))) * len(image.fragments)

    @staticmethod
    def _channel(run: _Run, group: SessionGroup | None) -> tuple[int, int]:
        """(data rate, frequency) a device hears fragments on: its group's class C channel, else RX2."""
        if group is None:
            return run.region.rx2_data_rate, run.region.rx2_frequency_hz
        params = region(group.group.rf_region)
        return _data_rate(group.group, params.rx2_data_rate), _frequency(group.group) or params.rx2_frequency_hz


def _root_key(device: SessionDevice) -> bytes:
    keys = device.device.lorawan.keys
    return bytes.fromhex(keys.gen_app_key or keys.app_key or "00" * 16)


def _is_1_1(device: SessionDevice) -> bool:
    return device.device.lorawan.keys.activation is Activation.OTAA_V1_1


def _ports(device: SessionDevice) -> dict[int, int]:
    fports = device.device.lorawan.fports
    fuota, multicast, clock_sync = fports.effective if fports is not None else (ts004.PORT, ts005.PORT, ts003.PORT)
    return {ts004.PORT: fuota, ts005.PORT: multicast, ts003.PORT: clock_sync}


def _group_of(run: _Run, device: _Device) -> SessionGroup | None:
    return next((g for g in run.session.groups if g.group.group_id == device.view.group_id), None)


def _slot(group: SessionGroup | None, device: _Device) -> int:
    """TS005 McGroupID (0..3) of the device's slot in its group (AWS McGroupId 1..4)."""
    if group is None:
        return 0
    member = next(m for m in group.members if m.device_id == device.device_id)
    return (member.mc_group_id - 1) & 3


def _mc_addr(group_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"mcaddr\0{group_id}".encode()).digest()[:4], "little")


def _mc_key(run: _Run, group_id: str) -> bytes:
    return hashlib.sha256(f"mckey\0{run.task.task_id}\0{group_id}".encode()).digest()[:16]


def _data_rate(group: MulticastGroup, default: int) -> int:
    return default if group.dl_dr is None else group.dl_dr


def _frequency(group: MulticastGroup) -> int | None:
    return group.session.dl_freq if group.session is not None and group.session.dl_freq else None


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value
