"""The gateway on a real store: SQLite, the local blob store and a FakeClock (as tests/unit/services do)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from otahub.domain.clock import FakeClock
from otahub.domain.documents import ObjectRef, substitute_presigned
from otahub.domain.errors import NotFound
from otahub.domain.ids import Arns
from otahub.domain.jobs import JobConfig
from otahub.domain.objects import BlobRef
from otahub.domain.streams import FileRequest, S3Location, Stream, StreamFile
from otahub.gateway.jobs import JobsTopics
from otahub.gateway.messages import Outgoing
from otahub.gateway.streams import StreamsTopics
from otahub.services.device_jobs import DeviceJobs, DeviceView
from otahub.services.jobs import JobRequest, JobService
from otahub.services.objects import NewObject, ObjectStore
from otahub.services.streams import StreamService
from otahub.services.things import ThingRegistry
from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema

ROLE = "arn:aws:iam::123456789012:role/ota"
START = datetime.fromisoformat("2026-02-10T05:35:36+00:00")  # epoch 1770701736


def url_for(ref: ObjectRef) -> str:
    return f"https://otahub.test/{ref.bucket}/{ref.key}?X-Amz-Expires=1800"


def document(view: DeviceView) -> str:
    """What app.py's Presigner does, with a fixed URL."""
    return substitute_presigned(view.job.document, url_for)


def afr_ota(stream_id: str = "AFR_OTA-945d320b", size: int = 1164016) -> str:
    return json.dumps({"afr_ota": {"protocols": ["MQTT", "HTTP"], "streamname": stream_id, "files": [{
        "filepath": "aws_demos.bin", "filesize": size, "fileid": 0, "certfile": "ecdsa-sha256-signer.crt.pem",
        "update_data_url": "${aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/fw-images/demo.bin}",
        "auth_scheme": "aws.s3.presigned", "sig-sha256-ecdsa": "MEQCIE1S"}]}})


class LocalBlocks:
    """The BlockReader app.py will give the gateway: the blob store's reads joined; each read recorded."""

    def __init__(self, blobs: LocalBlobStore) -> None:
        self.blobs = blobs
        self.reads: list[tuple[int, int]] = []

    def read(self, file: StreamFile, start: int, end: int) -> bytes:
        self.reads.append((start, end))
        return b"".join(self.blobs.read(BlobRef(file.sha256, file.size, ""), start, end))


@dataclass
class Gateway:
    clock: FakeClock
    arns: Arns
    things: ThingRegistry
    jobs: JobService
    devices: DeviceJobs
    objects: ObjectStore
    blobs: LocalBlobStore
    streams: StreamService
    reader: LocalBlocks
    topics: JobsTopics
    stream_topics: StreamsTopics
    sent: list[Outgoing] = field(default_factory=list)

    def thing(self, *names: str) -> None:
        for name in names:
            self.things.create_thing(name, None, None, None)

    def job(self, job_id: str, *things: str, doc: str | None = None, config: JobConfig | None = None) -> None:
        self.jobs.create_job(JobRequest(job_id, [self.arns.thing(t) for t in things], document=doc or afr_ota(),
                                        config=config or JobConfig()))

    def publish(self, thing: str, topic: str, payload: Any = b"") -> list[Outgoing]:
        """Publish bytes as they are, anything else as its JSON."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        replies = self.topics.handle(thing, f"$aws/things/{thing}/jobs/{topic}", raw)
        self.sent.extend(replies)
        return replies

    def reply(self, thing: str, topic: str, payload: Any = b"") -> tuple[str, Any]:
        """The one reply to a jobs request: its topic suffix after the request topic, and its JSON."""
        [out] = self.publish(thing, topic, payload)
        prefix = f"$aws/things/{thing}/jobs/{topic}/"
        assert out.topic.startswith(prefix) and out.qos == 1
        return out.topic[len(prefix):], json.loads(out.payload)

    def image(self, key: str, body: bytes) -> None:
        spool = self.blobs.spool()
        spool.write(body)
        self.objects.put_object("fw-images", key, spool.finish(), NewObject())

    def stream(self, stream_id: str, *keys: str, description: str | None = None) -> None:
        files = [FileRequest(i, S3Location("fw-images", key)) for i, key in enumerate(keys)]
        self.streams.create_stream(stream_id, description, files, ROLE, {})


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[Gateway]:
    engine = make_engine(f"sqlite:///{tmp_path / 'otahub.db'}")
    upgrade_schema(engine)
    uow = SqlUnitOfWorkFactory(engine)
    clock = FakeClock(START)
    arns = Arns("us-east-1", "123456789012")
    things = ThingRegistry(uow, clock, arns)
    blobs = LocalBlobStore(tmp_path / "blobs")
    objects = ObjectStore(uow, blobs, clock)
    objects.create_bucket("fw-images")
    jobs = JobService(uow, objects, clock, arns)
    things.listeners.append(jobs)
    devices = DeviceJobs(uow, clock)
    streams = StreamService(uow, objects, clock, arns)
    reader = LocalBlocks(blobs)
    yield Gateway(clock, arns, things, jobs, devices, objects, blobs, streams, reader,
                  JobsTopics(devices, document, clock), StreamsTopics(streams, reader, clock))
    engine.dispose()


class MemoryStreams:
    """A StreamCatalog in memory, for the many streams the property tests make."""

    def __init__(self) -> None:
        self.streams: dict[str, Stream] = {}
        self.images: dict[str, bytes] = {}

    def add(self, stream_id: str, *images: bytes, description: str | None = None, version: int = 1) -> Stream:
        files = []
        for file_id, image in enumerate(images):
            digest = hashlib.sha256(image).hexdigest()
            self.images[digest] = image
            files.append(StreamFile(file_id, S3Location("fw-images", f"{file_id}.bin"), "null", len(image), digest))
        stream = Stream(stream_id, description, tuple(files), ROLE, version, START, START)
        self.streams[stream_id] = stream
        return stream

    def describe_stream(self, stream_id: str) -> Stream:
        if stream_id not in self.streams:
            raise NotFound("Stream", stream_id)
        return self.streams[stream_id]


class MemoryBlocks:
    """A BlockReader over MemoryStreams' images; each read recorded."""

    def __init__(self, streams: MemoryStreams) -> None:
        self.streams = streams
        self.reads: list[tuple[int, int]] = []

    def read(self, file: StreamFile, start: int, end: int) -> bytes:
        self.reads.append((start, end))
        return self.streams.images[file.sha256][start:end + 1]


def memory_topics() -> tuple[MemoryStreams, MemoryBlocks, StreamsTopics]:
    streams = MemoryStreams()
    blocks = MemoryBlocks(streams)
    return streams, blocks, StreamsTopics(streams, blocks, FakeClock(START))
