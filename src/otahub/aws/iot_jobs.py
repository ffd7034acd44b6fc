"""The iot jobs control plane: wire parameters in, JobService calls, wire results out.

Jobs, job executions and job templates; configurations are translated both ways by the functions
at the top so CreateJob, UpdateJob, CreateJobTemplate and (later) CreateOTAUpdate share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.iot import tags_from_wire
from otahub.domain.executions import Execution, ExecutionStatus
from otahub.domain.ids import Arns
from otahub.domain.jobs import (
    AbortCriterion,
    ExponentialRate,
    Job,
    JobConfig,
    PresignedUrlConfig,
    RetryCriterion,
    RolloutConfig,
    SchedulingConfig,
    WindowSpec,
)
from otahub.domain.schedule import parse_cron, parse_schedule_time
from otahub.services.jobs import JobRequest, JobService, TemplateRequest
from otahub.services.ports import JobFilter, JobTemplate

# --- configurations: wire -> domain ----------------------------------------------------------------


def presigned_from_wire(data: Mapping[str, Any] | None) -> PresignedUrlConfig | None:
    return None if data is None else PresignedUrlConfig(data.get("roleArn"), data.get("expiresInSec"))


def rollout_from_wire(data: Mapping[str, Any] | None) -> RolloutConfig | None:
    if data is None:
        return None
    ramp = data.get("exponentialRate")
    exponential = None
    if ramp is not None:
        criteria = ramp["rateIncreaseCriteria"]
        exponential = ExponentialRate(
            ramp["baseRatePerMinute"], float(ramp["incrementFactor"]),
            criteria.get("numberOfNotifiedThings"), criteria.get("numberOfSucceededThings"),
        )
    return RolloutConfig(data.get("maximumPerMinute"), exponential)


def abort_from_wire(items: list[Mapping[str, Any]] | None) -> tuple[AbortCriterion, ...]:
    return tuple(
        AbortCriterion(c["failureType"], float(c["thresholdPercentage"]), c["minNumberOfExecutedThings"], c["action"])
        for c in items or ()
    )


def retry_from_wire(data: Mapping[str, Any] | None) -> tuple[RetryCriterion, ...]:
    return tuple(RetryCriterion(c["failureType"], c["numberOfRetries"]) for c in (data or {}).get("criteriaList", ()))


def windows_from_wire(items: list[Mapping[str, Any]] | None, field: str) -> tuple[WindowSpec, ...]:
    windows = tuple(WindowSpec(w["startTime"], w["durationInMinutes"]) for w in items or ())
    for window in windows:
        parse_cron(window.cron, field=field)
    return windows


def scheduling_from_wire(data: Mapping[str, Any] | None) -> SchedulingConfig | None:
    if data is None:
        return None
    start, end = data.get("startTime"), data.get("endTime")
    return SchedulingConfig(
        start_time=start, end_time=end, end_behavior=data.get("endBehavior"),
        windows=windows_from_wire(data.get("maintenanceWindows"), "schedulingConfig.maintenanceWindows.startTime"),
        starts_at=parse_schedule_time(start, field="schedulingConfig.startTime") if start else None,
        ends_at=parse_schedule_time(end, field="schedulingConfig.endTime") if end else None,
    )


def config_from_wire(p: Params) -> JobConfig:
    return JobConfig(
        presigned_url=presigned_from_wire(p.get("presignedUrlConfig")),
        rollout=rollout_from_wire(p.get("jobExecutionsRolloutConfig")),
        abort=abort_from_wire((p.get("abortConfig") or {}).get("criteriaList")),
        in_progress_timeout_minutes=(p.get("timeoutConfig") or {}).get("inProgressTimeoutInMinutes"),
        retry=retry_from_wire(p.get("jobExecutionsRetryConfig")),
        scheduling=scheduling_from_wire(p.get("schedulingConfig")),
    )


# --- configurations: domain -> wire ----------------------------------------------------------------


def without_none(values: Mapping[str, Any]) -> Result:
    """The members that have a value (the wire omits absent members)."""
    return {k: v for k, v in values.items() if v is not None}


def rollout_to_wire(rollout: RolloutConfig | None) -> Result | None:
    if rollout is None:
        return None
    ramp = rollout.exponential
    return without_none({
        "maximumPerMinute": rollout.maximum_per_minute,
        "exponentialRate": None if ramp is None else {
            "baseRatePerMinute": ramp.base_rate_per_minute, "incrementFactor": ramp.increment_factor,
            "rateIncreaseCriteria": without_none({"numberOfNotifiedThings": ramp.notified_step,
                                                    "numberOfSucceededThings": ramp.succeeded_step}),
        },
    })


def config_to_wire(config: JobConfig) -> Result:
    presigned = config.presigned_url
    scheduling = config.scheduling
    return without_none({
        "presignedUrlConfig": None if presigned is None else without_none(
            {"roleArn": presigned.role_arn, "expiresInSec": presigned.expires_in_sec}),
        "jobExecutionsRolloutConfig": rollout_to_wire(config.rollout),
        "abortConfig": {"criteriaList": [
            {"failureType": c.failure_type, "action": c.action, "thresholdPercentage": c.threshold_percentage,
             "minNumberOfExecutedThings": c.min_executed} for c in config.abort]} if config.abort else None,
        "timeoutConfig": {"inProgressTimeoutInMinutes": config.in_progress_timeout_minutes}
        if config.in_progress_timeout_minutes is not None else None,
        "jobExecutionsRetryConfig": {"criteriaList": [
            {"failureType": c.failure_type, "numberOfRetries": c.number_of_retries} for c in config.retry]}
        if config.retry else None,
        "schedulingConfig": None if scheduling is None else without_none({
            "startTime": scheduling.start_time, "endTime": scheduling.end_time,
            "endBehavior": scheduling.end_behavior,
            "maintenanceWindows": [{"startTime": w.cron, "durationInMinutes": w.duration_minutes}
                                   for w in scheduling.windows] or None,
        }),
    })


_PROCESS_FIELDS = {
    ExecutionStatus.CANCELED: "numberOfCanceledThings", ExecutionStatus.SUCCEEDED: "numberOfSucceededThings",
    ExecutionStatus.FAILED: "numberOfFailedThings", ExecutionStatus.REJECTED: "numberOfRejectedThings",
    ExecutionStatus.QUEUED: "numberOfQueuedThings", ExecutionStatus.IN_PROGRESS: "numberOfInProgressThings",
    ExecutionStatus.REMOVED: "numberOfRemovedThings", ExecutionStatus.TIMED_OUT: "numberOfTimedOutThings",
}


def execution_summary(execution: Execution) -> Result:
    return without_none({
        "status": execution.status.value, "queuedAt": execution.queued_at, "startedAt": execution.started_at,
        "lastUpdatedAt": execution.last_updated_at, "executionNumber": execution.execution_number,
        "retryAttempt": execution.retry_attempt,
    })


class IotJobsApi:
    def __init__(self, jobs: JobService, arns: Arns) -> None:
        self.jobs = jobs
        self.arns = arns

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateJob": self.create_job,
            "DescribeJob": self.describe_job,
            "ListJobs": self.list_jobs,
            "UpdateJob": self.update_job,
            "CancelJob": self.cancel_job,
            "DeleteJob": self.delete_job,
            "AssociateTargetsWithJob": self.associate_targets_with_job,
            "GetJobDocument": self.get_job_document,
            "DescribeJobExecution": self.describe_job_execution,
            "ListJobExecutionsForJob": self.list_job_executions_for_job,
            "ListJobExecutionsForThing": self.list_job_executions_for_thing,
            "CancelJobExecution": self.cancel_job_execution,
            "DeleteJobExecution": self.delete_job_execution,
            "CreateJobTemplate": self.create_job_template,
            "DescribeJobTemplate": self.describe_job_template,
            "ListJobTemplates": self.list_job_templates,
            "DeleteJobTemplate": self.delete_job_template,
        }

    # --- jobs ----------------------------------------------------------------------------------

    def _job_ref(self, job: Job) -> Result:
        return without_none({"jobArn": self.arns.job(job.job_id), "jobId": job.job_id,
                               "description": job.description})

    def create_job(self, ctx: CallContext, p: Params) -> Result:
        job = self.jobs.create_job(JobRequest(
            job_id=p["jobId"], targets=p["targets"], document=p.get("document"),
            document_source=p.get("documentSource"), description=p.get("description"),
            target_selection=p.get("targetSelection"), config=config_from_wire(p), tags=tags_from_wire(p.get("tags")),
            template_arn=p.get("jobTemplateArn"), namespace_id=p.get("namespaceId"),
            document_parameters=p.get("documentParameters"),
            destination_package_versions=tuple(p.get("destinationPackageVersions") or ()),
        ))
        return self._job_ref(job)

    def describe_job(self, ctx: CallContext, p: Params) -> Result:
        job, counts = self.jobs.describe_job(p["jobId"])
        details: Result = {_PROCESS_FIELDS[status]: n for status, n in counts.items()}
        if job.status.active:
            details["processingTargets"] = [t.arn for t in job.targets]
        body = without_none({
            "jobArn": self.arns.job(job.job_id), "jobId": job.job_id, "targetSelection": job.target_selection,
            "status": job.status.value, "forceCanceled": job.force_canceled, "reasonCode": job.reason_code,
            "comment": job.comment, "targets": [t.arn for t in job.targets], "description": job.description,
            "createdAt": job.created_at, "lastUpdatedAt": job.updated_at, "completedAt": job.completed_at,
            "jobProcessDetails": details, "namespaceId": job.namespace_id, "jobTemplateArn": job.template_arn,
            "documentParameters": dict(job.document_parameters) if job.document_parameters else None,
            "isConcurrent": False,
            "destinationPackageVersions": list(job.destination_package_versions) or None,
            **config_to_wire(job.config),
        })
        return without_none({"documentSource": job.document_source, "job": body})

    def list_jobs(self, ctx: CallContext, p: Params) -> Result:
        where = JobFilter(p.get("status"), p.get("targetSelection"), p.get("thingGroupName"), p.get("namespaceId"),
                          p.get("thingGroupId"))
        page = self.jobs.list_jobs(where, p.get("nextToken"), p.get("maxResults"))
        return {"jobs": [without_none({
            "jobArn": self.arns.job(job.job_id), "jobId": job.job_id, "targetSelection": job.target_selection,
            "status": job.status.value, "createdAt": job.created_at, "lastUpdatedAt": job.updated_at,
            "completedAt": job.completed_at, "isConcurrent": False,
        }) for job in page.items], "nextToken": page.next_token}

    def update_job(self, ctx: CallContext, p: Params) -> Result:
        parts = {
            "presignedUrlConfig": "presigned_url", "jobExecutionsRolloutConfig": "rollout", "abortConfig": "abort",
            "timeoutConfig": "in_progress_timeout_minutes", "jobExecutionsRetryConfig": "retry",
        }
        given = frozenset(domain for wire, domain in parts.items() if p.get(wire) is not None)
        self.jobs.update_job(p["jobId"], config_from_wire(p), p.get("description"), given)
        return {}

    def cancel_job(self, ctx: CallContext, p: Params) -> Result:
        job = self.jobs.cancel_job(p["jobId"], p.get("reasonCode"), p.get("comment"), bool(p.get("force")))
        return self._job_ref(job)

    def delete_job(self, ctx: CallContext, p: Params) -> Result:
        self.jobs.delete_job(p["jobId"], bool(p.get("force")))
        return {}

    def associate_targets_with_job(self, ctx: CallContext, p: Params) -> Result:
        return self._job_ref(self.jobs.associate_targets(p["jobId"], p["targets"], p.get("comment")))

    def get_job_document(self, ctx: CallContext, p: Params) -> Result:
        return {"document": self.jobs.job_document(p["jobId"], bool(p.get("beforeSubstitution")))}

    # --- executions ------------------------------------------------------------------------------

    def describe_job_execution(self, ctx: CallContext, p: Params) -> Result:
        e = self.jobs.describe_execution(p["jobId"], p["thingName"], p.get("executionNumber"))
        return {"execution": without_none({
            "jobId": e.job_id, "status": e.status.value, "forceCanceled": e.force_canceled,
            "statusDetails": {"detailsMap": dict(e.status_details)}, "thingArn": self.arns.thing(e.thing_name),
            "queuedAt": e.queued_at, "startedAt": e.started_at, "lastUpdatedAt": e.last_updated_at,
            "executionNumber": e.execution_number, "versionNumber": e.version,
            "approximateSecondsBeforeTimedOut": e.seconds_before_timeout(ctx.now),
        })}

    def list_job_executions_for_job(self, ctx: CallContext, p: Params) -> Result:
        page = self.jobs.executions_for_job(p["jobId"], p.get("status"), p.get("nextToken"), p.get("maxResults"))
        return {"executionSummaries": [
            {"thingArn": self.arns.thing(e.thing_name), "jobExecutionSummary": execution_summary(e)}
            for e in page.items
        ], "nextToken": page.next_token}

    def list_job_executions_for_thing(self, ctx: CallContext, p: Params) -> Result:
        page = self.jobs.executions_for_thing(
            p["thingName"], p.get("status"), p.get("jobId"), p.get("nextToken"), p.get("maxResults"))
        return {"executionSummaries": [
            {"jobId": e.job_id, "jobExecutionSummary": execution_summary(e)} for e in page.items
        ], "nextToken": page.next_token}

    def cancel_job_execution(self, ctx: CallContext, p: Params) -> Result:
        self.jobs.cancel_execution(p["jobId"], p["thingName"], bool(p.get("force")), p.get("expectedVersion"),
                                   p.get("statusDetails"))
        return {}

    def delete_job_execution(self, ctx: CallContext, p: Params) -> Result:
        self.jobs.delete_execution(p["jobId"], p["thingName"], p["executionNumber"], bool(p.get("force")))
        return {}

    # --- templates -------------------------------------------------------------------------------

    def create_job_template(self, ctx: CallContext, p: Params) -> Result:
        config = config_from_wire(p)
        windows = windows_from_wire(p.get("maintenanceWindows"), "maintenanceWindows.startTime")
        if windows:
            config = JobConfig(config.presigned_url, config.rollout, config.abort,
                               config.in_progress_timeout_minutes, config.retry, SchedulingConfig(windows=windows))
        template = self.jobs.create_template(TemplateRequest(
            template_id=p["jobTemplateId"], description=p["description"], job_arn=p.get("jobArn"),
            document=p.get("document"), document_source=p.get("documentSource"), config=config,
            tags=tags_from_wire(p.get("tags")),
            destination_package_versions=tuple(p.get("destinationPackageVersions") or ()),
        ))
        return {"jobTemplateArn": self.arns.job_template(template.template_id), "jobTemplateId": template.template_id}

    def describe_job_template(self, ctx: CallContext, p: Params) -> Result:
        t = self.jobs.describe_template(p["jobTemplateId"])
        wire = config_to_wire(t.config)
        scheduling = wire.pop("schedulingConfig", None)
        return without_none({
            "jobTemplateArn": self.arns.job_template(t.template_id), "jobTemplateId": t.template_id,
            "description": t.description, "documentSource": t.document_source, "document": t.document,
            "createdAt": t.created_at, **wire,
            "maintenanceWindows": (scheduling or {}).get("maintenanceWindows"),
            "destinationPackageVersions": list(t.destination_package_versions) or None,
        })

    def list_job_templates(self, ctx: CallContext, p: Params) -> Result:
        page = self.jobs.list_templates(p.get("nextToken"), p.get("maxResults"))
        return {"jobTemplates": [self._template_summary(t) for t in page.items], "nextToken": page.next_token}

    def _template_summary(self, t: JobTemplate) -> Result:
        return {"jobTemplateArn": self.arns.job_template(t.template_id), "jobTemplateId": t.template_id,
                "description": t.description, "createdAt": t.created_at}

    def delete_job_template(self, ctx: CallContext, p: Params) -> Result:
        self.jobs.delete_template(p["jobTemplateId"])
        return {}
