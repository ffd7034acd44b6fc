"""The rollout engine: the one place where jobs move by themselves, driven by an injected clock.

It schedules (SCHEDULED until startTime, endBehavior at endTime), dispatches pending things as
QUEUED executions at the rollout rate and only inside maintenance windows, times executions out,
retries failures, aborts on the abort criteria and completes snapshot jobs. Every change of an
execution's status goes through `EngineRules.changed`, wherever it comes from (a device, a timeout,
the control plane), so abort, retry and completion are decided in one place.

`tick()` does work proportional to what is due (active jobs, due deadlines), never to history;
`next_due()` says when the next tick has anything to do, which lets a virtual clock jump ahead.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache

from otahub.domain.clock import Clock
from otahub.domain.executions import Execution, ExecutionStatus, timed_out
from otahub.domain.jobs import (
    Counts,
    Job,
    JobStatus,
    SchedulingConfig,
    abort_reason,
    budget,
    completes,
    current_bucket,
    minute_rate,
    retries_allowed,
)
from otahub.domain.schedule import MaintenanceWindow, next_opening, open_window, parse_cron
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory

TIMEOUT_BATCH = 500
ABORT_REASON_CODE = "ABORTED"  # [U] AWS does not document what an abort writes into reasonCode


@lru_cache(maxsize=256)
def _windows(scheduling: SchedulingConfig) -> tuple[MaintenanceWindow, ...]:
    return tuple(MaintenanceWindow(parse_cron(w.cron), w.duration_minutes) for w in scheduling.windows)


def windows_of(job: Job) -> tuple[MaintenanceWindow, ...]:
    scheduling = job.config.scheduling
    return _windows(scheduling) if scheduling is not None and scheduling.windows else ()


def may_dispatch(job: Job, now: datetime) -> bool:
    """IN_PROGRESS, not past a STOP_ROLLOUT end, and inside a maintenance window if there are any."""
    if job.status != JobStatus.IN_PROGRESS:
        return False
    windows = windows_of(job)
    return not windows or open_window(windows, now) is not None


class EngineRules:
    """What happens inside one transaction when a job or an execution changes."""

    def advance_job(self, tx: UnitOfWork, job: Job, now: datetime) -> Job:
        """Bring one job up to ``now``: start, end behaviour, dispatch, completion. Saves it if changed."""
        updated = self._start_if_due(job, now)
        updated = self._end_if_due(tx, updated, now)
        updated = self._dispatch(tx, updated, now)
        updated = self._complete_if_done(tx, updated, now)
        if updated != job:
            tx.jobs.save(replace(updated, updated_at=now) if updated.status != job.status else updated)
        return updated

    def changed(self, tx: UnitOfWork, job: Job, before: Execution, after: Execution, now: datetime) -> Job:
        """An execution changed status: store it, then abort, retry and completion as the job's rules say."""
        tx.jobs.save_execution(before, after)
        if after.status in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.REJECTED):
            job = self._abort_if_due(tx, job, now)
            if job.status.active and retries_allowed(job.config.retry, after.status, after.retry_counts):
                tx.jobs.supersede(after, after.retried(now))
        return self.advance_job(tx, job, now)

    # --- the steps ----------------------------------------------------------------------------------

    def _start_if_due(self, job: Job, now: datetime) -> Job:
        scheduling = job.config.scheduling
        if job.status != JobStatus.SCHEDULED:
            return job
        if scheduling is not None and scheduling.starts_at is not None and scheduling.starts_at > now:
            return job
        return replace(job, status=JobStatus.IN_PROGRESS)

    def _end_if_due(self, tx: UnitOfWork, job: Job, now: datetime) -> Job:
        scheduling = job.config.scheduling
        if not job.status.active or scheduling is None or scheduling.ends_at is None or now < scheduling.ends_at:
            return job
        behavior = scheduling.end_behavior or "STOP_ROLLOUT"
        if behavior == "STOP_ROLLOUT":  # nothing more is notified; what was notified runs to its end
            tx.jobs.drop_pending(job.job_id)
            if job.status == JobStatus.SCHEDULED:  # ended before it began: nothing will ever run
                return replace(job, status=JobStatus.COMPLETED, completed_at=now)
            return job
        return self.cancel(tx, job, force=behavior == "FORCE_CANCEL", reason_code=None,
                           comment=f"Canceled at the scheduled end time ({behavior})", now=now)

    def _dispatch(self, tx: UnitOfWork, job: Job, now: datetime) -> Job:
        if not may_dispatch(job, now):
            return job
        counts = tx.jobs.counts(job.job_id)
        if counts.pending_targets == 0:
            return job
        bucket = current_bucket(job, now)
        rate = minute_rate(job, bucket, counts.of(ExecutionStatus.SUCCEEDED))
        created = tx.jobs.dispatch(job.job_id, budget(rate, bucket), now)
        return replace(job, notified=job.notified + created, bucket_start=bucket.start,
                       bucket_count=bucket.count + created)

    def _complete_if_done(self, tx: UnitOfWork, job: Job, now: datetime) -> Job:
        if completes(job, tx.jobs.counts(job.job_id)):
            return replace(job, status=JobStatus.COMPLETED, completed_at=now)
        return job

    def _abort_if_due(self, tx: UnitOfWork, job: Job, now: datetime) -> Job:
        if not job.status.active or not job.config.abort:
            return job
        reason = abort_reason(job.config.abort, tx.jobs.counts(job.job_id))
        if reason is None:
            return job
        return self.cancel(tx, job, force=False, reason_code=ABORT_REASON_CODE, comment=f"Aborted: {reason}", now=now)

    def cancel(self, tx: UnitOfWork, job: Job, *, force: bool, reason_code: str | None, comment: str | None,
               now: datetime) -> Job:
        """CANCELED: nothing more is notified, QUEUED executions are canceled, IN_PROGRESS ones too with force."""
        tx.jobs.drop_pending(job.job_id)
        tx.jobs.cancel_all(job.job_id, force, now)
        canceled = replace(
            job, status=JobStatus.CANCELED, force_canceled=job.force_canceled or force,
            reason_code=reason_code if reason_code is not None else job.reason_code,
            comment=comment if comment is not None else job.comment, updated_at=now,
            completed_at=job.completed_at or now,
        )
        tx.jobs.save(canceled)
        return canceled


