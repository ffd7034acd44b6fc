"""The device-notice outbox on SQLite with a FakeClock: every change that moves a thing's executions into
or out of its pending set, or changes their status, notes the thing in the same transaction (what the
gateway's Notifier drains to push notify / notify-next); reads note nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from otahub.domain.executions import ExecutionStatus
from otahub.domain.jobs import JobConfig, RetryCriterion, RolloutConfig
from tests.unit.services.jobs_store import JobsStore, open_jobs_store

S = ExecutionStatus
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


Store = JobsStore


@pytest.fixture
def store(tmp_path: Path) -> JobsStore:
    return open_jobs_store(tmp_path)


def test_the_outbox_keeps_each_thing_once_longest_waiting_first(store: Store) -> None:
    with store.uow(write=True) as tx:
        tx.jobs.note_things(["b", "a"], store.clock.now())
    store.clock.advance(SECOND)
    with store.uow(write=True) as tx:
        tx.jobs.note_things(["c", "a", "c"], store.clock.now())  # a keeps its place
    assert store.taken(2) == ["a", "b"]
    assert store.taken() == ["c"]
    assert store.taken() == []


def test_a_snapshot_dispatch_notes_every_dispatched_thing(store: Store) -> None:
    store.fleet("dev1", "dev2", "dev3", group="fleet")
    assert store.taken() == []  # creating things and groups changes no execution
    store.job("j", group="fleet")
    assert sorted(store.taken()) == ["dev1", "dev2", "dev3"]


def test_a_rate_limited_dispatch_notes_only_what_it_dispatched(store: Store) -> None:
    store.fleet("dev1", "dev2", "dev3", group="fleet")
    store.job("j", group="fleet", config=JobConfig(rollout=RolloutConfig(2)))
    assert store.taken() == ["dev1", "dev2"]
    store.engine.tick()
    assert store.taken() == []
    store.clock.advance(MINUTE)
    store.engine.tick()
    assert store.taken() == ["dev3"]


def test_device_updates_note_status_changes_only(store: Store) -> None:
    store.fleet("dev1")
    store.job("j", "dev1")
    store.taken()
    assert store.devices.start_next("dev1", None, None) is not None
    assert store.taken() == ["dev1"]
    store.devices.start_next("dev1", {"k": "v"}, None)  # already IN_PROGRESS: nothing changes
    store.update("dev1", "j", S.IN_PROGRESS, {"progress": "50%"})  # details only: the same pending set
    assert store.taken() == []
    store.update("dev1", "j", S.SUCCEEDED)
    assert store.taken() == ["dev1"]


def test_a_retry_notes_the_thing(store: Store) -> None:
    store.fleet("dev1")
    store.job("j", "dev1", config=JobConfig(retry=(RetryCriterion("FAILED", 1),)))
    store.taken()
    store.update("dev1", "j", S.FAILED)
    assert store.taken() == ["dev1"]
    retry = store.jobs.describe_execution("j", "dev1", None)
    assert (retry.execution_number, retry.status) == (2, S.QUEUED)


def test_a_timeout_notes_the_thing(store: Store) -> None:
    store.fleet("dev1")
    store.job("j", "dev1", config=JobConfig(in_progress_timeout_minutes=1))
    store.devices.start_next("dev1", None, None)
    store.taken()
    store.clock.advance(MINUTE)
    store.engine.tick()
    assert store.jobs.describe_execution("j", "dev1", None).status == S.TIMED_OUT
    assert store.taken() == ["dev1"]


def test_cancel_notes_queued_things_and_in_progress_ones_with_force(store: Store) -> None:
    store.fleet("dev1", "dev2", "dev3", "dev4")
    store.job("soft", "dev1", "dev2")
    store.job("hard", "dev3", "dev4")
    store.devices.start_next("dev1", None, None)
    store.devices.start_next("dev3", None, None)
    store.taken()
    store.jobs.cancel_job("soft", None, None, force=False)
    assert store.taken() == ["dev2"]  # dev1 runs on
    store.jobs.cancel_job("hard", None, None, force=True)
    assert sorted(store.taken()) == ["dev3", "dev4"]
    store.jobs.cancel_execution("soft", "dev1", True, None, None)
    assert store.taken() == ["dev1"]


def test_a_continuous_job_notes_a_thing_that_joins_and_leaves(store: Store) -> None:
    store.fleet("dev1", group="fleet")
    store.fleet("dev2")
    store.job("cont", group="fleet", selection="CONTINUOUS")
    assert store.taken() == ["dev1"]
    store.things.add_thing_to_group("fleet", "dev2")
    assert store.taken() == ["dev2"]
    store.things.remove_thing_from_group("fleet", "dev2")  # its QUEUED execution is REMOVED
    assert store.jobs.describe_execution("cont", "dev2", None).status == S.REMOVED
    assert store.taken() == ["dev2"]
    store.things.add_thing_to_group("fleet", "dev2")  # back: a fresh execution
    assert store.taken() == ["dev2"]


def test_deleting_pending_executions_notes_the_thing_and_history_does_not(store: Store) -> None:
    store.fleet("dev1", "dev2")
    store.job("j", "dev1", config=JobConfig(retry=(RetryCriterion("FAILED", 1),)))
    store.update("dev1", "j", S.FAILED)  # execution 1 FAILED (history), 2 QUEUED
    store.taken()
    store.jobs.delete_execution("j", "dev1", 1, force=False)
    assert store.taken() == []
    store.jobs.delete_execution("j", "dev1", 2, force=True)
    assert store.taken() == ["dev1"]
    store.job("k", "dev2")
    store.taken()
    store.jobs.delete_job("k", force=True)
    assert store.taken() == ["dev2"]


def test_reads_note_nothing(store: Store) -> None:
    store.fleet("dev1", group="fleet")
    store.job("j", group="fleet")
    store.devices.start_next("dev1", None, None)
    store.taken()
    store.devices.pending("dev1")
    store.devices.describe("dev1", "$next", None)
    store.devices.describe("dev1", "j", None)
    store.devices.state("dev1", "j", None)
    store.jobs.describe_job("j")
    store.jobs.describe_execution("j", "dev1", None)
    store.jobs.executions_for_job("j", None, None, None)
    store.jobs.executions_for_thing("dev1", None, None, None, None)
    store.engine.tick()
    store.engine.next_due()
    assert store.taken() == []


def test_an_empty_outbox_is_seen_without_taking_from_it(store: Store) -> None:
    with store.uow() as tx:
        assert not tx.jobs.has_notices()
    store.fleet("dev1")
    store.job("j", "dev1")
    with store.uow() as tx:
        assert tx.jobs.has_notices()
    assert store.taken() == ["dev1"]
    with store.uow() as tx:
        assert not tx.jobs.has_notices()
