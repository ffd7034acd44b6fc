"""OtaService's pipeline on SQLite, no HTTP: the states it commits, and picking up after a crash."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from otahub.domain.clock import FakeClock
from otahub.domain.ids import Arns
from otahub.domain.ota import OtaFile, OtaStatus, OtaUpdate
from otahub.domain.streams import S3Location
from otahub.services.jobs import JobService
from otahub.services.objects import NewObject, ObjectStore
from otahub.services.ota import OtaService
from otahub.services.streams import StreamService
from otahub.services.things import ThingRegistry
from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema

ROLE = "arn:aws:iam::123456789012:role/ota"
IMAGE = b"firmware image" * 100


@dataclass
class Pipeline:
    uow: SqlUnitOfWorkFactory
    clock: FakeClock
    arns: Arns
    ota: OtaService
    streams: StreamService
    jobs: JobService

    def update(self, ota_id: str, status: OtaStatus = OtaStatus.CREATE_PENDING) -> OtaUpdate:
        now = self.clock.now()
        return OtaUpdate(ota_id, (self.arns.thing("dev1"),), (OtaFile("fw.bin", s3=S3Location("firmware", "fw.bin")),),
                         ROLE, status, now, now)


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    engine = make_engine(f"sqlite:///{tmp_path / 'otahub.db'}")
    upgrade_schema(engine)
    uow = SqlUnitOfWorkFactory(engine)
    clock, arns = FakeClock(), Arns("us-east-1", "123456789012")
    blobs = LocalBlobStore(tmp_path / "blobs")
    objects = ObjectStore(uow, blobs, clock)
    objects.create_bucket("firmware")
    spool = blobs.spool()
    spool.write(IMAGE)
    objects.put_object("firmware", "fw.bin", spool.finish(), NewObject())
    ThingRegistry(uow, clock, arns).create_thing("dev1", None, None, None)
    streams = StreamService(uow, objects, clock, arns)
    jobs = JobService(uow, objects, clock, arns)
    ota = OtaService(uow, objects, streams, jobs, clock, arns, json.dumps)
    return Pipeline(uow, clock, arns, ota, streams, jobs)


def test_create_answers_pending_then_completes(pipeline: Pipeline) -> None:
    created = pipeline.ota.create(pipeline.update("u1"), {})
    assert created.status == OtaStatus.CREATE_PENDING
    done = pipeline.ota.get("u1")
    assert (done.status, done.job_id) == (OtaStatus.CREATE_COMPLETE, "AFR_OTA-u1")
    assert done.stream_created and done.stream_id is not None and done.stream_id.startswith("AFR_OTA-")
    document = json.loads(pipeline.jobs.job_document("AFR_OTA-u1"))["afr_ota"]
    assert document["streamname"] == done.stream_id and document["files"][0]["filesize"] == len(IMAGE)


def test_an_update_a_crash_left_in_progress_is_finished_at_start_up(pipeline: Pipeline) -> None:
    with pipeline.uow(write=True) as tx:  # as a crash after CREATE_IN_PROGRESS was committed leaves it
        tx.ota_updates.add(pipeline.update("u2", OtaStatus.CREATE_IN_PROGRESS))
    assert pipeline.ota.resume_unfinished() == 1
    assert pipeline.ota.get("u2").status == OtaStatus.CREATE_COMPLETE
    assert pipeline.jobs.describe_job("AFR_OTA-u2")[0].job_id == "AFR_OTA-u2"
    assert pipeline.ota.resume_unfinished() == 0  # nothing left to finish


def test_resuming_reuses_the_stream_and_job_made_before_the_crash(pipeline: Pipeline) -> None:
    pipeline.ota.create(pipeline.update("u3"), {})
    first = pipeline.ota.get("u3")
    with pipeline.uow(write=True) as tx:  # crash after the stream and the job, before CREATE_COMPLETE
        stored = tx.ota_updates.get("u3")
        assert stored is not None
        tx.ota_updates.save(replace(stored, status=OtaStatus.CREATE_IN_PROGRESS))
    assert pipeline.ota.resume_unfinished() == 1
    again = pipeline.ota.get("u3")
    assert (again.status, again.stream_id, again.job_id) == (OtaStatus.CREATE_COMPLETE, first.stream_id, "AFR_OTA-u3")
    assert [s.stream_id for s in pipeline.streams.list_streams(True, None, 250).items] == [first.stream_id]


def test_a_failure_is_committed_with_its_reason_and_no_job(pipeline: Pipeline) -> None:
    missing = OtaUpdate("u4", (pipeline.arns.thing("dev1"),), (OtaFile(s3=S3Location("firmware", "gone.bin")),), ROLE,
                        OtaStatus.CREATE_PENDING, pipeline.clock.now(), pipeline.clock.now())
    pipeline.ota.create(missing, {})
    failed = pipeline.ota.get("u4")
    assert failed.status == OtaStatus.CREATE_FAILED
    assert failed.error is not None and "gone.bin" in failed.error.message
    with pipeline.uow() as tx:
        assert tx.jobs.get("AFR_OTA-u4") is None
