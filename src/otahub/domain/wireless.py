"""IoT Wireless resources for LoRaWAN: destinations, wireless devices and multicast groups. Pure Python.

A wireless device is a LoRaWAN end device known to the network: its activation (OTAA or ABP, LoRaWAN
1.0.x or 1.1) with its keys, the FPorts of the application-layer packages (TS003 clock sync, TS004
fragmentation, TS005 multicast setup), and the destination its uplinks go to. A multicast group is a
set of devices that share one multicast session (class B or C); its session is stored here and run by
the session engine later. FUOTA tasks are in domain/fuota.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from otahub.domain.errors import Conflict, InvalidInput
from otahub.domain.lorawan.regions import RfRegion

# --- shared rules -------------------------------------------------------------------------------------

MAX_TAGS = 200
SIMULATED_LOSS_TAG = "otahub:simulated-loss"  # downlink loss ratio of the device's simulated radio, 0..1
SIMULATED_FAULT_TAG = "otahub:simulated-fault"  # a fault the simulated end device shows (corrupt, no-memory, v1 ...)


def check_tags(tags: Mapping[str, str]) -> None:
    """At most 200 tags, no reserved `aws:` keys, and a simulated loss that is a ratio."""
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"Tags: a resource can have at most {MAX_TAGS} tags, not {len(tags)}", field="Tags")
    for key in tags:
        if key.lower().startswith("aws:"):
            raise InvalidInput(f"Tags: keys starting with 'aws:' are reserved: {key}", field="Tags")
    simulated_loss(tags)  # refuses a loss that is not a ratio


def simulated_loss(tags: Mapping[str, str]) -> float:
    """The `otahub:simulated-loss` ratio of a device's tags (0 without the tag)."""
    raw = tags.get(SIMULATED_LOSS_TAG)
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"Tags: {SIMULATED_LOSS_TAG} is a ratio between 0 and 1, not {raw!r}", field="Tags")
    return value


def fingerprint(request: object) -> str:
    """A fingerprint of a request's parameters (maps compare whatever their order): a ClientRequestToken
    replayed with the same parameters is the same request."""
    return hashlib.sha256(repr(_canonical(request)).encode()).hexdigest()


