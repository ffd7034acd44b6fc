"""Job executions: one job's run on one thing, and the state machine of the spec (iot-jobs-mqtt.md §4).
Pure Python. Who may set what: devices IN_PROGRESS, SUCCEEDED, FAILED, REJECTED; the service QUEUED,
TIMED_OUT, REMOVED, CANCELED. Terminal states never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from otahub.domain.errors import InvalidInput, InvalidStateTransition, VersionConflict

MAX_TIMEOUT_MINUTES = 10080
CANCEL_STEP_TIMER = -1


class ExecutionStatus(StrEnum):
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    REJECTED = "REJECTED"
    REMOVED = "REMOVED"
    CANCELED = "CANCELED"

    @property
    def terminal(self) -> bool:
        return self not in (ExecutionStatus.QUEUED, ExecutionStatus.IN_PROGRESS)


DEVICE_STATUSES = frozenset(
    {ExecutionStatus.IN_PROGRESS, ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.REJECTED}
)


@dataclass(frozen=True, slots=True)
class Execution:
    job_id: str
    thing_name: str
    execution_number: int
    status: ExecutionStatus
    queued_at: datetime
    last_updated_at: datetime
    version: int = 1
    status_details: Mapping[str, str] = field(default_factory=dict)
    started_at: datetime | None = None
    retry_attempt: int = 0
    retry_counts: Mapping[str, int] = field(default_factory=dict)
    force_canceled: bool = False
    in_progress_deadline: datetime | None = None
    step_deadline: datetime | None = None

    @property
    def timeout_at(self) -> datetime | None:
        deadlines = [d for d in (self.in_progress_deadline, self.step_deadline) if d is not None]
        return min(deadlines) if deadlines and self.status == ExecutionStatus.IN_PROGRESS else None

    def seconds_before_timeout(self, now: datetime) -> int | None:
        deadline = self.timeout_at
        return None if deadline is None else max(0, int((deadline - now).total_seconds()))

    def retried(self, now: datetime) -> Execution:
        """The next attempt after this one failed or timed out: QUEUED again, under the next number."""
        counts = dict(self.retry_counts)
        counts[self.status.value] = counts.get(self.status.value, 0) + 1
        return Execution(
            self.job_id, self.thing_name, self.execution_number + 1, ExecutionStatus.QUEUED, now, now,
            retry_attempt=self.retry_attempt + 1, retry_counts=counts,
        )


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """What a device asks of its execution (start-next, UpdateJobExecution)."""

    status: ExecutionStatus
    status_details: Mapping[str, str] | None = None
    expected_version: int | None = None
    step_timeout_minutes: int | None = None


def check_step_timeout(minutes: int | None, *, allow_cancel: bool) -> None:
    if minutes is None or (allow_cancel and minutes == CANCEL_STEP_TIMER):
        return
    if not 1 <= minutes <= MAX_TIMEOUT_MINUTES:
        raise InvalidInput(
            f"stepTimeoutInMinutes must be 1 to {MAX_TIMEOUT_MINUTES}"
            + (" or -1 (cancel the step timer)" if allow_cancel else "") + f", not {minutes}",
            field="stepTimeoutInMinutes",
        )


def device_transition(
    execution: Execution, update: DeviceUpdate, timeout_minutes: int | None, now: datetime
) -> Execution:
    """The device's update applied, or InvalidStateTransition / VersionConflict / InvalidInput."""
    if update.status not in DEVICE_STATUSES:
        raise InvalidInput(
            f"status {update.status.value} cannot be set by a device; use IN_PROGRESS, SUCCEEDED, FAILED or REJECTED",
            field="status",
        )
    check_expected_version(execution, update.expected_version)
    current = execution.status
    if current.terminal or (current == ExecutionStatus.IN_PROGRESS and update.status == ExecutionStatus.REJECTED):
        raise InvalidStateTransition(
            f"The job execution of {execution.job_id} on {execution.thing_name} cannot go from "
            f"{current.value} to {update.status.value}",
            status=current.value,
        )
    check_step_timeout(update.step_timeout_minutes, allow_cancel=True)
    details = execution.status_details if update.status_details is None else dict(update.status_details)
    started = execution.started_at
    in_progress_deadline = execution.in_progress_deadline
    step_deadline = execution.step_deadline
    if update.status == ExecutionStatus.IN_PROGRESS and current == ExecutionStatus.QUEUED:
        started = now
        if timeout_minutes is not None:
            in_progress_deadline = now + timedelta(minutes=timeout_minutes)
    if update.step_timeout_minutes == CANCEL_STEP_TIMER:
        step_deadline = None
    elif update.step_timeout_minutes is not None:
        step_deadline = now + timedelta(minutes=update.step_timeout_minutes)
    if update.status.terminal:
        in_progress_deadline = step_deadline = None
    return replace(
        execution, status=update.status, status_details=details, started_at=started, last_updated_at=now,
        version=execution.version + 1, in_progress_deadline=in_progress_deadline, step_deadline=step_deadline,
    )


