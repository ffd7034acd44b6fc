"""Jobs: configurations, targets, counts, and the rollout rules (rate, ramp, abort, retry). Pure Python.

One model serves IoT jobs, the OTA updates built on them and (later) managed-integrations OTA tasks.
The rules here decide; the rollout engine (services/rollout.py) applies them in transactions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from otahub.domain.errors import InvalidInput, InvalidState
from otahub.domain.executions import MAX_TIMEOUT_MINUTES, ExecutionStatus


class JobStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    CANCELED = "CANCELED"
    COMPLETED = "COMPLETED"
    DELETION_IN_PROGRESS = "DELETION_IN_PROGRESS"

    @property
    def active(self) -> bool:
        return self in (JobStatus.SCHEDULED, JobStatus.IN_PROGRESS)


MAX_TARGETS = 100
DEFAULT_PRESIGNED_EXPIRY = 3600
RATE_CEILING = 10**9  # executions per minute: no limit in practice


# --- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExponentialRate:
    base_rate_per_minute: int
    increment_factor: float
    notified_step: int | None = None
    succeeded_step: int | None = None


@dataclass(frozen=True, slots=True)
class RolloutConfig:
    maximum_per_minute: int | None = None
    exponential: ExponentialRate | None = None


@dataclass(frozen=True, slots=True)
class AbortCriterion:
    failure_type: str  # FAILED | REJECTED | TIMED_OUT | ALL
    threshold_percentage: float
    min_executed: int
    action: str = "CANCEL"

    def failure_statuses(self) -> frozenset[ExecutionStatus]:
        if self.failure_type == "ALL":
            return frozenset({ExecutionStatus.FAILED, ExecutionStatus.REJECTED, ExecutionStatus.TIMED_OUT})
        return frozenset({ExecutionStatus(self.failure_type)})


@dataclass(frozen=True, slots=True)
class RetryCriterion:
    failure_type: str  # FAILED | TIMED_OUT | ALL
    number_of_retries: int


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A maintenance window as given: an AWS cron expression and a length."""

    cron: str
    duration_minutes: int


