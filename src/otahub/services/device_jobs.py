"""The device side of jobs: a thing's pending executions, start-next, describe and update, as the
iot-jobs-data HTTP API (and the MQTT jobs topics) ask for them. Status changes go through the rollout
engine's rules like every other change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from otahub.domain.clock import Clock
from otahub.domain.errors import TerminalState
from otahub.domain.executions import (
    DeviceUpdate,
    Execution,
    ExecutionStatus,
    check_step_timeout,
    device_transition,
    start,
)
from otahub.domain.jobs import Job
from otahub.services.jobs import find_execution, find_job, require_thing
from otahub.services.ports import UnitOfWorkFactory
from otahub.services.rollout import EngineRules

NEXT = "$next"


@dataclass(frozen=True, slots=True)
class DeviceView:
    """An execution as a device sees it, with its job (for the document and its presigned-URL expiry)."""

    execution: Execution
    job: Job


class DeviceJobs:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock
        self.rules = EngineRules()

    def state(self, thing: str, job_id: str, number: int | None) -> Execution | None:
        """The stored execution, terminal ones too (what a refused update shows the device), or None."""
        with self.uow() as tx:
            return tx.jobs.execution(job_id, thing, number)

    def pending(self, thing: str) -> tuple[list[Execution], list[Execution]]:
        """(IN_PROGRESS, QUEUED) executions of a thing, each oldest first."""
        with self.uow() as tx:
            require_thing(tx, thing)
            pending = tx.jobs.pending_for_thing(thing)
        return ([e for e in pending if e.status == ExecutionStatus.IN_PROGRESS],
                [e for e in pending if e.status == ExecutionStatus.QUEUED])

    def start_next(self, thing: str, details: Mapping[str, str] | None, step_minutes: int | None) -> DeviceView | None:
        check_step_timeout(step_minutes, allow_cancel=False)
        now = self.clock.now()
        with self.uow(write=True) as tx:
            require_thing(tx, thing)
            chosen = _next_pending(tx.jobs.pending_for_thing(thing))
            if chosen is None:
                return None
            job = find_job(tx, chosen.job_id)
            started = start(chosen, details, step_minutes, job.config.in_progress_timeout_minutes, now)
            if started != chosen:
                job = self.rules.changed(tx, job, chosen, started, now)
            return DeviceView(started, job)

    def describe(self, thing: str, job_id: str, number: int | None) -> DeviceView | None:
        with self.uow() as tx:
            require_thing(tx, thing)
            if job_id == NEXT:
                chosen = _next_pending(tx.jobs.pending_for_thing(thing))
                return None if chosen is None else DeviceView(chosen, find_job(tx, chosen.job_id))
            execution = find_execution(tx, job_id, thing, number)
            if execution.status.terminal:
                raise TerminalState(f"The job execution of {job_id} on {thing} is {execution.status.value}")
            return DeviceView(execution, find_job(tx, job_id))

    def update(self, thing: str, job_id: str, update: DeviceUpdate, number: int | None) -> DeviceView:
        now = self.clock.now()
        with self.uow(write=True) as tx:
            require_thing(tx, thing)
            job = find_job(tx, job_id)
            execution = find_execution(tx, job_id, thing, number)
            after = device_transition(execution, update, job.config.in_progress_timeout_minutes, now)
            job = self.rules.changed(tx, job, execution, after, now)
            return DeviceView(after, job)


def _next_pending(pending: Sequence[Execution]) -> Execution | None:
    in_progress = [e for e in pending if e.status == ExecutionStatus.IN_PROGRESS]
    candidates = in_progress or list(pending)
    return candidates[0] if candidates else None