class RolloutEngine:
    """Ticks: brings every active job up to the clock and times out what is due."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock
        self.rules = EngineRules()

    def tick(self) -> None:
        now = self.clock.now()
        self._time_out_due(now)
        with self.uow() as tx:
            due = [job.job_id for job, counts in tx.jobs.active() if self._job_due(job, counts, now)]
        for job_id in due:
            with self.uow(write=True) as tx:
                job = tx.jobs.get(job_id)
                if job is not None and job.status.active:
                    self.rules.advance_job(tx, job, now)

    def _time_out_due(self, now: datetime) -> None:
        with self.uow() as tx:
            first = tx.jobs.next_timeout()
        if first is None or first > now:
            return
        while True:
            with self.uow(write=True) as tx:
                due = tx.jobs.due_timeouts(now, TIMEOUT_BATCH)
                jobs: dict[str, Job] = {}  # each job read once per batch, then carried along
                for execution in due:
                    job = jobs.get(execution.job_id) or tx.jobs.get(execution.job_id)
                    assert job is not None
                    jobs[job.job_id] = self.rules.changed(tx, job, execution, timed_out(execution, now), now)
            if len(due) < TIMEOUT_BATCH:
                return

    def _job_due(self, job: Job, counts: Counts, now: datetime) -> bool:
        when = self._job_wake(job, counts, now)
        return when is not None and when <= now

    def next_due(self) -> datetime | None:
        """The earliest time at which a tick would change something (None: nothing is waiting)."""
        now = self.clock.now()
        with self.uow() as tx:
            times = [tx.jobs.next_timeout()]
            times += [self._job_wake(job, counts, now) for job, counts in tx.jobs.active()]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def _job_wake(self, job: Job, counts: Counts, now: datetime) -> datetime | None:
        scheduling = job.config.scheduling
        times: list[datetime | None] = []
        if job.status == JobStatus.SCHEDULED and scheduling is not None:
            times.append(scheduling.starts_at)
        ends_at = scheduling.ends_at if scheduling is not None else None
        if ends_at is not None and (ends_at > now or job.status == JobStatus.SCHEDULED or counts.pending_targets):
            times.append(ends_at)  # once past and applied, a STOP_ROLLOUT end has nothing more to do
        elif ends_at is not None and ends_at <= now:
            return now if completes(job, counts) else None
        if job.status == JobStatus.IN_PROGRESS:
            if completes(job, counts):
                times.append(now)
            if counts.pending_targets:
                times.append(self._next_dispatch(job, counts, now))
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def _next_dispatch(self, job: Job, counts: Counts, now: datetime) -> datetime | None:
        windows = windows_of(job)
        if windows and open_window(windows, now) is None:
            return next_opening(windows, now)
        bucket = current_bucket(job, now)
        rate = minute_rate(job, bucket, counts.of(ExecutionStatus.SUCCEEDED))
        if budget(rate, bucket) != 0:
            return now
        return bucket.start + timedelta(minutes=1)
