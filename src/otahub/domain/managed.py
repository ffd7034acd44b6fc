"""Managed integrations (iot-managed-integrations): managed things, OTA task configurations and OTA
tasks, as faces of the registry's things and of jobs. Pure Python.

- A managed thing is backed by the IoT thing named by its Id, so the device plane (the
  ``$aws/things/{thingName}/jobs/...`` topics and the iot-jobs-data API) serves its device unchanged:
  the device identifies itself as that thing (thing name = managed thing Id). The backing thing's
  attributes index the managed thing for fleet queries: its MetaData pairs as they are
  (``attributes.<key>``), its own fields under ``managedThing.`` (``attributes.managedThing.Brand``).
- An OTA task is one job whose id is the task id: its document is the S3Url object's text, ONE_TIME
  is SNAPSHOT and CONTINUOUS is CONTINUOUS, the task configuration's PushConfig gives the job's
  rollout, abort and timeout configs, the retry and scheduling configs map one to one. An
  OtaTargetQueryString becomes a dynamic thing group over managed things whose query is the target
  query rewritten into those attribute names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from otahub.domain.errors import Conflict, InvalidInput
from otahub.domain.fleet_query import All, And, Exists, parse_query, renamed, render
from otahub.domain.jobs import JobConfig, RetryCriterion, SchedulingConfig, WindowSpec, check_config, check_schedule
from otahub.domain.schedule import parse_cron, parse_schedule_time

# --- managed things --------------------------------------------------------------------------------

FIELD_PREFIX = "managedThing."  # the backing thing's attributes that hold the managed thing's own fields
QUERY_FIELDS = ("Role", "Name", "Brand", "Model", "SerialNumber", "Owner", "Classification", "CredentialLockerId",
                "ProvisioningStatus", "HubNetworkMode")
ID_FIELDS = ("Id", "ManagedThingId", "thingName")
MARKER = f"attributes.{FIELD_PREFIX}Role"  # every managed thing has a Role: what sets them apart from other things


@dataclass(frozen=True, slots=True)
class Profile:
    """What a managed thing says about itself: every member Create and UpdateManagedThing set besides Role and the
    authentication material. The capability members are kept as the client gave them; otahub reads none of them."""

    owner: str | None = None
    credential_locker_id: str | None = None
    serial_number: str | None = None
    brand: str | None = None
    model: str | None = None
    name: str | None = None
    classification: str | None = None
    hub_network_mode: str | None = None
    meta_data: Mapping[str, str] | None = None
    capability_report: Mapping[str, Any] | None = None
    capability_schemas: tuple[Mapping[str, Any], ...] | None = None
    capabilities: str | None = None
    wifi_setup: Mapping[str, Any] | None = None

    def merged(self, update: Profile) -> Profile:
        """This profile with every member ``update`` gives replaced (MetaData as a whole)."""
        given = {f.name: getattr(update, f.name) for f in fields(update) if getattr(update, f.name) is not None}
        return replace(self, **given)

    def indexed(self) -> dict[str, str]:
        """The fields fleet queries read, by query field name."""
        values = {"Name": self.name, "Brand": self.brand, "Model": self.model, "SerialNumber": self.serial_number,
                  "Owner": self.owner, "Classification": self.classification,
                  "CredentialLockerId": self.credential_locker_id, "HubNetworkMode": self.hub_network_mode}
        return {k: v for k, v in values.items() if v is not None}


def check_meta_data(meta_data: Mapping[str, str] | None) -> None:
    for key in meta_data or {}:
        if key.startswith(FIELD_PREFIX):
            raise InvalidInput(f"MetaData: keys starting with '{FIELD_PREFIX}' are reserved, not {key!r}",
                               field="MetaData")


@dataclass(frozen=True, slots=True)
class ManagedThing:
    managed_thing_id: str
    role: str  # CONTROLLER | DEVICE
    authentication_material: str
    authentication_material_type: str
    provisioning_status: str
    profile: Profile
    created_at: datetime
    updated_at: datetime
    client_token: str | None = None
    request_hash: str | None = None

    def attributes(self) -> dict[str, str]:
        """The backing thing's attributes: MetaData as it is, the managed thing's own fields under the prefix."""
        own = {"Role": self.role, "ProvisioningStatus": self.provisioning_status, **self.profile.indexed()}
        return {**dict(self.profile.meta_data or {}), **{f"{FIELD_PREFIX}{k}": v for k, v in own.items()}}


def initial_provisioning_status(authentication_material_type: str, owner: str | None) -> str:
    """[U] AWS moves a managed thing through its provisioning states as its device is set up; otahub has no
    setup flow, so a new one is DISCOVERED (a discovered device), PRE_ASSOCIATED (given an owner) or UNASSOCIATED."""
    if authentication_material_type == "DISCOVERED_DEVICE":
        return "DISCOVERED"
    return "PRE_ASSOCIATED" if owner else "UNASSOCIATED"


# --- target queries --------------------------------------------------------------------------------

QUERY_FIELD = "OtaTargetQueryString"


def _thing_field(name: str) -> str:
    if name in ID_FIELDS:
        return "thingName"
    if name in QUERY_FIELDS:
        return f"attributes.{FIELD_PREFIX}{name}"
    for prefix in ("MetaData.", "attributes."):
        if name.startswith(prefix) and len(name) > len(prefix):
            return "attributes." + name[len(prefix):]
    known = ", ".join((*ID_FIELDS[:1], *QUERY_FIELDS, "MetaData.<key>", "attributes.<key>"))
    raise InvalidInput(f"{QUERY_FIELD}: managed things have no field {name!r}; the fields are {known}",
                       field=QUERY_FIELD)


def target_query(text: str) -> str:
    """An OTA target query over managed-thing fields, as a things query (only managed things match it)."""
    root = renamed(parse_query(text, field=QUERY_FIELD).root, _thing_field)
    marker = Exists(MARKER)
    return render(marker if isinstance(root, All) else And((marker, root)))


# --- OTA task configurations -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskConfiguration:
    configuration_id: str
    name: str | None
    description: str | None
    push: JobConfig  # PushConfig: the rollout, abort and in-progress timeout of the tasks that use it
    created_at: datetime
    client_token: str | None = None
    request_hash: str | None = None


# --- OTA tasks ---------------------------------------------------------------------------------------


class OtaType(StrEnum):
    ONE_TIME = "ONE_TIME"
    CONTINUOUS = "CONTINUOUS"

    @property
    def target_selection(self) -> str:
        return "SNAPSHOT" if self is OtaType.ONE_TIME else "CONTINUOUS"


@dataclass(frozen=True, slots=True)
class OtaSchedule:
    """OtaSchedulingConfig as given (times as strings, windows as AWS cron expressions)."""

    start_time: str | None = None
    end_time: str | None = None
    end_behavior: str | None = None
    windows: tuple[WindowSpec, ...] = ()

    def for_job(self) -> SchedulingConfig:
        """The job's SchedulingConfig. EndBehavior applies only with an EndTime (the model says so), so without
        one it is left out."""
        for window in self.windows:
            parse_cron(window.cron, field="OtaSchedulingConfig.MaintenanceWindows.StartTime")
        start, end = self.start_time, self.end_time
        return SchedulingConfig(
            start_time=start, end_time=end, end_behavior=self.end_behavior if end else None, windows=self.windows,
            starts_at=parse_schedule_time(start, field="OtaSchedulingConfig.StartTime") if start else None,
            ends_at=parse_schedule_time(end, field="OtaSchedulingConfig.EndTime") if end else None,
        )


@dataclass(frozen=True, slots=True)
class OtaTask:
    task_id: str
    job_id: str
    s3_url: str
    ota_type: OtaType
    protocol: str
    mechanism: str
    targets: tuple[str, ...]  # as given: managed-thing ids or ARNs
    query_string: str | None
    group_name: str | None  # the dynamic thing group that follows query_string
    task_configuration_id: str | None
    description: str | None
    schedule: OtaSchedule | None
    retry: tuple[RetryCriterion, ...]
    created_at: datetime
    updated_at: datetime
    client_token: str | None = None
    request_hash: str | None = None


def task_group_name(task_id: str) -> str:
    return f"ota-task-{task_id}"


# The engine's checks name Jobs members; an OTA task's request names these instead.
_MEMBER_NAMES = (
    ("jobExecutionsRolloutConfig.exponentialRate.rateIncreaseCriteria",
     "PushConfig.RolloutConfig.ExponentialRolloutRate.RateIncreaseCriteria"),
    ("jobExecutionsRolloutConfig.exponentialRate.incrementFactor",
     "PushConfig.RolloutConfig.ExponentialRolloutRate.IncrementFactor"),
    ("jobExecutionsRolloutConfig.exponentialRate.baseRatePerMinute",
     "PushConfig.RolloutConfig.ExponentialRolloutRate.BaseRatePerMinute"),
    ("abortConfig.criteriaList.thresholdPercentage",
     "PushConfig.AbortConfig.AbortConfigCriteriaList.ThresholdPercentage"),
    ("timeoutConfig.inProgressTimeoutInMinutes", "PushConfig.TimeoutConfig.InProgressTimeoutInMinutes"),
    ("jobExecutionsRetryConfig.criteriaList", "OtaTaskExecutionRetryConfig.RetryConfigCriteria"),
    ("schedulingConfig.maintenanceWindows.durationInMinutes",
     "OtaSchedulingConfig.MaintenanceWindows.DurationInMinutes"),
    ("schedulingConfig.startTime", "OtaSchedulingConfig.StartTime"),
    ("schedulingConfig.endTime", "OtaSchedulingConfig.EndTime"),
    ("schedulingConfig.endBehavior", "OtaSchedulingConfig.EndBehavior"),
)


def _in_task_terms(error: InvalidInput) -> InvalidInput:
    message, name = error.message, error.field
    for jobs_name, task_name in _MEMBER_NAMES:
        message = message.replace(jobs_name, task_name)
        name = task_name if name == jobs_name else name
    return InvalidInput(message, field=name)


def checked_job_config(config: JobConfig, now: datetime) -> JobConfig:
    """The engine's own configuration rules (one copy of them), their errors naming the task's members."""
    try:
        check_config(config)
        if config.scheduling is not None:
            check_schedule(config.scheduling, now)
    except InvalidInput as error:
        raise _in_task_terms(error) from error
    return config


def task_job_config(push: JobConfig | None, retry: tuple[RetryCriterion, ...], schedule: OtaSchedule | None,
                    now: datetime) -> JobConfig:
    """The job configuration of a task: its configuration's PushConfig, its retries and its schedule."""
    push = push or JobConfig()
    config = replace(push, retry=retry, scheduling=schedule.for_job() if schedule is not None else None)
    return checked_job_config(config, now)


# --- idempotency -----------------------------------------------------------------------------------


def request_hash(request: object) -> str:
    """A fingerprint of a request's parameters (maps compare whatever their order): a ClientToken replay
    with the same parameters is the same request."""
    return hashlib.sha256(repr(_canonical(request)).encode()).hexdigest()


def _canonical(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((f.name, _canonical(getattr(value, f.name))) for f in fields(value)))
    if isinstance(value, Mapping):
        return ("map", tuple(sorted(((str(k), _canonical(v)) for k, v in value.items()), key=lambda kv: kv[0])))
    if isinstance(value, list | tuple):
        return ("seq", tuple(_canonical(v) for v in value))
    return value



class _Idempotent(Protocol):
    @property
    def client_token(self) -> str | None: ...
    @property
    def request_hash(self) -> str | None: ...


Made = TypeVar("Made", bound=_Idempotent)


def replayed(existing: Made | None, fingerprint: str, operation: str) -> Made | None:
    """What an earlier request with the same ClientToken made, if its parameters were the same; a token
    reused with other parameters is a ConflictException."""
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise Conflict(f"ClientToken {existing.client_token} was already used for a {operation} request with "
                       "other parameters", field="ClientToken")
    return existing