def _canonical(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((f.name, _canonical(getattr(value, f.name))) for f in fields(value)))
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), _canonical(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("seq", tuple(_canonical(v) for v in value))
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class Idempotent(Protocol):
    @property
    def client_token(self) -> str | None: ...
    @property
    def request_hash(self) -> str | None: ...


Made = TypeVar("Made", bound=Idempotent)


def replayed(existing: Made | None, request_hash: str, operation: str) -> Made | None:
    """What an earlier request with the same ClientRequestToken made, if its parameters were the same; a
    token reused with other parameters is a ConflictException."""
    if existing is None:
        return None
    if existing.request_hash != request_hash:
        raise Conflict(f"ClientRequestToken {existing.client_token} was already used for a {operation} request "
                       "with other parameters", field="ClientRequestToken")
    return existing


# --- destinations -------------------------------------------------------------------------------------


class ExpressionType(StrEnum):
    RULE_NAME = "RuleName"
    MQTT_TOPIC = "MqttTopic"


def check_expression(expression_type: ExpressionType, expression: str) -> None:
    """A rule name as AWS IoT names rules, or an MQTT topic to publish to (no wildcards)."""
    if expression_type is ExpressionType.RULE_NAME:
        if not expression or not all(c.isascii() and (c.isalnum() or c == "_") for c in expression):
            raise InvalidInput(f"Expression: {expression!r} is not a rule name (letters, digits and _)",
                               field="Expression")
    elif not expression or "+" in expression or "#" in expression:
        raise InvalidInput(f"Expression: {expression!r} is not an MQTT topic to publish to (no wildcards)",
                           field="Expression")


@dataclass(frozen=True, slots=True)
class Destination:
    name: str
    expression_type: ExpressionType
    expression: str
    description: str | None
    role_arn: str
    created_at: datetime
    client_token: str | None = None
    request_hash: str | None = None


# --- wireless devices ---------------------------------------------------------------------------------


class DeviceType(StrEnum):
    LORAWAN = "LoRaWAN"
    SIDEWALK = "Sidewalk"


class Activation(StrEnum):
    """How a LoRaWAN device joins, by the model's member names."""

    OTAA_V1_1 = "OtaaV1_1"
    OTAA_V1_0_X = "OtaaV1_0_x"
    ABP_V1_1 = "AbpV1_1"
    ABP_V1_0_X = "AbpV1_0_x"

    @property
    def is_otaa(self) -> bool:
        return self in (Activation.OTAA_V1_1, Activation.OTAA_V1_0_X)


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """The activation and its keys (hex, as given); which members apply depends on the activation."""

    activation: Activation
    app_key: str | None = None
    nwk_key: str | None = None
    join_eui: str | None = None
    app_eui: str | None = None
    gen_app_key: str | None = None
    dev_addr: str | None = None
    nwk_s_key: str | None = None
    app_s_key: str | None = None
    f_nwk_s_int_key: str | None = None
    s_nwk_s_int_key: str | None = None
    nwk_s_enc_key: str | None = None
    fcnt_start: int | None = None


# The members each activation needs, as the model spells their paths.
REQUIRED_KEYS: dict[Activation, tuple[tuple[str, str], ...]] = {
    Activation.OTAA_V1_1: (("app_key", "AppKey"), ("nwk_key", "NwkKey"), ("join_eui", "JoinEui")),
    Activation.OTAA_V1_0_X: (("app_key", "AppKey"),),
    Activation.ABP_V1_1: (("dev_addr", "DevAddr"), ("f_nwk_s_int_key", "SessionKeys.FNwkSIntKey"),
                          ("s_nwk_s_int_key", "SessionKeys.SNwkSIntKey"),
                          ("nwk_s_enc_key", "SessionKeys.NwkSEncKey"), ("app_s_key", "SessionKeys.AppSKey")),
    Activation.ABP_V1_0_X: (("dev_addr", "DevAddr"), ("nwk_s_key", "SessionKeys.NwkSKey"),
                            ("app_s_key", "SessionKeys.AppSKey")),
}


def check_keys(keys: DeviceKeys) -> None:
    for attribute, member in REQUIRED_KEYS[keys.activation]:
        if getattr(keys, attribute) is None:
            path = f"LoRaWAN.{keys.activation.value}.{member}"
            raise InvalidInput(f"{path} is required for a {keys.activation.value} device", field=path)
    if keys.activation is Activation.OTAA_V1_0_X and keys.app_eui is None and keys.join_eui is None:
        path = "LoRaWAN.OtaaV1_0_x.AppEui"
        raise InvalidInput(f"{path} (or JoinEui) is required for a OtaaV1_0_x device", field=path)


@dataclass(frozen=True, slots=True)
class PositioningPorts:
    clock_sync: int | None = None
    stream: int | None = None
    gnss: int | None = None


@dataclass(frozen=True, slots=True)
class ApplicationPort:
    fport: int | None = None
    type: str | None = None
    destination_name: str | None = None


DEFAULT_FUOTA_PORT, DEFAULT_MULTICAST_PORT, DEFAULT_CLOCK_SYNC_PORT = 201, 200, 202


@dataclass(frozen=True, slots=True)
class FPorts:
    """The FPorts of the application-layer packages, as given (None: the package's default port)."""

    fuota: int | None = None
    multicast: int | None = None
    clock_sync: int | None = None
    positioning: PositioningPorts | None = None
    applications: tuple[ApplicationPort, ...] | None = None

    @property
    def effective(self) -> tuple[int, int, int]:
        """(fragmentation, multicast setup, clock sync) ports, defaults filled in."""
        return (self.fuota or DEFAULT_FUOTA_PORT, self.multicast or DEFAULT_MULTICAST_PORT,
                self.clock_sync or DEFAULT_CLOCK_SYNC_PORT)

    def check(self) -> None:
        fuota, multicast, clock_sync = self.effective
        if len({fuota, multicast, clock_sync}) < 3:
            raise InvalidInput(f"LoRaWAN.FPorts: Fuota ({fuota}), Multicast ({multicast}) and ClockSync "
                               f"({clock_sync}) are the ports of three packages and must differ",
                               field="LoRaWAN.FPorts")


@dataclass(frozen=True, slots=True)
class LoRaWANDevice:
    dev_eui: str
    keys: DeviceKeys
    device_profile_id: str | None = None
    service_profile_id: str | None = None
    fports: FPorts | None = None

    def check_fuota_ready(self, device_id: str) -> None:
        """Multicast and FUOTA derive their keys from a root key: OTAA, with GenAppKey on 1.0.x."""
        if not self.keys.activation.is_otaa:
            raise InvalidInput(f"Wireless device {device_id} is an ABP device: multicast and FUOTA derive their "
                               "keys from the root key of an OTAA device", field="WirelessDeviceId")
        if self.keys.activation is Activation.OTAA_V1_0_X and self.keys.gen_app_key is None:
            raise InvalidInput(f"Wireless device {device_id} is a LoRaWAN 1.0.x device without "
                               "LoRaWAN.OtaaV1_0_x.GenAppKey, which multicast and FUOTA need",
                               field="LoRaWAN.OtaaV1_0_x.GenAppKey")


@dataclass(frozen=True, slots=True)
class WirelessDevice:
    device_id: str
    type: DeviceType
    name: str | None
    description: str | None
    destination_name: str
    lorawan: LoRaWANDevice
    positioning: str | None
    created_at: datetime
    updated_at: datetime
    thing_name: str | None = None
    client_token: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """UpdateWirelessDevice: None leaves a member as it is."""

    destination_name: str | None = None
    name: str | None = None
    description: str | None = None
    device_profile_id: str | None = None
    service_profile_id: str | None = None
    abp_v1_1_fcnt_start: int | None = None
    abp_v1_0_x_fcnt_start: int | None = None
    positioning_ports: PositioningPorts | None = None
    applications: tuple[ApplicationPort, ...] | None = None
    positioning: str | None = None


def updated_device(device: WirelessDevice, change: DeviceUpdate, now: datetime) -> WirelessDevice:
    lorawan = device.lorawan
    keys = lorawan.keys
    for activation, fcnt in ((Activation.ABP_V1_1, change.abp_v1_1_fcnt_start),
                             (Activation.ABP_V1_0_X, change.abp_v1_0_x_fcnt_start)):
        if fcnt is None:
            continue
        if keys.activation is not activation:
            path = f"LoRaWAN.{activation.value}.FCntStart"
            raise InvalidInput(f"{path}: wireless device {device.device_id} is a {keys.activation.value} device",
                               field=path)
        keys = replace(keys, fcnt_start=fcnt)
    fports = lorawan.fports or FPorts()
    if change.positioning_ports is not None:
        fports = replace(fports, positioning=change.positioning_ports)
    if change.applications is not None:
        fports = replace(fports, applications=change.applications)
    lorawan = replace(
        lorawan, keys=keys, fports=fports if fports != FPorts() else lorawan.fports,
        device_profile_id=_or(change.device_profile_id, lorawan.device_profile_id),
        service_profile_id=_or(change.service_profile_id, lorawan.service_profile_id),
    )
    return replace(
        device, lorawan=lorawan, updated_at=now, destination_name=_or(change.destination_name, device.destination_name),
        name=_or(change.name, device.name), description=_or(change.description, device.description),
        positioning=_or(change.positioning, device.positioning),
    )


T = TypeVar("T")


def _or(new: T | None, old: T) -> T:
    return old if new is None else new


# --- multicast groups ---------------------------------------------------------------------------------


class DlClass(StrEnum):
    CLASS_B = "ClassB"
    CLASS_C = "ClassC"


class MulticastGroupStatus(StrEnum):
    """Pending: no session, members may change. Session_Attempting: a session is scheduled (set-up with the
    devices runs; members fixed). In_Session: the session's start time has come."""

    PENDING = "Pending"
    SESSION_ATTEMPTING = "Session_Attempting"
    IN_SESSION = "In_Session"


INITIAL_MEMBER_STATUS = "Pending"  # a member's MulticastDeviceStatus before the session engine reports
MAX_GROUPS_PER_DEVICE = 4  # TS005: McGroupID is two bits
MIN_SESSION_LEAD = timedelta(minutes=30)  # a session starts at least 30 minutes after it is scheduled
MAX_SESSION_LEAD = timedelta(hours=48)  # ... and at most 48 hours after
MAX_SESSION_TIMEOUT = 131072  # the largest power of two of the model's range (60..172800 s)


@dataclass(frozen=True, slots=True)
class Gateways:
    gateway_list: tuple[str, ...] | None = None
    transmission_interval: int | None = None


@dataclass(frozen=True, slots=True)
class SessionDefaults:
    dl_dr: int | None = None
    dl_freq: int | None = None


@dataclass(frozen=True, slots=True)
class MulticastSession:
    start_time: datetime
    dl_dr: int | None = None
    dl_freq: int | None = None
    timeout: int | None = None  # seconds, a power of two
    ping_slot_period: int | None = None


@dataclass(frozen=True, slots=True)
class MulticastGroup:
    group_id: str
    name: str | None
    description: str | None
    rf_region: RfRegion
    dl_class: DlClass
    gateways: Gateways | None
    defaults: SessionDefaults | None
    status: MulticastGroupStatus
    created_at: datetime
    updated_at: datetime
    session: MulticastSession | None = None
    client_token: str | None = None
    request_hash: str | None = None

    @property
    def dl_dr(self) -> int | None:
        """The data rate of the session (its own, else the group's default)."""
        own = self.session.dl_dr if self.session is not None else None
        return own if own is not None else (self.defaults.dl_dr if self.defaults else None)


def session_timeout(seconds: int | None) -> int | None:
    """SessionTimeout rounded up to the next power of two, within the model's range."""
    if seconds is None:
        return None
    return min(1 << max(seconds - 1, 1).bit_length(), MAX_SESSION_TIMEOUT)


def check_session(group: MulticastGroup, session: MulticastSession, now: datetime) -> MulticastSession:
    """A session as it will be kept: start 30 min to 48 h ahead, a power-of-two ping slot period (class B),
    the timeout rounded up to a power of two, data rate and frequency defaulting to the group's."""
    if not now + MIN_SESSION_LEAD <= session.start_time <= now + MAX_SESSION_LEAD:
        raise InvalidInput(f"LoRaWAN.SessionStartTime: {session.start_time.isoformat()} is not between 30 minutes "
                           "and 48 hours from now", field="LoRaWAN.SessionStartTime")
    period = session.ping_slot_period
    if period is not None and period & (period - 1):
        raise InvalidInput(f"LoRaWAN.PingSlotPeriod: {period} is not a power of two (32 to 4096)",
                           field="LoRaWAN.PingSlotPeriod")
    defaults = group.defaults or SessionDefaults()
    return replace(
        session, timeout=session_timeout(session.timeout),
        dl_dr=_or(session.dl_dr, defaults.dl_dr), dl_freq=_or(session.dl_freq, defaults.dl_freq),
    )
