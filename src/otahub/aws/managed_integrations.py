"""iot-managed-integrations: managed things, OTA task configurations and OTA tasks.

Wire parameters (PascalCase, with the model's own lower-case exceptions) in, ManagedThingService and
OtaTaskService calls, wire results out. PushConfig, OtaTaskExecutionRetryConfig and
OtaSchedulingConfig become the jobs engine's configuration here; members the model leaves optional
but the engine needs are refused with AWS's "must not be null" wording, naming the member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.iot_jobs import without_none
from otahub.domain.errors import InvalidInput
from otahub.domain.executions import Execution, ExecutionStatus
from otahub.domain.ids import Arns
from otahub.domain.jobs import AbortCriterion, ExponentialRate, JobConfig, RetryCriterion, RolloutConfig, WindowSpec
from otahub.domain.managed import ManagedThing, OtaSchedule, OtaType, Profile, TaskConfiguration
from otahub.services.managed_things import ManagedThingRequest, ManagedThingService
from otahub.services.ota_tasks import OtaTaskRequest, OtaTaskService, TaskConfigurationRequest, TaskView
from otahub.services.ports import ManagedThingFilter

SERVICE = "iot-managed-integrations"

PROCESSING_FIELDS = {  # TaskProcessingDetails, in the model's mixed casing
    ExecutionStatus.CANCELED: "NumberOfCanceledThings", ExecutionStatus.FAILED: "NumberOfFailedThings",
    ExecutionStatus.IN_PROGRESS: "NumberOfInProgressThings", ExecutionStatus.QUEUED: "numberOfQueuedThings",
    ExecutionStatus.REJECTED: "numberOfRejectedThings", ExecutionStatus.REMOVED: "numberOfRemovedThings",
    ExecutionStatus.SUCCEEDED: "numberOfSucceededThings", ExecutionStatus.TIMED_OUT: "numberOfTimedOutThings",
}
# Filters on members otahub never sets (no operation it implements writes them): they match nothing.
UNSET_FILTERS = ("ParentControllerIdentifierFilter", "ConnectorPolicyIdFilter", "ConnectorDestinationIdFilter",
                 "ConnectorDeviceIdFilter")


def _required(data: Mapping[str, Any], name: str, path: str) -> Any:
    value = data.get(name)
    if value is None:
        raise InvalidInput(f"1 validation error detected: Value null at '{path}.{name}' failed to satisfy "
                           "constraint: Member must not be null", field=f"{path}.{name}")
    return value


# --- configurations: wire <-> domain ------------------------------------------------------------------


def push_from_wire(data: Mapping[str, Any] | None) -> JobConfig:
    data = data or {}
    rollout, abort, timeout = data.get("RolloutConfig"), data.get("AbortConfig"), data.get("TimeoutConfig")
    return JobConfig(
        rollout=None if rollout is None else _rollout_from_wire(rollout),
        abort=tuple(_abort_from_wire(c) for c in (abort or {}).get("AbortConfigCriteriaList") or ()),
        in_progress_timeout_minutes=(timeout or {}).get("InProgressTimeoutInMinutes"),
    )


def _rollout_from_wire(data: Mapping[str, Any]) -> RolloutConfig:
    ramp = data.get("ExponentialRolloutRate")
    path = "PushConfig.RolloutConfig.ExponentialRolloutRate"
    exponential = None
    if ramp is not None:
        criteria = ramp.get("RateIncreaseCriteria") or {}
        exponential = ExponentialRate(
            _required(ramp, "BaseRatePerMinute", path), float(_required(ramp, "IncrementFactor", path)),
            criteria.get("numberOfNotifiedThings"), criteria.get("numberOfSucceededThings"),
        )
    return RolloutConfig(data.get("MaximumPerMinute"), exponential)


def _abort_from_wire(data: Mapping[str, Any]) -> AbortCriterion:
    path = "PushConfig.AbortConfig.AbortConfigCriteriaList"
    return AbortCriterion(_required(data, "FailureType", path), float(_required(data, "ThresholdPercentage", path)),
                          _required(data, "MinNumberOfExecutedThings", path), data.get("Action") or "CANCEL")


def push_to_wire(config: JobConfig) -> Result:
    rollout = config.rollout
    ramp = rollout.exponential if rollout is not None else None
    return without_none({
        "AbortConfig": {"AbortConfigCriteriaList": [
            {"Action": c.action, "FailureType": c.failure_type, "MinNumberOfExecutedThings": c.min_executed,
             "ThresholdPercentage": c.threshold_percentage} for c in config.abort]} if config.abort else None,
        "RolloutConfig": None if rollout is None else without_none({
            "MaximumPerMinute": rollout.maximum_per_minute,
            "ExponentialRolloutRate": None if ramp is None else {
                "BaseRatePerMinute": ramp.base_rate_per_minute, "IncrementFactor": ramp.increment_factor,
                "RateIncreaseCriteria": without_none({"numberOfNotifiedThings": ramp.notified_step,
                                                        "numberOfSucceededThings": ramp.succeeded_step}),
            },
        }),
        "TimeoutConfig": None if config.in_progress_timeout_minutes is None else {
            "InProgressTimeoutInMinutes": config.in_progress_timeout_minutes},
    })


def retry_from_wire(data: Mapping[str, Any] | None) -> tuple[RetryCriterion, ...]:
    path = "OtaTaskExecutionRetryConfig.RetryConfigCriteria"
    return tuple(RetryCriterion(_required(c, "FailureType", path), _required(c, "MinNumberOfRetries", path))
                 for c in (data or {}).get("RetryConfigCriteria") or ())


def schedule_from_wire(data: Mapping[str, Any] | None) -> OtaSchedule | None:
    if data is None:
        return None
    path = "OtaSchedulingConfig.MaintenanceWindows"
    windows = tuple(WindowSpec(_required(w, "StartTime", path), _required(w, "DurationInMinutes", path))
                    for w in data.get("MaintenanceWindows") or ())
    return OtaSchedule(data.get("StartTime"), data.get("EndTime"), data.get("EndBehavior"), windows)


def schedule_to_wire(schedule: OtaSchedule | None) -> Result | None:
    if schedule is None:
        return None
    return without_none({
        "StartTime": schedule.start_time, "EndTime": schedule.end_time, "EndBehavior": schedule.end_behavior,
        "MaintenanceWindows": [{"StartTime": w.cron, "DurationInMinutes": w.duration_minutes}
                               for w in schedule.windows] or None,
    })


def profile_from_wire(p: Params) -> Profile:
    schemas = p.get("CapabilitySchemas")
    return Profile(
        owner=p.get("Owner"), credential_locker_id=p.get("CredentialLockerId"), serial_number=p.get("SerialNumber"),
        brand=p.get("Brand"), model=p.get("Model"), name=p.get("Name"), classification=p.get("Classification"),
        hub_network_mode=p.get("HubNetworkMode"), meta_data=p.get("MetaData"),
        capability_report=p.get("CapabilityReport"), capabilities=p.get("Capabilities"),
        capability_schemas=None if schemas is None else tuple(schemas),
        wifi_setup=p.get("WiFiSimpleSetupConfiguration"),
    )


def _execution_summary(e: Execution) -> Result:
    return {"ManagedThingId": e.thing_name, "TaskExecutionSummary": without_none({
        "ExecutionNumber": e.execution_number, "LastUpdatedAt": e.last_updated_at, "QueuedAt": e.queued_at,
        "RetryAttempt": e.retry_attempt, "StartedAt": e.started_at, "Status": e.status.value,
    })}


class ManagedIntegrationsApi:
    def __init__(self, things: ManagedThingService, tasks: OtaTaskService, arns: Arns) -> None:
        self.things = things
        self.tasks = tasks
        self.arns = arns

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateManagedThing": self.create_managed_thing, "GetManagedThing": self.get_managed_thing,
            "ListManagedThings": self.list_managed_things, "UpdateManagedThing": self.update_managed_thing,
            "DeleteManagedThing": self.delete_managed_thing, "GetManagedThingState": self.get_managed_thing_state,
            "GetManagedThingMetaData": self.get_managed_thing_meta_data,
            "CreateOtaTaskConfiguration": self.create_ota_task_configuration,
            "GetOtaTaskConfiguration": self.get_ota_task_configuration,
            "ListOtaTaskConfigurations": self.list_ota_task_configurations,
            "DeleteOtaTaskConfiguration": self.delete_ota_task_configuration,
            "CreateOtaTask": self.create_ota_task, "GetOtaTask": self.get_ota_task, "ListOtaTasks": self.list_ota_tasks,
            "UpdateOtaTask": self.update_ota_task, "DeleteOtaTask": self.delete_ota_task,
            "ListOtaTaskExecutions": self.list_ota_task_executions,
        }

    # --- managed things ------------------------------------------------------------------------------

    def create_managed_thing(self, ctx: CallContext, p: Params) -> Result:
        thing = self.things.create(ManagedThingRequest(
            role=p["Role"], authentication_material=p["AuthenticationMaterial"],
            authentication_material_type=p["AuthenticationMaterialType"], profile=profile_from_wire(p),
            tags=dict(p.get("Tags") or {}), client_token=p.get("ClientToken"),
        ))
        return {"Id": thing.managed_thing_id, "Arn": self.arns.managed_thing(thing.managed_thing_id),
                "CreatedAt": thing.created_at}

    def _summary(self, thing: ManagedThing) -> Result:
        profile = thing.profile
        return without_none({
            "Id": thing.managed_thing_id, "Arn": self.arns.managed_thing(thing.managed_thing_id),
            "Role": thing.role, "ProvisioningStatus": thing.provisioning_status, "Owner": profile.owner,
            "CredentialLockerId": profile.credential_locker_id, "Name": profile.name, "Model": profile.model,
            "Brand": profile.brand, "SerialNumber": profile.serial_number, "Classification": profile.classification,
            "CreatedAt": thing.created_at, "UpdatedAt": thing.updated_at,
        })

    def get_managed_thing(self, ctx: CallContext, p: Params) -> Result:
        thing, tags = self.things.get(p["Identifier"])
        return without_none({
            **self._summary(thing), "HubNetworkMode": thing.profile.hub_network_mode,
            "MetaData": dict(thing.profile.meta_data) if thing.profile.meta_data else None, "Tags": tags or None,
            "WiFiSimpleSetupConfiguration": thing.profile.wifi_setup,
        })

    def list_managed_things(self, ctx: CallContext, p: Params) -> Result:
        if any(p.get(name) is not None for name in UNSET_FILTERS):
            return {"Items": []}
        where = ManagedThingFilter(p.get("OwnerFilter"), p.get("CredentialLockerFilter"), p.get("RoleFilter"),
                                   p.get("SerialNumberFilter"), p.get("ProvisioningStatusFilter"))
        page = self.things.list(where, p.get("NextToken"), p.get("MaxResults"))
        return {"Items": [self._summary(t) for t in page.items], "NextToken": page.next_token}

    def update_managed_thing(self, ctx: CallContext, p: Params) -> Result:
        self.things.update(p["Identifier"], profile_from_wire(p))
        return {}

    def delete_managed_thing(self, ctx: CallContext, p: Params) -> Result:
        self.things.delete(p["Identifier"], bool(p.get("Force")))
        return {}

    def get_managed_thing_state(self, ctx: CallContext, p: Params) -> Result:
        # [U] No device reports capability state to otahub (it carries OTA only), so there are no endpoints.
        self.things.get(p["ManagedThingId"])
        return {"Endpoints": []}

    def get_managed_thing_meta_data(self, ctx: CallContext, p: Params) -> Result:
        thing, _ = self.things.get(p["Identifier"])
        meta_data = thing.profile.meta_data
        return without_none({"ManagedThingId": thing.managed_thing_id,
                             "MetaData": dict(meta_data) if meta_data else None})

    # --- OTA task configurations ---------------------------------------------------------------------

    def create_ota_task_configuration(self, ctx: CallContext, p: Params) -> Result:
        configuration = self.tasks.create_configuration(TaskConfigurationRequest(
            name=p.get("Name"), description=p.get("Description"), push=push_from_wire(p.get("PushConfig")),
            client_token=p.get("ClientToken"),
        ))
        return {"TaskConfigurationId": configuration.configuration_id}

    def get_ota_task_configuration(self, ctx: CallContext, p: Params) -> Result:
        c = self.tasks.get_configuration(p["Identifier"])
        return without_none({"TaskConfigurationId": c.configuration_id, "Name": c.name, "Description": c.description,
                             "PushConfig": push_to_wire(c.push), "CreatedAt": c.created_at})

    def list_ota_task_configurations(self, ctx: CallContext, p: Params) -> Result:
        page = self.tasks.list_configurations(p.get("NextToken"), p.get("MaxResults"))
        return {"Items": [self._configuration_summary(c) for c in page.items], "NextToken": page.next_token}

    def _configuration_summary(self, c: TaskConfiguration) -> Result:
        return without_none({"TaskConfigurationId": c.configuration_id, "Name": c.name, "CreatedAt": c.created_at})

    def delete_ota_task_configuration(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.delete_configuration(p["Identifier"])
        return {}

    # --- OTA tasks -------------------------------------------------------------------------------------

    def create_ota_task(self, ctx: CallContext, p: Params) -> Result:
        task = self.tasks.create(OtaTaskRequest(
            s3_url=p["S3Url"], ota_type=OtaType(p["OtaType"]), protocol=p.get("Protocol") or "HTTP",
            mechanism=p.get("OtaMechanism") or "PUSH", targets=tuple(p.get("Target") or ()),
            query_string=p.get("OtaTargetQueryString"), task_configuration_id=p.get("TaskConfigurationId"),
            description=p.get("Description"), schedule=schedule_from_wire(p.get("OtaSchedulingConfig")),
            retry=retry_from_wire(p.get("OtaTaskExecutionRetryConfig")), tags=dict(p.get("Tags") or {}),
            client_token=p.get("ClientToken"),
        ))
        return without_none({"TaskId": task.task_id, "TaskArn": self.arns.ota_task(task.task_id),
                             "Description": task.description})

    def get_ota_task(self, ctx: CallContext, p: Params) -> Result:
        view = self.tasks.get(p["Identifier"])
        task = view.task
        details: Result = {PROCESSING_FIELDS[status]: view.counts.of(status) for status in ExecutionStatus}
        if view.status.active:
            group = [self.arns.thing_group(task.group_name)] if task.group_name else []
            details["processingTargets"] = [*task.targets, *group]
        return without_none({
            **self._task_summary(view), "Description": task.description, "S3Url": task.s3_url,
            "Protocol": task.protocol, "OtaType": task.ota_type.value, "OtaTargetQueryString": task.query_string,
            "OtaMechanism": task.mechanism, "Target": list(task.targets) or None, "TaskProcessingDetails": details,
            "OtaSchedulingConfig": schedule_to_wire(task.schedule),
            "OtaTaskExecutionRetryConfig": {"RetryConfigCriteria": [
                {"FailureType": c.failure_type, "MinNumberOfRetries": c.number_of_retries} for c in task.retry]}
            if task.retry else None,
            "Tags": dict(view.tags) or None,
        })

    def _task_summary(self, view: TaskView) -> Result:
        task = view.task
        return without_none({
            "TaskId": task.task_id, "TaskArn": self.arns.ota_task(task.task_id), "CreatedAt": task.created_at,
            "LastUpdatedAt": view.last_updated_at, "TaskConfigurationId": task.task_configuration_id,
            "Status": view.status.value,
        })

    def list_ota_tasks(self, ctx: CallContext, p: Params) -> Result:
        page = self.tasks.list(p.get("NextToken"), p.get("MaxResults"))
        return {"Tasks": [self._task_summary(v) for v in page.items], "NextToken": page.next_token}

    def update_ota_task(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.update(p["Identifier"], p.get("Description"), p.get("TaskConfigurationId"))
        return {}

    def delete_ota_task(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.delete(p["Identifier"])
        return {}

    def list_ota_task_executions(self, ctx: CallContext, p: Params) -> Result:
        page = self.tasks.executions(p["Identifier"], p.get("NextToken"), p.get("MaxResults"))
        return {"ExecutionSummaries": [_execution_summary(e) for e in page.items], "NextToken": page.next_token}