def start(execution: Execution, details: Mapping[str, str] | None, step_minutes: int | None,
          timeout_minutes: int | None, now: datetime) -> Execution:
    """StartNextPendingJobExecution: a QUEUED execution goes IN_PROGRESS; an IN_PROGRESS one is unchanged."""
    if execution.status != ExecutionStatus.QUEUED:
        return execution
    return device_transition(
        execution, DeviceUpdate(ExecutionStatus.IN_PROGRESS, details, None, step_minutes), timeout_minutes, now
    )


def timed_out(execution: Execution, now: datetime) -> Execution:
    return replace(
        execution, status=ExecutionStatus.TIMED_OUT, last_updated_at=now, version=execution.version + 1,
        in_progress_deadline=None, step_deadline=None,
    )


def removed(execution: Execution, now: datetime) -> Execution:
    """The thing left every target of a continuous job before it started: REMOVED (by the service)."""
    return replace(execution, status=ExecutionStatus.REMOVED, last_updated_at=now, version=execution.version + 1)


def rejoined(execution: Execution, now: datetime) -> Execution:
    """A REMOVED thing is targeted again: a new execution under the next number, retries counted anew."""
    return Execution(execution.job_id, execution.thing_name, execution.execution_number + 1,
                     ExecutionStatus.QUEUED, now, now)


def check_expected_version(execution: Execution, expected: int | None) -> None:
    if expected is not None and expected != execution.version:
        raise VersionConflict(
            f"expectedVersion {expected} does not match the execution's version {execution.version}",
            field="expectedVersion",
        )


def canceled(execution: Execution, *, force: bool, details: Mapping[str, str] | None, now: datetime,
             expected_version: int | None = None) -> Execution:
    """Cancel by the service: QUEUED always, IN_PROGRESS only with force; terminal ones cannot be."""
    check_expected_version(execution, expected_version)
    if execution.status.terminal or (execution.status == ExecutionStatus.IN_PROGRESS and not force):
        need = "force" if execution.status == ExecutionStatus.IN_PROGRESS else "a non-terminal execution"
        raise InvalidStateTransition(
            f"The job execution of {execution.job_id} on {execution.thing_name} is {execution.status.value}; "
            f"canceling it needs {need}",
            status=execution.status.value,
        )
    return replace(
        execution, status=ExecutionStatus.CANCELED, last_updated_at=now, version=execution.version + 1,
        force_canceled=execution.status == ExecutionStatus.IN_PROGRESS,
        status_details=execution.status_details if details is None else dict(details),
        in_progress_deadline=None, step_deadline=None,
    )


def check_deletable(execution: Execution, force: bool) -> None:
    if not execution.status.terminal and not force:
        raise InvalidStateTransition(
            f"The job execution of {execution.job_id} on {execution.thing_name} is {execution.status.value}; "
            "deleting it needs force",
            status=execution.status.value,
        )
