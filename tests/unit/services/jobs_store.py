"""A real jobs store on SQLite with a FakeClock, wired as app.py wires it, for service-level tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from otahub.domain.clock import FakeClock
from otahub.domain.executions import DeviceUpdate, ExecutionStatus
from otahub.domain.ids import Arns
from otahub.domain.jobs import JobConfig, JobStatus
from otahub.services.device_jobs import DeviceJobs
from otahub.services.jobs import JobRequest, JobService
from otahub.services.objects import ObjectStore
from otahub.services.rollout import RolloutEngine
from otahub.services.things import ThingRegistry
from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema

DOCUMENT = '{"afr_ota": {"protocols": ["MQTT"], "files": [{"filepath": "/fw.bin", "filesize": 10}]}}'


@dataclass
class JobsStore:
    uow: SqlUnitOfWorkFactory
    clock: FakeClock
    arns: Arns
    things: ThingRegistry
    jobs: JobService
    devices: DeviceJobs
    engine: RolloutEngine

    def fleet(self, *names: str, group: str | None = None) -> None:
        if group is not None:
            self.things.create_thing_group(group, None, None, None, {})
        for name in names:
            self.things.create_thing(name, None, None, None)
            if group is not None:
                self.things.add_thing_to_group(group, name)

    def job(self, job_id: str, *things: str, group: str | None = None, selection: str | None = None,
            config: JobConfig | None = None) -> None:
        targets = [self.arns.thing(t) for t in things] + ([self.arns.thing_group(group)] if group else [])
        self.jobs.create_job(JobRequest(job_id, targets, document=DOCUMENT, target_selection=selection,
                                        config=config or JobConfig()))

    def counts(self, job_id: str) -> dict[ExecutionStatus, int]:
        return {status: n for status, n in self.jobs.describe_job(job_id)[1].items() if n}

    def status(self, job_id: str) -> JobStatus:
        return self.jobs.describe_job(job_id)[0].status

    def update(self, thing: str, job_id: str, status: ExecutionStatus, status_details: dict[str, str] | None = None,
               *, expected_version: int | None = None, step_timeout_minutes: int | None = None) -> int:
        """UpdateJobExecution of the latest execution; the new versionNumber."""
        update = DeviceUpdate(status, status_details, expected_version, step_timeout_minutes)
        return self.devices.update(thing, job_id, update, None).execution.version

    def taken(self, limit: int = 1000) -> list[str]:
        """The things noted in the device-notice outbox (longest waiting first), taken out of it."""
        with self.uow(write=True) as tx:
            return tx.jobs.take_notices(limit)


def open_jobs_store(root: Path) -> JobsStore:
    engine = make_engine(f"sqlite:///{root / 'otahub.db'}")
    upgrade_schema(engine)
    uow = SqlUnitOfWorkFactory(engine)
    clock = FakeClock()
    arns = Arns("us-east-1", "123456789012")
    things = ThingRegistry(uow, clock, arns)
    jobs = JobService(uow, ObjectStore(uow, LocalBlobStore(root / "blobs"), clock), clock, arns)
    things.listeners.append(jobs)  # as app.py wires it: continuous jobs follow group membership
    return JobsStore(uow, clock, arns, things, jobs, DeviceJobs(uow, clock), RolloutEngine(uow, clock))
