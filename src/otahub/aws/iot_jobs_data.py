"""The iot-jobs-data HTTP device API: a device's pending executions, start-next, describe and update.

Timestamps are whole epoch seconds (the model's `long`), `jobDocument` is a string with its
presigned-URL placeholders replaced by freshly signed otahub download URLs.
"""

from __future__ import annotations

from datetime import datetime

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.iot_jobs import without_none
from otahub.aws.presign import Presigner
from otahub.domain.executions import DeviceUpdate, Execution, ExecutionStatus
from otahub.services.device_jobs import DeviceJobs, DeviceView


def epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _summary(e: Execution) -> Result:
    return without_none({
        "jobId": e.job_id, "queuedAt": epoch(e.queued_at), "startedAt": epoch(e.started_at),
        "lastUpdatedAt": epoch(e.last_updated_at), "versionNumber": e.version, "executionNumber": e.execution_number,
    })


def base_url(ctx: CallContext) -> str:
    """Where the device reached us: download URLs point back at the same host."""
    return f"http://{ctx.request.headers.get('host', 'localhost')}"


class IotJobsDataApi:
    def __init__(self, jobs: DeviceJobs, presigner: Presigner) -> None:
        self.jobs = jobs
        self.presigner = presigner

    def handlers(self) -> dict[str, Handler]:
        return {
            "GetPendingJobExecutions": self.get_pending_job_executions,
            "StartNextPendingJobExecution": self.start_next_pending_job_execution,
            "DescribeJobExecution": self.describe_job_execution,
            "UpdateJobExecution": self.update_job_execution,
        }

    def document(self, ctx: CallContext, view: DeviceView) -> str:
        return self.presigner.substitute(view.job.document, base_url(ctx), ctx.now, view.job.config.presigned_expiry)

    def _execution(self, ctx: CallContext, view: DeviceView, include_document: bool) -> Result:
        e = view.execution
        wire = {
            **_summary(e), "thingName": e.thing_name, "status": e.status.value,
            "statusDetails": dict(e.status_details) or None,
            "approximateSecondsBeforeTimedOut": e.seconds_before_timeout(ctx.now),
            "jobDocument": self.document(ctx, view) if include_document else None,
        }
        return without_none(wire)

    def get_pending_job_executions(self, ctx: CallContext, p: Params) -> Result:
        in_progress, queued = self.jobs.pending(p["thingName"])
        return {"inProgressJobs": [_summary(e) for e in in_progress], "queuedJobs": [_summary(e) for e in queued]}

    def start_next_pending_job_execution(self, ctx: CallContext, p: Params) -> Result:
        view = self.jobs.start_next(p["thingName"], p.get("statusDetails"), p.get("stepTimeoutInMinutes"))
        return {} if view is None else {"execution": self._execution(ctx, view, True)}

    def describe_job_execution(self, ctx: CallContext, p: Params) -> Result:
        view = self.jobs.describe(p["thingName"], p["jobId"], p.get("executionNumber"))
        include = p.get("includeJobDocument", True)
        return {} if view is None else {"execution": self._execution(ctx, view, bool(include))}

    def update_job_execution(self, ctx: CallContext, p: Params) -> Result:
        update = DeviceUpdate(ExecutionStatus(p["status"]), p.get("statusDetails"), p.get("expectedVersion"),
                              p.get("stepTimeoutInMinutes"))
        view = self.jobs.update(p["thingName"], p["jobId"], update, p.get("executionNumber"))
        result: Result = {}
        if p.get("includeJobExecutionState"):
            e = view.execution
            result["executionState"] = without_none({
                "status": e.status.value, "statusDetails": dict(e.status_details) or None, "versionNumber": e.version})
        if p.get("includeJobDocument"):
            result["jobDocument"] = self.document(ctx, view)
        return result
