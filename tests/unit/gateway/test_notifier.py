"""The notify and notify-next pushes (iot-jobs-mqtt.md sections 3.5 and 3.6) on a real store: SQLite, a
FakeClock and the device-notice outbox the job repository fills."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otahub.domain.clock import FakeClock
from otahub.domain.errors import DomainError
from otahub.domain.executions import DeviceUpdate, ExecutionStatus
from otahub.domain.ids import Arns
from otahub.domain.jobs import JobConfig, RetryCriterion
from otahub.gateway.notifier import Notifier
from otahub.services.device_jobs import DeviceJobs, DeviceView
from otahub.services.jobs import JobRequest, JobService
from otahub.services.objects import ObjectStore
from otahub.services.things import ThingRegistry
from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema
from tests.unit.gateway.conftest import START

S = ExecutionStatus
DOCUMENT = '{"afr_ota": {"files": [{"filepath": "/fw.bin", "filesize": 10}]}}'
SECOND = timedelta(seconds=1)
NOW = 1770701736  # START in epoch seconds


def document(view: DeviceView) -> str:
    return view.job.document


@dataclass
class Hub:
    uow: SqlUnitOfWorkFactory
    clock: FakeClock
    arns: Arns
    things: ThingRegistry
    jobs: JobService
    devices: DeviceJobs
    notifier: Notifier = field(init=False)
    sent: list[tuple[str, Any, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.notifier = Notifier(self.devices, self.take, self.publish, document, self.clock)

    def take(self, limit: int) -> list[str]:
        with self.uow(write=True) as tx:
            return tx.jobs.take_notices(limit)

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        self.sent.append((topic, json.loads(payload), qos))

    def drain(self) -> list[tuple[str, Any]]:
        """What one drain published: (topic after the thing's jobs prefix, JSON), in order."""
        self.sent.clear()
        self.notifier.drain()
        assert all(qos == 1 for _, _, qos in self.sent)
        return [(topic.split("/jobs/")[0].split("/")[-1] + "/" + topic.split("/jobs/")[1], body)
                for topic, body, _ in self.sent]

    def job(self, job_id: str, *things: str, config: JobConfig | None = None) -> None:
        self.jobs.create_job(JobRequest(job_id, [self.arns.thing(t) for t in things], document=DOCUMENT,
                                        config=config or JobConfig()))

    def update(self, thing: str, job_id: str, status: ExecutionStatus) -> None:
        self.devices.update(thing, job_id, DeviceUpdate(status, None, None, None), None)


@contextmanager
def hub_at(root: Path) -> Iterator[Hub]:
    engine = make_engine(f"sqlite:///{root / 'otahub.db'}")
    upgrade_schema(engine)
    uow = SqlUnitOfWorkFactory(engine)
    clock = FakeClock(START)
    arns = Arns("us-east-1", "123456789012")
    things = ThingRegistry(uow, clock, arns)
    jobs = JobService(uow, ObjectStore(uow, LocalBlobStore(root / "blobs"), clock), clock, arns)
    things.listeners.append(jobs)
    try:
        yield Hub(uow, clock, arns, things, jobs, DeviceJobs(uow, clock))
    finally:
        engine.dispose()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with hub_at(tmp_path) as built:
        yield built


def jobs_of(notify: Any) -> dict[str, list[str]]:
    return {status: [s["jobId"] for s in summaries] for status, summaries in notify["jobs"].items()}


def test_the_lifecycle_of_two_jobs_on_one_thing(hub: Hub) -> None:
    hub.things.create_thing("dev1", None, None, None)
    assert hub.drain() == []
    hub.job("j1", "dev1")
    [(t1, notify), (t2, nxt)] = hub.drain()
    assert (t1, t2) == ("dev1/notify", "dev1/notify-next")
    assert notify["timestamp"] == NOW and jobs_of(notify) == {"QUEUED": ["j1"]}
    assert nxt["execution"]["jobId"] == "j1" and nxt["execution"]["status"] == "QUEUED"
    assert nxt["execution"]["jobDocument"] == json.loads(DOCUMENT)  # an object, not a string
    assert hub.drain() == []  # nothing noted since

    hub.clock.advance(SECOND)
    assert hub.devices.start_next("dev1", None, None) is not None
    assert hub.drain() == []  # QUEUED -> IN_PROGRESS: the same set, the same next

    hub.clock.advance(SECOND)
    hub.job("j2", "dev1")
    [(topic, notify)] = hub.drain()
    assert topic == "dev1/notify" and jobs_of(notify) == {"IN_PROGRESS": ["j1"], "QUEUED": ["j2"]}

    hub.clock.advance(SECOND)
    hub.update("dev1", "j1", S.SUCCEEDED)
    [(t1, notify), (t2, nxt)] = hub.drain()
    assert (t1, t2) == ("dev1/notify", "dev1/notify-next")
    assert jobs_of(notify) == {"QUEUED": ["j2"]} and nxt["execution"]["jobId"] == "j2"
    assert nxt["timestamp"] == NOW + 3

    hub.update("dev1", "j2", S.IN_PROGRESS)
    assert hub.drain() == []
    hub.update("dev1", "j2", S.FAILED)
    assert hub.drain() == [("dev1/notify", {"timestamp": NOW + 3, "jobs": {}}),
                           ("dev1/notify-next", {"timestamp": NOW + 3})]


def test_a_newer_execution_going_in_progress_changes_only_the_next(hub: Hub) -> None:
    """The spec's example: J1, J2 QUEUED with J1 next; J2 -> IN_PROGRESS makes J2 next."""
    hub.things.create_thing("dev1", None, None, None)
    hub.job("j1", "dev1")
    hub.clock.advance(SECOND)
    hub.job("j2", "dev1")
    hub.drain()
    hub.update("dev1", "j2", S.IN_PROGRESS)
    [(topic, nxt)] = hub.drain()
    assert topic == "dev1/notify-next" and nxt["execution"]["jobId"] == "j2"


def test_a_retry_is_a_new_member_of_the_pending_set(hub: Hub) -> None:
    hub.things.create_thing("dev1", None, None, None)
    hub.job("j", "dev1", config=JobConfig(retry=(RetryCriterion("FAILED", 1),)))
    hub.drain()
    hub.update("dev1", "j", S.FAILED)
    [(t1, notify), (t2, nxt)] = hub.drain()
    assert (t1, t2) == ("dev1/notify", "dev1/notify-next")
    assert notify["jobs"]["QUEUED"][0]["executionNumber"] == 2 and nxt["execution"]["executionNumber"] == 2


def test_canceling_a_job_of_three_things_pushes_to_all_three(hub: Hub) -> None:
    for name in ("dev1", "dev2", "dev3"):
        hub.things.create_thing(name, None, None, None)
    hub.job("j", "dev1", "dev2", "dev3")
    assert len(hub.drain()) == 6
    hub.jobs.cancel_job("j", None, None, force=False)
    pushed = hub.drain()
    assert sorted(pushed, key=lambda p: p[0]) == [
        (f"{thing}/{kind}", body) for thing in ("dev1", "dev2", "dev3")
        for kind, body in (("notify", {"timestamp": NOW, "jobs": {}}), ("notify-next", {"timestamp": NOW}))]


def test_a_deleted_thing_is_forgotten_without_a_push(hub: Hub) -> None:
    hub.things.create_thing("dev1", None, None, None)
    hub.job("j", "dev1")
    hub.drain()
    assert "dev1" in hub.notifier.pushed
    hub.things.delete_thing("dev1", None)  # its QUEUED execution is REMOVED: that notes dev1, which is gone
    assert hub.jobs.describe_execution("j", "dev1", None).status.value == "REMOVED"
    assert hub.drain() == [] and "dev1" not in hub.notifier.pushed
    hub.things.create_thing("dev1", None, None, None)  # the name again: first sight, both pushes
    hub.job("k", "dev1")
    assert [topic for topic, _ in hub.drain()] == ["dev1/notify", "dev1/notify-next"]


def test_a_forgotten_thing_gets_both_pushes_again(hub: Hub) -> None:
    hub.notifier.remember = 1
    for name in ("dev1", "dev2"):
        hub.things.create_thing(name, None, None, None)
    hub.job("j1", "dev1")
    hub.drain()
    hub.job("j2", "dev2")
    hub.drain()
    assert list(hub.notifier.pushed) == ["dev2"]
    hub.job("k1", "dev1")  # the next is still j1, but dev1's last push was forgotten
    assert [topic for topic, _ in hub.drain()] == ["dev1/notify", "dev1/notify-next"]


def test_drain_takes_at_most_its_limit(hub: Hub) -> None:
    for name in ("dev1", "dev2", "dev3"):
        hub.things.create_thing(name, None, None, None)
    hub.job("j", "dev1", "dev2", "dev3")
    assert hub.notifier.drain(2) == 2
    assert hub.notifier.drain(2) == 1
    assert hub.notifier.drain(2) == 0


# --- the property: the last notify-next is always the describe $next -----------------------------------

THINGS = ("dev1", "dev2")
Op = tuple[str, int, int, bool]  # what, on which thing, which job or execution, drain after it
OPS = st.lists(st.tuples(st.sampled_from(["queue", "queue-retry", "start", "finish", "fail", "cancel",
                                          "force-cancel"]),
                         st.integers(0, len(THINGS) - 1), st.integers(0, 9), st.booleans()), max_size=25)


def pending_set(hub: Hub, thing: str) -> frozenset[tuple[str, int]]:
    in_progress, queued = hub.devices.pending(thing)
    return frozenset((e.job_id, e.execution_number) for e in (*in_progress, *queued))


def apply(hub: Hub, op: Op, run: str, jobs_made: list[str]) -> None:
    kind, index, choice, _ = op
    thing = f"{run}-{THINGS[index]}"
    in_progress, queued = hub.devices.pending(thing)
    pending = [*in_progress, *queued]
    if kind in ("queue", "queue-retry") and len(pending) < 8:
        job_id = f"{run}-j{len(jobs_made)}"
        targets = [thing] if choice % 2 else [f"{run}-{t}" for t in THINGS]
        retry = JobConfig(retry=(RetryCriterion("FAILED", 1),)) if kind == "queue-retry" else None
        hub.job(job_id, *targets, config=retry)
        jobs_made.append(job_id)
    elif kind in ("start", "finish", "fail") and pending:
        chosen = pending[choice % len(pending)]
        status = {"start": S.IN_PROGRESS, "finish": S.SUCCEEDED, "fail": S.FAILED}[kind]
        with suppress(DomainError):  # a refused update changes nothing
            hub.update(thing, chosen.job_id, status)
    elif kind in ("cancel", "force-cancel") and jobs_made:
        with suppress(DomainError):  # a completed or canceled job refuses
            hub.jobs.cancel_job(jobs_made[choice % len(jobs_made)], None, None, force=kind == "force-cancel")


def check_drain(hub: Hub, run: str, last: dict[str, tuple[frozenset[tuple[str, int]], Any]]) -> None:
    hub.drain()
    for topic, body, _ in hub.sent:
        thing, kind = topic.split("/")[2], topic.split("/jobs/")[1]
        notified, nxt = last.get(thing, (None, None))
        if kind == "notify":
            summaries = [s for group in body["jobs"].values() for s in group]
            pushed = frozenset((s["jobId"], s["executionNumber"]) for s in summaries)
            assert pushed != notified, f"notify for {thing} with an unchanged pending set"
            last[thing] = (pushed, nxt)
        else:
            execution = body.get("execution")
            last[thing] = (notified, None if execution is None else (execution["jobId"], execution["executionNumber"]))
    for name in THINGS:
        thing = f"{run}-{name}"
        view = hub.devices.describe(thing, "$next", None)
        notified, nxt = last.get(thing, (frozenset(), None))
        assert nxt == (None if view is None else (view.execution.job_id, view.execution.execution_number))
        assert notified == pending_set(hub, thing)


@pytest.fixture(scope="module")
def shared_hub() -> Iterator[Hub]:
    with tempfile.TemporaryDirectory() as root, hub_at(Path(root)) as built:
        yield built


RUNS = itertools.count()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_last_pushes_follow_the_store(shared_hub: Hub, ops: list[Op]) -> None:
    hub, run = shared_hub, f"r{next(RUNS)}"  # one store; each example its own things and jobs
    hub.notifier = Notifier(hub.devices, hub.take, hub.publish, document, hub.clock)
    for name in THINGS:
        hub.things.create_thing(f"{run}-{name}", None, None, None)
    last: dict[str, tuple[frozenset[tuple[str, int]], Any]] = {}
    jobs_made: list[str] = []
    for op in ops:
        hub.clock.advance(SECOND)
        apply(hub, op, run, jobs_made)
        if op[3]:
            check_drain(hub, run, last)
    check_drain(hub, run, last)
