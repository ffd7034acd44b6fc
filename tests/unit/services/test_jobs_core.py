"""JobService's device side and the rollout engine on SQLite with a FakeClock, no HTTP: what a device
sees and does (iot-jobs-mqtt.md sections 3 and 4) and how jobs move by themselves (rollout, timeout,
retry, abort, continuous pick-up)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from otahub.domain.errors import InvalidStateTransition, NotFound, TerminalState, VersionConflict
from otahub.domain.executions import ExecutionStatus
from otahub.domain.jobs import AbortCriterion, ExponentialRate, JobConfig, JobStatus, RetryCriterion, RolloutConfig
from otahub.services.timekeeping import TimeDriver
from tests.unit.services.jobs_store import DOCUMENT, JobsStore, open_jobs_store

S = ExecutionStatus
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


Core = JobsStore


@pytest.fixture
def core(tmp_path: Path) -> JobsStore:
    return open_jobs_store(tmp_path)


def queued_three(core: Core) -> None:
    """Thing dev1 with jobs j1, j2, j3 queued one second apart."""
    core.fleet("dev1")
    for job_id in ("j1", "j2", "j3"):
        core.job(job_id, "dev1")
        core.clock.advance(SECOND)


# --- the device side ---------------------------------------------------------------------------------


def test_start_next_takes_the_oldest_queued_then_keeps_it(core: Core) -> None:
    queued_three(core)
    first = core.devices.start_next("dev1", {"step": "1"}, None)
    assert first is not None
    assert (first.execution.job_id, first.execution.status, first.execution.version) == ("j1", S.IN_PROGRESS, 2)
    assert first.execution.started_at == core.clock.now() and first.job.job_id == "j1"
    core.clock.advance(SECOND)
    again = core.devices.start_next("dev1", {"step": "2"}, 5)
    assert again is not None and again.execution == first.execution  # an IN_PROGRESS one is not changed
    assert core.jobs.describe_execution("j1", "dev1", None) == first.execution


def test_start_next_prefers_an_in_progress_execution_to_an_older_queued_one(core: Core) -> None:
    queued_three(core)
    core.update("dev1", "j3", S.IN_PROGRESS)
    chosen = core.devices.start_next("dev1", None, None)
    assert chosen is not None and chosen.execution.job_id == "j3"
    in_progress, queued = core.devices.pending("dev1")
    assert [e.job_id for e in in_progress] == ["j3"] and [e.job_id for e in queued] == ["j1", "j2"]
    core.update("dev1", "j3", S.SUCCEEDED)
    order = []
    while (view := core.devices.start_next("dev1", None, None)) is not None:
        order.append(view.execution.job_id)
        core.update("dev1", view.execution.job_id, S.SUCCEEDED)
    assert order == ["j1", "j2"]
    assert core.devices.pending("dev1") == ([], [])


def test_describe_next_changes_nothing(core: Core) -> None:
    queued_three(core)
    before = core.jobs.describe_execution("j1", "dev1", None)
    for _ in range(2):
        view = core.devices.describe("dev1", "$next", None)
        assert view is not None and view.execution == before and view.job.document == DOCUMENT
    assert core.jobs.describe_execution("j1", "dev1", None) == before
    assert before.status == S.QUEUED and before.version == 1 and before.started_at is None
    assert core.counts("j1") == {S.QUEUED: 1}


def test_describe_next_with_nothing_pending_and_a_terminal_execution(core: Core) -> None:
    core.fleet("dev1")
    assert core.devices.describe("dev1", "$next", None) is None
    assert core.devices.start_next("dev1", None, None) is None
    core.job("j1", "dev1")
    core.update("dev1", "j1", S.REJECTED)
    assert core.devices.describe("dev1", "$next", None) is None
    with pytest.raises(TerminalState):
        core.devices.describe("dev1", "j1", None)
    with pytest.raises(NotFound):
        core.devices.describe("dev1", "nope", None)
    with pytest.raises(NotFound):
        core.devices.describe("ghost", "$next", None)


def test_device_updates_move_status_versions_and_counts(core: Core) -> None:
    core.fleet("dev1", "dev2", "dev3")
    core.job("j", "dev1", "dev2", "dev3")
    assert core.counts("j") == {S.QUEUED: 3}
    assert core.update("dev1", "j", S.IN_PROGRESS, status_details={"progress": "10%"}) == 2
    assert core.update("dev1", "j", S.IN_PROGRESS, expected_version=2, step_timeout_minutes=5) == 3
    assert core.counts("j") == {S.QUEUED: 2, S.IN_PROGRESS: 1}
    assert core.jobs.describe_execution("j", "dev1", None).status_details == {"progress": "10%"}
    with pytest.raises(VersionConflict):
        core.update("dev1", "j", S.SUCCEEDED, expected_version=2)
    with pytest.raises(InvalidStateTransition):
        core.update("dev1", "j", S.REJECTED)
    assert core.jobs.describe_execution("j", "dev1", None).version == 3  # refused updates change nothing
    core.update("dev1", "j", S.SUCCEEDED)
    core.update("dev2", "j", S.FAILED)
    assert core.status("j") == JobStatus.IN_PROGRESS
    core.update("dev3", "j", S.REJECTED)
    assert core.counts("j") == {S.SUCCEEDED: 1, S.FAILED: 1, S.REJECTED: 1}
    assert core.status("j") == JobStatus.COMPLETED
    with pytest.raises(InvalidStateTransition):
        core.update("dev1", "j", S.SUCCEEDED)


# --- the engine ----------------------------------------------------------------------------------


def test_the_in_progress_timer_times_out_on_a_tick(core: Core) -> None:
    core.fleet("dev1")
    core.job("j", "dev1", config=JobConfig(in_progress_timeout_minutes=10))
    started = core.devices.start_next("dev1", None, None)
    assert started is not None and started.execution.seconds_before_timeout(core.clock.now()) == 600
    assert core.engine.next_due() == core.clock.now() + 10 * MINUTE
    core.clock.advance(10 * MINUTE - SECOND)
    core.engine.tick()
    assert core.jobs.describe_execution("j", "dev1", None).status == S.IN_PROGRESS
    core.clock.advance(SECOND)
    core.engine.tick()
    ended = core.jobs.describe_execution("j", "dev1", None)
    assert (ended.status, ended.version, ended.timeout_at) == (S.TIMED_OUT, 3, None)
    assert core.counts("j") == {S.TIMED_OUT: 1} and core.status("j") == JobStatus.COMPLETED
    assert core.engine.next_due() is None


def test_a_step_timer_times_out_first_and_minus_one_cancels_it(core: Core) -> None:
    core.fleet("dev1", "dev2")
    core.job("j", "dev1", "dev2", config=JobConfig(in_progress_timeout_minutes=30))
    core.devices.start_next("dev1", None, 2)
    core.devices.start_next("dev2", None, 2)
    core.update("dev2", "j", S.IN_PROGRESS, step_timeout_minutes=-1)
    core.clock.advance(2 * MINUTE)
    core.engine.tick()
    assert core.counts("j") == {S.TIMED_OUT: 1, S.IN_PROGRESS: 1}
    assert core.jobs.describe_execution("j", "dev2", None).timeout_at == core.clock.now() + 28 * MINUTE


def test_a_failure_is_retried_as_execution_number_two(core: Core) -> None:
    core.fleet("dev1")
    core.job("j", "dev1", config=JobConfig(retry=(RetryCriterion("FAILED", 1),)))
    core.devices.start_next("dev1", None, None)
    core.clock.advance(MINUTE)
    core.update("dev1", "j", S.FAILED)
    retry = core.jobs.describe_execution("j", "dev1", None)
    assert (retry.execution_number, retry.retry_attempt, retry.status, retry.version) == (2, 1, S.QUEUED, 1)
    assert retry.queued_at == core.clock.now()
    assert core.jobs.describe_execution("j", "dev1", 1).status == S.FAILED
    assert core.counts("j") == {S.QUEUED: 1} and core.status("j") == JobStatus.IN_PROGRESS
    again = core.devices.start_next("dev1", None, None)
    assert again is not None and again.execution.execution_number == 2
    core.update("dev1", "j", S.FAILED)  # the one retry is spent
    assert core.jobs.describe_execution("j", "dev1", None).execution_number == 2
    assert core.counts("j") == {S.FAILED: 1} and core.status("j") == JobStatus.COMPLETED


def test_a_timeout_is_retried_under_all(core: Core) -> None:
    core.fleet("dev1")
    core.job("j", "dev1", config=JobConfig(in_progress_timeout_minutes=1, retry=(RetryCriterion("ALL", 1),)))
    core.devices.start_next("dev1", None, None)
    core.clock.advance(MINUTE)
    core.engine.tick()
    retry = core.jobs.describe_execution("j", "dev1", None)
    assert (retry.execution_number, retry.retry_attempt, retry.status) == (2, 1, S.QUEUED)
    assert retry.retry_counts == {"TIMED_OUT": 1}


def test_abort_cancels_queued_executions_and_leaves_in_progress_ones(core: Core) -> None:
    core.fleet("dev1", "dev2", "dev3", "dev4")
    core.job("j", "dev1", "dev2", "dev3", "dev4", config=JobConfig(abort=(AbortCriterion("ALL", 50.0, 2),)))
    core.devices.start_next("dev1", None, None)
    core.update("dev2", "j", S.FAILED)
    assert core.status("j") == JobStatus.IN_PROGRESS  # one executed thing is below the minimum
    core.update("dev3", "j", S.REJECTED)
    job, _ = core.jobs.describe_job("j")
    assert job.status == JobStatus.CANCELED and job.reason_code == "ABORTED"
    assert core.counts("j") == {S.IN_PROGRESS: 1, S.FAILED: 1, S.REJECTED: 1, S.CANCELED: 1}
    assert core.update("dev1", "j", S.SUCCEEDED) == 3  # the running device may still finish


def test_a_continuous_job_picks_up_a_thing_that_joins_later(core: Core) -> None:
    core.fleet("dev1", group="fleet")
    core.job("cont", group="fleet", selection="CONTINUOUS")
    core.job("snap", group="fleet")
    core.clock.advance(MINUTE)
    core.fleet("dev2")
    core.things.add_thing_to_group("fleet", "dev2")
    in_progress, queued = core.devices.pending("dev2")
    assert in_progress == [] and [e.job_id for e in queued] == ["cont"]
    assert queued[0].queued_at == core.clock.now()
    assert core.counts("cont") == {S.QUEUED: 2} and core.counts("snap") == {S.QUEUED: 1}


def test_next_due_is_the_next_rollout_minute(core: Core) -> None:
    assert core.engine.next_due() is None
    core.fleet(*(f"dev{n}" for n in range(5)), group="fleet")
    created = core.clock.now()
    core.job("j", group="fleet", config=JobConfig(rollout=RolloutConfig(maximum_per_minute=2)))
    assert core.counts("j") == {S.QUEUED: 2}
    assert core.engine.next_due() == created + MINUTE
    core.clock.advance(30 * SECOND)
    core.engine.tick()
    assert core.counts("j") == {S.QUEUED: 2}  # the minute's budget is spent
    assert core.engine.next_due() == created + MINUTE
    for minute in (1, 2):
        core.clock.set(created + minute * MINUTE)
        core.engine.tick()
    assert core.counts("j") == {S.QUEUED: 5}
    assert core.engine.next_due() is None  # everything notified, nothing running


def test_a_steep_exponential_ramp_dispatches_everything_left(core: Core) -> None:
    """50 * 5**50 things a minute once 50 are notified: the rate must still fit a SQL LIMIT (it overflowed)."""
    core.fleet(*(f"dev{n:03}" for n in range(100)), group="fleet")
    ramp = ExponentialRate(50, 5.0, notified_step=1)
    core.job("j", group="fleet", config=JobConfig(rollout=RolloutConfig(exponential=ramp)))
    assert core.counts("j") == {S.QUEUED: 50}
    core.clock.advance(MINUTE)
    core.engine.tick()
    assert core.counts("j") == {S.QUEUED: 100}


def test_the_time_driver_dispatches_two_a_minute(core: Core) -> None:
    core.fleet(*(f"dev{n:02}" for n in range(30)), group="fleet")
    core.job("j", group="fleet", config=JobConfig(rollout=RolloutConfig(maximum_per_minute=2)))
    assert core.counts("j") == {S.QUEUED: 2}
    driver = TimeDriver(core.clock, core.engine)
    seen = []
    for _ in range(10):
        driver.advance(60)
        seen.append(core.counts("j")[S.QUEUED])
    assert seen == [4, 6, 8, 10, 12, 14, 16, 18, 20, 22]
    assert core.jobs.describe_job("j")[0].notified == 22


def test_one_ten_minute_jump_rehearses_every_minute(core: Core) -> None:
    core.fleet(*(f"dev{n:02}" for n in range(30)), group="fleet")
    core.job("j", group="fleet", config=JobConfig(rollout=RolloutConfig(maximum_per_minute=2)))
    start = core.clock.now()
    assert TimeDriver(core.clock, core.engine).advance(600) == start + 10 * MINUTE
    assert core.counts("j") == {S.QUEUED: 22}
    queued = core.jobs.executions_for_job("j", "QUEUED", None, 100).items
    per_minute: dict[timedelta, int] = {}
    for execution in queued:
        per_minute[execution.queued_at - start] = per_minute.get(execution.queued_at - start, 0) + 1
    assert per_minute == {minute * MINUTE: 2 for minute in range(11)}


def test_a_stop_rollout_end_once_applied_leaves_nothing_due(core: Core) -> None:
    """Past its end a STOP_ROLLOUT job still runs its executions, but asks for no more ticks (so a long
    virtual-clock advance does not step through every minute after the end)."""
    from otahub.domain.jobs import SchedulingConfig

    core.fleet("s1", "s2", "s3", group="stop")
    ends = core.clock.now() + 2 * MINUTE
    scheduling = SchedulingConfig(end_time="x", end_behavior="STOP_ROLLOUT", ends_at=ends)
    core.job("stop", group="stop", config=JobConfig(rollout=RolloutConfig(maximum_per_minute=1),
                                                    scheduling=scheduling))
    TimeDriver(core.clock, core.engine).advance((3 * MINUTE).total_seconds())
    assert core.counts("stop") == {S.QUEUED: 2}  # minute 0 and minute 1; the end stopped the third
    assert core.status("stop") == JobStatus.IN_PROGRESS
    assert core.engine.next_due() is None
    core.devices.start_next("s1", None, None)
    core.update("s1", "stop", S.SUCCEEDED)
    core.devices.start_next("s2", None, None)
    core.update("s2", "stop", S.SUCCEEDED)
    assert core.status("stop") == JobStatus.COMPLETED
