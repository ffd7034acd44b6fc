"""The pure job rules: the execution state machine (iot-jobs-mqtt.md section 4), the rollout rate and its
per-minute buckets, abort and retry (ota-update-job.md "Rollout / abort / timeout semantics")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from otahub.domain.errors import InvalidInput, InvalidStateTransition, VersionConflict
from otahub.domain.executions import (
    DEVICE_STATUSES,
    MAX_TIMEOUT_MINUTES,
    DeviceUpdate,
    Execution,
    ExecutionStatus,
    canceled,
    device_transition,
    start,
    timed_out,
)
from otahub.domain.jobs import (
    AbortCriterion,
    Bucket,
    Counts,
    ExponentialRate,
    Job,
    JobConfig,
    JobStatus,
    RetryCriterion,
    RolloutConfig,
    abort_reason,
    budget,
    check_config,
    current_bucket,
    minute_rate,
    rate_per_minute,
    retries_allowed,
)

S = ExecutionStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
TERMINAL = [s for s in ExecutionStatus if s.terminal]
SQL_INT_MAX = 2**63 - 1  # a dispatch passes the budget to SQL as a LIMIT


def queued(status: ExecutionStatus = S.QUEUED) -> Execution:
    return Execution("job", "thing", 1, status, T0, T0)


def in_progress(timeout: int | None = None, step: int | None = None) -> Execution:
    return device_transition(queued(), DeviceUpdate(S.IN_PROGRESS, step_timeout_minutes=step), timeout, T0)


# --- the execution state machine: examples ---------------------------------------------------------


def test_start_sets_started_at_the_in_progress_deadline_and_the_version() -> None:
    started = start(queued(), {"step": "download"}, 5, 60, T0 + MINUTE)
    assert (started.status, started.version, started.started_at) == (S.IN_PROGRESS, 2, T0 + MINUTE)
    assert started.status_details == {"step": "download"}
    assert started.in_progress_deadline == T0 + 61 * MINUTE
    assert started.step_deadline == started.timeout_at == T0 + 6 * MINUTE


def test_start_leaves_an_in_progress_execution_alone() -> None:
    running = in_progress(timeout=60)
    assert start(running, {"other": "details"}, 9, 60, T0 + MINUTE) is running


def test_without_a_timeout_nothing_times_out() -> None:
    running = in_progress()
    assert running.in_progress_deadline is None and running.timeout_at is None
    assert running.seconds_before_timeout(T0) is None


@pytest.mark.parametrize("terminal", [S.SUCCEEDED, S.FAILED, S.REJECTED])
def test_queued_may_end_directly(terminal: ExecutionStatus) -> None:
    ended = device_transition(queued(), DeviceUpdate(terminal, {"why": "x"}), 60, T0)
    assert (ended.status, ended.version, ended.started_at, ended.timeout_at) == (terminal, 2, None, None)


def test_in_progress_to_rejected_is_refused() -> None:
    running = in_progress(timeout=10)
    with pytest.raises(InvalidStateTransition) as refused:
        device_transition(running, DeviceUpdate(S.REJECTED), 10, T0)
    assert refused.value.status == "IN_PROGRESS"


@pytest.mark.parametrize("terminal", TERMINAL)
@pytest.mark.parametrize("status", sorted(DEVICE_STATUSES))
def test_a_terminal_execution_takes_no_device_update(terminal: ExecutionStatus, status: ExecutionStatus) -> None:
    with pytest.raises(InvalidStateTransition) as refused:
        device_transition(queued(status=terminal), DeviceUpdate(status), None, T0)
    assert refused.value.status == terminal.value


@pytest.mark.parametrize("status", [S.QUEUED, S.TIMED_OUT, S.REMOVED, S.CANCELED])
def test_a_device_cannot_set_service_statuses(status: ExecutionStatus) -> None:
    with pytest.raises(InvalidInput):
        device_transition(queued(), DeviceUpdate(status), None, T0)


def test_expected_version_must_match() -> None:
    running = in_progress()  # version 2
    with pytest.raises(VersionConflict):
        device_transition(running, DeviceUpdate(S.SUCCEEDED, expected_version=1), None, T0)
    assert device_transition(running, DeviceUpdate(S.SUCCEEDED, expected_version=2), None, T0).version == 3


def test_details_are_kept_when_omitted_and_replaced_when_given() -> None:
    running = device_transition(queued(), DeviceUpdate(S.IN_PROGRESS, {"a": "1", "b": "2"}), None, T0)
    assert device_transition(running, DeviceUpdate(S.IN_PROGRESS), None, T0).status_details == {"a": "1", "b": "2"}
    assert device_transition(running, DeviceUpdate(S.IN_PROGRESS, {"c": "3"}), None, T0).status_details == {"c": "3"}


def test_a_new_step_timeout_replaces_the_old_and_minus_one_clears_it() -> None:
    running = in_progress(step=5)
    later = T0 + 2 * MINUTE
    renewed = device_transition(running, DeviceUpdate(S.IN_PROGRESS, step_timeout_minutes=10), None, later)
    assert renewed.step_deadline == renewed.timeout_at == later + 10 * MINUTE
    cleared = device_transition(renewed, DeviceUpdate(S.IN_PROGRESS, step_timeout_minutes=-1), None, later)
    assert cleared.step_deadline is None and cleared.timeout_at is None


def test_clearing_the_step_timer_leaves_the_in_progress_timer() -> None:
    running = in_progress(timeout=60, step=5)
    cleared = device_transition(running, DeviceUpdate(S.IN_PROGRESS, step_timeout_minutes=-1), 60, T0)
    assert cleared.step_deadline is None and cleared.timeout_at == T0 + 60 * MINUTE


def test_the_step_timer_never_extends_beyond_the_in_progress_deadline() -> None:
    running = in_progress(timeout=30)
    longer = device_transition(running, DeviceUpdate(S.IN_PROGRESS, step_timeout_minutes=120), 30, T0 + MINUTE)
    assert longer.timeout_at == T0 + 30 * MINUTE
    assert longer.seconds_before_timeout(T0 + MINUTE) == 29 * 60


def test_the_in_progress_deadline_is_fixed_at_start() -> None:
    running = in_progress(timeout=30)
    again = device_transition(running, DeviceUpdate(S.IN_PROGRESS), 999, T0 + 10 * MINUTE)
    assert again.in_progress_deadline == T0 + 30 * MINUTE


@pytest.mark.parametrize("minutes", [0, -2, MAX_TIMEOUT_MINUTES + 1])
def test_step_timeouts_out_of_range_are_refused(minutes: int) -> None:
    with pytest.raises(InvalidInput):
        device_transition(queued(), DeviceUpdate(S.IN_PROGRESS, step_timeout_minutes=minutes), None, T0)


def test_timed_out_ends_the_timers() -> None:
    ended = timed_out(in_progress(timeout=1, step=1), T0 + MINUTE)
    assert (ended.status, ended.version, ended.timeout_at, ended.step_deadline) == (S.TIMED_OUT, 3, None, None)


def test_cancel_needs_force_for_an_in_progress_execution() -> None:
    assert canceled(queued(), force=False, details=None, now=T0).status == S.CANCELED
    running = in_progress(timeout=5)
    with pytest.raises(InvalidStateTransition):
        canceled(running, force=False, details=None, now=T0)
    forced = canceled(running, force=True, details={"by": "operator"}, now=T0)
    assert (forced.status, forced.force_canceled, forced.status_details) == (S.CANCELED, True, {"by": "operator"})
    assert forced.timeout_at is None and forced.version == running.version + 1


@pytest.mark.parametrize("terminal", TERMINAL)
def test_a_terminal_execution_cannot_be_canceled(terminal: ExecutionStatus) -> None:
    with pytest.raises(InvalidStateTransition):
        canceled(queued(status=terminal), force=True, details=None, now=T0)


def test_a_retry_is_the_next_execution_number() -> None:
    failed = device_transition(in_progress(), DeviceUpdate(S.FAILED), None, T0)
    retry = failed.retried(T0 + MINUTE)
    assert (retry.execution_number, retry.status, retry.version, retry.retry_attempt) == (2, S.QUEUED, 1, 1)
    assert retry.retry_counts == {"FAILED": 1} and retry.started_at is None and retry.queued_at == T0 + MINUTE


# --- the execution state machine: random sequences -------------------------------------------------


class ExecutionMachine(RuleBasedStateMachine):
    """Random device and service actions on one thing's executions of a job, checked against section 4."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.timeout: int | None = None
        self.execution = queued()
        self.ended: Execution | None = None  # the current attempt once it reached a terminal state

    @initialize(timeout=st.none() | st.integers(1, MAX_TIMEOUT_MINUTES))
    def configure(self, timeout: int | None) -> None:
        self.timeout = timeout

    @rule(seconds=st.integers(0, 3 * 24 * 3600))
    def wait(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(
        status=st.sampled_from(sorted(DEVICE_STATUSES)),
        details=st.none() | st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2"])),
        version=st.sampled_from(["right", "none", "stale", "ahead"]),
        step=st.none() | st.just(-1) | st.integers(1, MAX_TIMEOUT_MINUTES),
    )
    def device_update(
        self, status: ExecutionStatus, details: dict[str, str] | None, version: str, step: int | None
    ) -> None:
        before = self.execution
        expected = {"right": before.version, "none": None, "stale": before.version - 1, "ahead": before.version + 1}
        update = DeviceUpdate(status, details, expected[version], step)
        if version in ("stale", "ahead"):
            with pytest.raises(VersionConflict):
                device_transition(before, update, self.timeout, self.now)
            return
        if before.status.terminal or (before.status == S.IN_PROGRESS and status == S.REJECTED):
            with pytest.raises(InvalidStateTransition):
                device_transition(before, update, self.timeout, self.now)
            return
        after = device_transition(before, update, self.timeout, self.now)
        self._accepted(before, after)
        assert after.status == status
        assert after.status_details == (before.status_details if details is None else details)
        if before.status == S.QUEUED and status == S.IN_PROGRESS:
            assert after.started_at == self.now
            expected_deadline = None if self.timeout is None else self.now + timedelta(minutes=self.timeout)
            assert after.in_progress_deadline == expected_deadline
        else:
            assert after.started_at == before.started_at
        if status.terminal:
            assert after.in_progress_deadline is None and after.step_deadline is None
        elif step == -1:
            assert after.step_deadline is None
        elif step is not None:
            assert after.step_deadline == self.now + timedelta(minutes=step)
        else:
            assert after.step_deadline == before.step_deadline
        self.execution = after

    @rule(details=st.none() | st.just({"k": "v"}), step=st.none() | st.integers(1, MAX_TIMEOUT_MINUTES))
    def start_next(self, details: dict[str, str] | None, step: int | None) -> None:
        before = self.execution
        after = start(before, details, step, self.timeout, self.now)
        if before.status != S.QUEUED:
            assert after is before
            return
        self._accepted(before, after)
        assert (after.status, after.started_at) == (S.IN_PROGRESS, self.now)
        assert after.status_details == ({} if details is None else details)
        self.execution = after

    @precondition(lambda self: self.execution.timeout_at is not None)
    @rule()
    def time_out(self) -> None:
        due = self.execution.timeout_at
        assert due is not None
        self.now = max(self.now, due)
        before = self.execution
        after = timed_out(before, self.now)
        self._accepted(before, after)
        assert after.status == S.TIMED_OUT
        self.execution = after

    @rule(force=st.booleans())
    def cancel(self, force: bool) -> None:
        before = self.execution
        if before.status.terminal or (before.status == S.IN_PROGRESS and not force):
            with pytest.raises(InvalidStateTransition):
                canceled(before, force=force, details=None, now=self.now)
            return
        after = canceled(before, force=force, details=None, now=self.now)
        self._accepted(before, after)
        assert after.status == S.CANCELED and after.force_canceled == (before.status == S.IN_PROGRESS)
        self.execution = after

    @precondition(lambda self: self.execution.status in (S.FAILED, S.TIMED_OUT))
    @rule()
    def retry(self) -> None:
        before = self.execution
        after = before.retried(self.now)
        assert (after.execution_number, after.retry_attempt) == (before.execution_number + 1, before.retry_attempt + 1)
        assert (after.status, after.version, after.started_at, after.timeout_at) == (S.QUEUED, 1, None, None)
        assert sum(after.retry_counts.values()) == after.retry_attempt
        self.execution, self.ended = after, None

    def _accepted(self, before: Execution, after: Execution) -> None:
        assert not before.status.terminal
        assert after.version == before.version + 1
        assert after.last_updated_at == self.now
        assert (after.job_id, after.thing_name, after.execution_number) == (
            before.job_id, before.thing_name, before.execution_number)
        assert after.queued_at == before.queued_at

    @invariant()
    def terminal_states_never_change(self) -> None:
        if self.execution.status.terminal:
            if self.ended is None:
                self.ended = self.execution
            assert self.execution == self.ended

    @invariant()
    def timers_follow_the_status(self) -> None:
        execution = self.execution
        if execution.status == S.QUEUED:
            assert execution.started_at is None and execution.timeout_at is None
        if execution.status == S.IN_PROGRESS:
            assert execution.started_at is not None
            if self.timeout is not None:
                assert execution.in_progress_deadline == execution.started_at + timedelta(minutes=self.timeout)
        if execution.status.terminal:
            assert execution.timeout_at is None
            assert execution.in_progress_deadline is None and execution.step_deadline is None
        if execution.timeout_at is not None and execution.in_progress_deadline is not None:
            assert execution.timeout_at <= execution.in_progress_deadline  # the step timer never extends it
        seconds = execution.seconds_before_timeout(self.now)
        assert seconds is None or seconds >= 0


ExecutionMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
TestExecutionMachine = ExecutionMachine.TestCase


# --- rollout rate ----------------------------------------------------------------------------------

factors = st.integers(11, 50).map(lambda tenths: tenths / 10)  # AWS: 1.1 to 5.0, one decimal
exponential_rates = st.builds(
    ExponentialRate, base_rate_per_minute=st.integers(1, 1000), increment_factor=factors,
    notified_step=st.integers(1, 10_000),
)
counts_of_things = st.integers(0, 10**7)


def test_no_rollout_config_means_no_limit() -> None:
    assert rate_per_minute(None, 10, 10) is None
    assert rate_per_minute(RolloutConfig(), 10, 10) is None


@given(cap=st.integers(1, 1000), notified=counts_of_things, succeeded=counts_of_things)
def test_a_constant_rate_is_the_cap(cap: int, notified: int, succeeded: int) -> None:
    assert rate_per_minute(RolloutConfig(maximum_per_minute=cap), notified, succeeded) == cap


@pytest.mark.parametrize(
    ("count", "rate"),
    [(0, 50), (999, 50), (1000, 100), (1999, 100), (2000, 200), (2999, 200), (3000, 400), (4000, 800)],
)
def test_the_aws_exponential_example(count: int, rate: int) -> None:
    by_notified = RolloutConfig(exponential=ExponentialRate(50, 2.0, notified_step=1000))
    by_succeeded = RolloutConfig(exponential=ExponentialRate(50, 2.0, succeeded_step=1000))
    assert rate_per_minute(by_notified, count, 0) == rate
    assert rate_per_minute(by_succeeded, 0, count) == rate
    assert rate_per_minute(by_succeeded, count, 0) == 50  # the other count does not ramp it


def test_the_ramp_keeps_rising_past_its_float_guard() -> None:
    """base 50, factor 2, every thing a step: past 200 steps the rate must not drop (it did: 50*2**200 then 10**9)."""
    ramp = RolloutConfig(exponential=ExponentialRate(50, 2.0, notified_step=1))
    rates = [rate_per_minute(ramp, n, 0) or 0 for n in range(190, 210)]
    assert rates == sorted(rates) and all(1 <= rate <= SQL_INT_MAX for rate in rates)


@given(ramp=exponential_rates, a=counts_of_things, b=counts_of_things)
def test_an_exponential_rate_never_falls_as_things_are_notified(ramp: ExponentialRate, a: int, b: int) -> None:
    low, high = sorted((a, b))
    config = RolloutConfig(exponential=ramp)
    slow, fast = rate_per_minute(config, low, 0), rate_per_minute(config, high, 0)
    assert slow is not None and fast is not None
    assert 1 <= slow <= fast <= SQL_INT_MAX


@given(ramp=exponential_rates, cap=st.integers(1, 1000), notified=counts_of_things)
def test_the_cap_bounds_an_exponential_rate(ramp: ExponentialRate, cap: int, notified: int) -> None:
    rate = rate_per_minute(RolloutConfig(maximum_per_minute=cap, exponential=ramp), notified, 0)
    assert rate is not None and 1 <= rate <= cap
    uncapped = rate_per_minute(RolloutConfig(exponential=ramp), notified, 0)
    assert rate == min(cap, uncapped or 0)


# --- rollout minutes -------------------------------------------------------------------------------


def rolling_job(rollout: RolloutConfig) -> Job:
    return Job(
        job_id="job", targets=(), target_selection="SNAPSHOT", document="{}", document_source=None,
        description=None, config=JobConfig(rollout=rollout), status=JobStatus.IN_PROGRESS, created_at=T0,
        updated_at=T0,
    )


def test_a_bucket_holds_one_rollout_minute() -> None:
    job = rolling_job(RolloutConfig(maximum_per_minute=3))
    first = current_bucket(job, T0)
    assert (first.start, first.count) == (T0, 0) and budget(3, first) == 3
    used = replace(job, bucket_start=T0, bucket_count=3)
    assert current_bucket(used, T0 + timedelta(seconds=59)) == Bucket(T0, 3)
    assert budget(3, current_bucket(used, T0 + timedelta(seconds=59))) == 0
    later = current_bucket(used, T0 + timedelta(seconds=150))
    assert later.count == 0 and later.start <= T0 + timedelta(seconds=150) < later.start + MINUTE
    assert budget(3, later) == 3
    assert budget(None, current_bucket(used, T0)) is None


rollouts = st.one_of(
    st.builds(RolloutConfig, maximum_per_minute=st.integers(1, 5)),
    st.builds(RolloutConfig, maximum_per_minute=st.none() | st.integers(1, 20),
              exponential=st.builds(ExponentialRate, base_rate_per_minute=st.integers(1, 5),
                                    increment_factor=factors, notified_step=st.integers(1, 10))),
)


@given(
    rollout=rollouts,
    calls=st.lists(st.tuples(st.integers(0, 150), st.integers(0, 8)), min_size=1, max_size=60),
)
def test_no_rollout_minute_dispatches_more_than_the_rate(rollout: RolloutConfig, calls: list[tuple[int, int]]) -> None:
    """Dispatch as EngineRules._dispatch does (the budget of the current bucket at the minute's rate) at
    random increasing times: every dispatch falls inside its minute, minutes do not overlap, and no minute
    holds more than the rate of its first dispatch."""
    job = rolling_job(rollout)
    now = T0
    per_minute: dict[datetime, int] = {}
    rate_of: dict[datetime, int] = {}
    for gap, wanted in calls:
        now += timedelta(seconds=gap)
        bucket = current_bucket(job, now)
        assert bucket.start <= now < bucket.start + MINUTE
        if bucket.start not in rate_of:
            assert all(bucket.start >= earlier + MINUTE for earlier in rate_of)
            fresh = rate_per_minute(rollout, job.notified, 0)
            assert fresh is not None
            rate_of[bucket.start] = fresh
        allowed = budget(minute_rate(job, bucket, 0), bucket)
        created = wanted if allowed is None else min(wanted, allowed)
        job = replace(job, notified=job.notified + created, bucket_start=bucket.start,
                      bucket_count=bucket.count + created)
        per_minute[bucket.start] = per_minute.get(bucket.start, 0) + created
        assert per_minute[bucket.start] == job.bucket_count <= rate_of[bucket.start]
    assert sum(per_minute.values()) == job.notified


# --- abort -----------------------------------------------------------------------------------------

all_counts = st.builds(
    Counts, by_status=st.fixed_dictionaries({status: st.integers(0, 40) for status in ExecutionStatus}),
    pending_targets=st.integers(0, 5),
)
failure_types = st.sampled_from(["FAILED", "REJECTED", "TIMED_OUT", "ALL"])
criteria = st.builds(
    AbortCriterion, failure_type=failure_types,
    threshold_percentage=st.integers(0, 10_000).map(lambda hundredths: hundredths / 100),
    min_executed=st.integers(1, 60),
)


def fires(criterion: AbortCriterion, counts: Counts) -> bool:
    executed = sum(counts.of(s) for s in TERMINAL)
    kinds = ["FAILED", "REJECTED", "TIMED_OUT"] if criterion.failure_type == "ALL" else [criterion.failure_type]
    failed = sum(counts.of(S(kind)) for kind in kinds)
    threshold = Fraction(round(criterion.threshold_percentage * 100), 100)
    return executed >= max(1, criterion.min_executed) and Fraction(100 * failed, executed) >= threshold


def statuses(**n: int) -> Counts:
    return Counts({S(name): value for name, value in n.items()})


def test_all_counts_failed_rejected_and_timed_out() -> None:
    counts = statuses(FAILED=1, REJECTED=1, TIMED_OUT=1, SUCCEEDED=7, QUEUED=50, IN_PROGRESS=50)
    assert abort_reason([AbortCriterion("ALL", 30.0, 10)], counts) is not None
    assert abort_reason([AbortCriterion("ALL", 30.01, 10)], counts) is None
    assert abort_reason([AbortCriterion("FAILED", 30.0, 10)], counts) is None
    assert abort_reason([AbortCriterion("FAILED", 10.0, 10)], counts) is not None


def test_abort_waits_for_the_minimum_of_executed_things() -> None:
    counts = statuses(FAILED=5, QUEUED=100)
    assert abort_reason([AbortCriterion("FAILED", 50.0, 6)], counts) is None
    assert abort_reason([AbortCriterion("FAILED", 50.0, 5)], counts) is not None
    assert abort_reason([], counts) is None


@given(criterion=criteria, counts=all_counts)
def test_abort_fires_exactly_at_the_threshold(criterion: AbortCriterion, counts: Counts) -> None:
    assert (abort_reason([criterion], counts) is not None) == fires(criterion, counts)


@given(chosen=st.lists(criteria, min_size=1, max_size=3), counts=all_counts)
def test_abort_fires_when_any_criterion_does(chosen: list[AbortCriterion], counts: Counts) -> None:
    assert (abort_reason(chosen, counts) is not None) == any(fires(c, counts) for c in chosen)


# --- retry -----------------------------------------------------------------------------------------


def test_retries_per_failure_type() -> None:
    both = [RetryCriterion("FAILED", 2), RetryCriterion("TIMED_OUT", 1)]
    assert retries_allowed(both, S.FAILED, {})
    assert retries_allowed(both, S.FAILED, {"FAILED": 1, "TIMED_OUT": 1})
    assert not retries_allowed(both, S.FAILED, {"FAILED": 2})
    assert retries_allowed(both, S.TIMED_OUT, {"FAILED": 2})
    assert not retries_allowed(both, S.TIMED_OUT, {"TIMED_OUT": 1})
    assert not retries_allowed([RetryCriterion("FAILED", 3)], S.TIMED_OUT, {})


def test_all_shares_one_budget() -> None:
    shared = [RetryCriterion("ALL", 3)]
    assert retries_allowed(shared, S.TIMED_OUT, {"FAILED": 1, "TIMED_OUT": 1})
    assert not retries_allowed(shared, S.FAILED, {"FAILED": 2, "TIMED_OUT": 1})


@pytest.mark.parametrize("status", [S.REJECTED, S.CANCELED, S.REMOVED, S.SUCCEEDED])
def test_only_failed_and_timed_out_are_retried(status: ExecutionStatus) -> None:
    assert not retries_allowed([RetryCriterion("ALL", 10)], status, {})


retry_configs = st.one_of(
    st.builds(lambda n: (RetryCriterion("ALL", n),), st.integers(0, 10)),
    st.lists(st.sampled_from(["FAILED", "TIMED_OUT"]), min_size=1, max_size=2, unique=True).flatmap(
        lambda kinds: st.tuples(*[st.builds(RetryCriterion, st.just(k), st.integers(0, 10)) for k in kinds])),
)


@given(config=retry_configs, failures=st.lists(st.sampled_from([S.FAILED, S.TIMED_OUT, S.REJECTED]), max_size=40))
def test_never_more_retries_than_configured(
    config: tuple[RetryCriterion, ...], failures: list[ExecutionStatus]
) -> None:
    check_config(JobConfig(retry=config))
    execution = queued()
    for failure in failures:
        ended = replace(execution, status=failure)
        if not retries_allowed(config, failure, ended.retry_counts):
            break
        execution = ended.retried(T0)
    limits = {c.failure_type: c.number_of_retries for c in config}
    counts = execution.retry_counts
    if "ALL" in limits:
        assert sum(counts.values()) <= limits["ALL"]
    for kind in ("FAILED", "TIMED_OUT"):
        assert counts.get(kind, 0) <= limits.get(kind, limits.get("ALL", 0))
    assert execution.execution_number == 1 + execution.retry_attempt == 1 + sum(counts.values())


@given(config=retry_configs, failure=st.sampled_from([S.FAILED, S.TIMED_OUT]))
def test_a_thing_failing_the_same_way_gets_every_retry(config: tuple[RetryCriterion, ...],
                                                       failure: ExecutionStatus) -> None:
    limits = {c.failure_type: c.number_of_retries for c in config}
    expected = limits.get(failure.value, limits.get("ALL", 0))
    execution = queued()
    while retries_allowed(config, failure, execution.retry_counts):
        execution = replace(execution, status=failure).retried(T0)
        assert execution.retry_attempt <= 10
    assert execution.retry_attempt == expected


# --- configuration checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (JobConfig(in_progress_timeout_minutes=0), "timeoutConfig.inProgressTimeoutInMinutes"),
        (JobConfig(in_progress_timeout_minutes=MAX_TIMEOUT_MINUTES + 1), "timeoutConfig.inProgressTimeoutInMinutes"),
        (JobConfig(rollout=RolloutConfig(exponential=ExponentialRate(5, 2.0))),
         "jobExecutionsRolloutConfig.exponentialRate.rateIncreaseCriteria"),
        (JobConfig(rollout=RolloutConfig(exponential=ExponentialRate(5, 2.0, notified_step=1, succeeded_step=1))),
         "jobExecutionsRolloutConfig.exponentialRate.rateIncreaseCriteria"),
        (JobConfig(rollout=RolloutConfig(exponential=ExponentialRate(5, 1.25, notified_step=1))),
         "jobExecutionsRolloutConfig.exponentialRate.incrementFactor"),
        (JobConfig(abort=(AbortCriterion("ALL", 10.125, 1),)), "abortConfig.criteriaList.thresholdPercentage"),
        (JobConfig(retry=(RetryCriterion("FAILED", 1), RetryCriterion("FAILED", 2))),
         "jobExecutionsRetryConfig.criteriaList"),
        (JobConfig(retry=(RetryCriterion("ALL", 1), RetryCriterion("FAILED", 2))),
         "jobExecutionsRetryConfig.criteriaList"),
    ],
)
def test_check_config_refuses(config: JobConfig, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_config(config)
    assert refused.value.field == field


def test_check_config_accepts_the_edges() -> None:
    check_config(JobConfig(
        in_progress_timeout_minutes=MAX_TIMEOUT_MINUTES,
        rollout=RolloutConfig(maximum_per_minute=1000, exponential=ExponentialRate(1, 5.0, succeeded_step=1)),
        abort=(AbortCriterion("ALL", 99.99, 1),),
        retry=(RetryCriterion("FAILED", 10), RetryCriterion("TIMED_OUT", 10)),
    ))
    check_config(JobConfig(in_progress_timeout_minutes=1, retry=(RetryCriterion("ALL", 0),)))