@dataclass(frozen=True, slots=True)
class SchedulingConfig:
    start_time: str | None = None  # as given (AWS's StringDateTime); parsed copies below
    end_time: str | None = None
    end_behavior: str | None = None  # STOP_ROLLOUT | CANCEL | FORCE_CANCEL
    windows: tuple[WindowSpec, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PresignedUrlConfig:
    role_arn: str | None = None
    expires_in_sec: int | None = None


@dataclass(frozen=True, slots=True)
class JobConfig:
    presigned_url: PresignedUrlConfig | None = None
    rollout: RolloutConfig | None = None
    abort: tuple[AbortCriterion, ...] = ()
    in_progress_timeout_minutes: int | None = None
    retry: tuple[RetryCriterion, ...] = ()
    scheduling: SchedulingConfig | None = None

    @property
    def presigned_expiry(self) -> int:
        expires = self.presigned_url.expires_in_sec if self.presigned_url else None
        return expires or DEFAULT_PRESIGNED_EXPIRY


def check_config(config: JobConfig) -> None:
    """What the wire model cannot say about a job's configuration."""
    timeout = config.in_progress_timeout_minutes
    if timeout is not None and not 1 <= timeout <= MAX_TIMEOUT_MINUTES:
        raise InvalidInput(
            f"timeoutConfig.inProgressTimeoutInMinutes must be 1 to {MAX_TIMEOUT_MINUTES}, not {timeout}",
            field="timeoutConfig.inProgressTimeoutInMinutes",
        )
    exponential = config.rollout.exponential if config.rollout else None
    if exponential is not None:
        steps = (exponential.notified_step, exponential.succeeded_step)
        if sum(step is not None for step in steps) != 1:
            raise InvalidInput(
                "jobExecutionsRolloutConfig.exponentialRate.rateIncreaseCriteria needs exactly one of "
                "numberOfNotifiedThings and numberOfSucceededThings",
                field="jobExecutionsRolloutConfig.exponentialRate.rateIncreaseCriteria",
            )
        if not 1.1 <= exponential.increment_factor <= 5:
            raise InvalidInput(
                "jobExecutionsRolloutConfig.exponentialRate.incrementFactor must be 1.1 to 5",
                field="jobExecutionsRolloutConfig.exponentialRate.incrementFactor",
            )
        if not 1 <= exponential.base_rate_per_minute <= 1000:
            raise InvalidInput(
                "jobExecutionsRolloutConfig.exponentialRate.baseRatePerMinute must be 1 to 1000",
                field="jobExecutionsRolloutConfig.exponentialRate.baseRatePerMinute",
            )
        if round(exponential.increment_factor, 1) != exponential.increment_factor:
            raise InvalidInput(
                "jobExecutionsRolloutConfig.exponentialRate.incrementFactor takes at most one decimal place",
                field="jobExecutionsRolloutConfig.exponentialRate.incrementFactor",
            )
    expires = config.presigned_url.expires_in_sec if config.presigned_url else None
    if expires is not None and not 60 <= expires <= 3600:
        raise InvalidInput(f"presignedUrlConfig.expiresInSec must be 60 to 3600, not {expires}",
                           field="presignedUrlConfig.expiresInSec")
    for criterion in config.abort:
        if round(criterion.threshold_percentage, 2) != criterion.threshold_percentage:
            raise InvalidInput(
                "abortConfig.criteriaList.thresholdPercentage takes at most two decimal places",
                field="abortConfig.criteriaList.thresholdPercentage",
            )
    kinds = [c.failure_type for c in config.retry]
    if len(set(kinds)) != len(kinds) or ("ALL" in kinds and len(kinds) > 1):
        raise InvalidInput(
            "jobExecutionsRetryConfig.criteriaList: each failure type at most once, and ALL alone",
            field="jobExecutionsRetryConfig.criteriaList",
        )


# --- jobs ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # "thing" | "thinggroup"
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class Counts:
    """The latest execution of every thing in a job, by status, plus targets not yet notified."""

    by_status: Mapping[ExecutionStatus, int] = field(default_factory=dict)
    pending_targets: int = 0

    def of(self, status: ExecutionStatus) -> int:
        return self.by_status.get(status, 0)

    @property
    def active(self) -> int:
        return self.of(ExecutionStatus.QUEUED) + self.of(ExecutionStatus.IN_PROGRESS)

    @property
    def terminal(self) -> int:
        return sum(n for status, n in self.by_status.items() if status.terminal)


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    targets: tuple[Target, ...]
    target_selection: str  # SNAPSHOT | CONTINUOUS
    document: str
    document_source: str | None
    description: str | None
    config: JobConfig
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    force_canceled: bool = False
    reason_code: str | None = None
    comment: str | None = None
    template_arn: str | None = None
    namespace_id: str | None = None
    document_parameters: Mapping[str, str] | None = None
    document_before_substitution: str | None = None  # the template's text when parameters were filled in
    destination_package_versions: tuple[str, ...] = ()
    notified: int = 0  # executions ever created for a thing's first attempt (exponential rollout)
    bucket_start: datetime | None = None  # the current rollout minute and what it dispatched
    bucket_count: int = 0

    @property
    def continuous(self) -> bool:
        return self.target_selection == "CONTINUOUS"


def initial_status(scheduling: SchedulingConfig | None, now: datetime) -> JobStatus:
    if scheduling is not None and scheduling.starts_at is not None and scheduling.starts_at > now:
        return JobStatus.SCHEDULED
    return JobStatus.IN_PROGRESS


def check_schedule(scheduling: SchedulingConfig, now: datetime) -> None:
    """AWS's rules: end after start, start at most a year ahead, at most two years between them."""
    start, end = scheduling.starts_at, scheduling.ends_at
    if start is not None and start > now + timedelta(days=366):
        raise InvalidInput("schedulingConfig.startTime can be at most a year ahead", field="schedulingConfig.startTime")
    if end is not None:
        if end <= (start or now):
            raise InvalidInput("schedulingConfig.endTime must be after the start time",
                               field="schedulingConfig.endTime")
        if end - (start or now) > timedelta(days=731):
            raise InvalidInput(
                "schedulingConfig.endTime can be at most two years after the start time",
                field="schedulingConfig.endTime",
            )
    if scheduling.end_behavior is not None and end is None:
        raise InvalidInput(
            "schedulingConfig.endBehavior needs schedulingConfig.endTime", field="schedulingConfig.endBehavior"
        )


def completes(job: Job, counts: Counts) -> bool:
    """A snapshot job is COMPLETED when nothing is left to notify and every execution is terminal."""
    return (
        job.status == JobStatus.IN_PROGRESS and not job.continuous
        and counts.pending_targets == 0 and counts.active == 0
    )


# --- rollout rate ----------------------------------------------------------------------------------


def rate_per_minute(rollout: RolloutConfig | None, notified: int, succeeded: int) -> int | None:
    """Executions that may be created per minute now (None: no limit).

    Exponential: the base rate, multiplied by the factor each time the notified (or succeeded) count
    passes another multiple of the criterion; capped by maximumPerMinute when both are set.
    """
    if rollout is None:
        return None
    cap = rollout.maximum_per_minute
    ramp = rollout.exponential
    if ramp is None:
        return cap
    step = ramp.notified_step or ramp.succeeded_step or 1
    steps = (notified if ramp.notified_step else succeeded) // step
    rate = _ramped(ramp.base_rate_per_minute, ramp.increment_factor, steps)
    return min(rate, cap) if cap is not None else rate


def _ramped(base: int, factor: float, steps: int) -> int:
    # Past ~1000 steps the float would overflow; the rate is astronomically large well before then.
    # Capped, so the rate never falls at step 201 and fits the 64-bit LIMIT of a dispatch.
    if steps > 200:
        return RATE_CEILING
    return max(1, min(RATE_CEILING, math.floor(base * factor**steps + 1e-9)))


@dataclass(frozen=True, slots=True)
class Bucket:
    """One rollout minute: when it began and how many executions it created."""

    start: datetime
    count: int


def current_bucket(job: Job, now: datetime) -> Bucket:
    """The rollout minute ``now`` falls in. A minute begins with the first dispatch after the previous
    one ended, so no minute that begins a dispatch ever holds more than the rate (also across pauses
    such as closed maintenance windows)."""
    if job.bucket_start is not None and job.bucket_start <= now < job.bucket_start + timedelta(minutes=1):
        return Bucket(job.bucket_start, job.bucket_count)
    return Bucket(now, 0)


def minute_rate(job: Job, bucket: Bucket, succeeded: int) -> int | None:
    """The rate of the rollout minute ``bucket``: ramp steps by notified things count from the minute's
    start (a step reached mid-minute raises the rate from the next minute); successes count at once."""
    return rate_per_minute(job.config.rollout, job.notified - bucket.count, succeeded)


def budget(rate: int | None, bucket: Bucket) -> int | None:
    return None if rate is None else max(0, rate - bucket.count)


# --- abort and retry -------------------------------------------------------------------------------


def abort_reason(criteria: Sequence[AbortCriterion], counts: Counts) -> str | None:
    """Why the job must be aborted, or None. Percentages are of the things whose execution is terminal."""
    executed = counts.terminal
    for criterion in criteria:
        if executed < criterion.min_executed or executed == 0:
            continue
        failed = sum(counts.of(status) for status in criterion.failure_statuses())
        percentage = 100.0 * failed / executed
        if percentage >= criterion.threshold_percentage:
            return (
                f"{failed} of {executed} executed things are {criterion.failure_type} ({percentage:.2f}%), "
                f"at or above the abort threshold of {criterion.threshold_percentage}%"
            )
    return None


def retries_allowed(criteria: Sequence[RetryCriterion], failure: ExecutionStatus, counts: Mapping[str, int]) -> bool:
    """Whether a FAILED or TIMED_OUT execution is queued again, given the retries already made per type."""
    if failure not in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT):
        return False
    for criterion in criteria:
        if criterion.failure_type == failure.value:
            return counts.get(failure.value, 0) < criterion.number_of_retries
        if criterion.failure_type == "ALL":
            return sum(counts.values()) < criterion.number_of_retries
    return False


def needs_cancel(job: Job, force: bool) -> bool:
    """Whether CancelJob has anything to do: a canceled job can still be canceled again with force."""
    if job.status in (JobStatus.COMPLETED, JobStatus.DELETION_IN_PROGRESS):
        raise InvalidState(f"Job {job.job_id} is {job.status.value} and cannot be canceled")
    return job.status != JobStatus.CANCELED or (force and not job.force_canceled)
