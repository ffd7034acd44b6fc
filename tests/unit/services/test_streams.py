"""StreamService on SQLite with the real ObjectStore and local blob store: what a stream resolves is
what it keeps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from otahub.domain.clock import FakeClock
from otahub.domain.errors import InvalidInput, NotFound
from otahub.domain.ids import Arns
from otahub.domain.objects import BlobRef
from otahub.domain.streams import FileRequest, S3Location, StreamFile
from otahub.services.objects import NewObject, ObjectStore
from otahub.services.streams import StreamExists, StreamService
from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema

ROLE = "arn:aws:iam::123456789012:role/streams"
V1, V2 = b"0123456789", b"01234567890123456789"


@dataclass
class Fleet:
    service: StreamService
    objects: ObjectStore
    blobs: LocalBlobStore
    v1: str
    v2: str


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def put(objects: ObjectStore, blobs: LocalBlobStore, key: str, body: bytes) -> str:
    spool = blobs.spool()
    spool.write(body)
    return objects.put_object("fw-images", key, spool.finish(), NewObject()).version_id


@pytest.fixture
def fleet(tmp_path: Path, clock: FakeClock) -> Fleet:
    """fw/a.bin in a versioned bucket, two versions: v1 (10 bytes) and v2 (20 bytes, latest)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'otahub.db'}")
    upgrade_schema(engine)
    uow = SqlUnitOfWorkFactory(engine)
    blobs = LocalBlobStore(tmp_path / "blobs")
    objects = ObjectStore(uow, blobs, clock)
    objects.create_bucket("fw-images")
    objects.set_versioning("fw-images", "Enabled")
    v1, v2 = put(objects, blobs, "a.bin", V1), put(objects, blobs, "a.bin", V2)
    service = StreamService(uow, objects, clock, Arns("us-east-1", "123456789012"))
    return Fleet(service, objects, blobs, v1, v2)


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def test_resolved_files_are_kept_in_storage(fleet: Fleet, clock: FakeClock) -> None:
    service = fleet.service
    files = [
        FileRequest(4, S3Location("fw-images", "a.bin")), FileRequest(1, S3Location("fw-images", "a.bin", fleet.v1)),
    ]
    service.create_stream("s", None, files, ROLE, {"k": "v"})
    stored = service.describe_stream("s")
    assert stored.files == (
        StreamFile(4, S3Location("fw-images", "a.bin"), fleet.v2, 20, sha(V2)),
        StreamFile(1, S3Location("fw-images", "a.bin", fleet.v1), fleet.v1, 10, sha(V1)),
    )
    assert stored.created_at == stored.updated_at == clock.now()


def test_update_re_resolves_files_and_keeps_the_rest(fleet: Fleet, clock: FakeClock) -> None:
    service = fleet.service
    service.create_stream("s", "d", [FileRequest(0, S3Location("fw-images", "a.bin"))], ROLE, {})
    clock.advance(timedelta(hours=1))
    service.update_stream("s", None, [FileRequest(2, S3Location("fw-images", "a.bin", fleet.v1))], None)
    stored = service.describe_stream("s")
    assert [(f.file_id, f.version_id, f.size) for f in stored.files] == [(2, fleet.v1, 10)]
    assert (stored.version, stored.description, stored.role_arn) == (2, "d", ROLE)
    assert stored.updated_at - stored.created_at == timedelta(hours=1)


def test_an_unresolved_file_or_a_taken_id_writes_nothing(fleet: Fleet) -> None:
    service = fleet.service
    with pytest.raises(InvalidInput, match=r"File 3: s3://fw-images/b.bin cannot be streamed"):
        service.create_stream("s", None, [FileRequest(3, S3Location("fw-images", "b.bin"))], ROLE, {})
    with pytest.raises(NotFound):
        service.describe_stream("s")
    service.create_stream("s", None, [FileRequest(0, S3Location("fw-images", "a.bin"))], ROLE, {})
    with pytest.raises(StreamExists):
        service.create_stream("s", "other", [FileRequest(0, S3Location("fw-images", "a.bin"))], ROLE, {})
    assert service.describe_stream("s").description is None


def test_list_pages_in_either_order(fleet: Fleet) -> None:
    service = fleet.service
    for n in range(5):
        service.create_stream(f"s{n}", None, [FileRequest(0, S3Location("fw-images", "a.bin"))], ROLE, {})
    for ascending, expected in ((True, ["s0", "s1", "s2", "s3", "s4"]), (False, ["s4", "s3", "s2", "s1", "s0"])):
        seen, token = [], None
        while True:
            page = service.list_streams(ascending, token, 2)
            seen += [s.stream_id for s in page.items]
            if not (token := page.next_token):
                break
        assert seen == expected


def test_stream_blobs_survive_their_objects_and_go_with_the_stream(fleet: Fleet) -> None:
    put(fleet.objects, fleet.blobs, "b.bin", b"streamed only")
    fleet.service.create_stream("s", None, [FileRequest(0, S3Location("fw-images", "b.bin"))], ROLE, {})
    for version in [v for _, v in fleet.objects.list_versions("fw-images", "b.bin", ("", 2**62), None)[0]]:
        fleet.objects.delete_object("fw-images", "b.bin", version.version_id)
    file = fleet.service.describe_stream("s").files[0]
    blob = BlobRef(file.sha256, file.size, "")
    assert fleet.blobs.exists(blob)
    fleet.service.delete_stream("s")
    assert not fleet.blobs.exists(blob)
