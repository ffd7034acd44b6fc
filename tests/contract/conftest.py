"""Blob stores under test: the local directory, and S3BlobStore against a real moto_server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from otahub.storage.blobs.local import LocalBlobStore
from otahub.storage.blobs.s3 import S3BlobOptions, S3BlobStore
from tests.moto_harness import KEY_ID, REGION, SECRET, MotoServer

BlobStoreUnderTest = LocalBlobStore | S3BlobStore


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """One moto_server per test worker, on a port the kernel picks (`-p 0`)."""
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_bucket(moto: MotoServer) -> str:
    return moto.new_bucket()


def s3_options(moto: MotoServer, bucket: str, **overrides: str) -> S3BlobOptions:
    """A prefix of the test's own: content addressing is checked per test."""
    settings = {"prefix": f"t-{uuid.uuid4().hex[:10]}", "endpoint_url": moto.endpoint, "region": REGION,
                "access_key_id": KEY_ID, "secret_access_key": SECRET, "addressing_style": "path", **overrides}
    return S3BlobOptions(bucket, **settings)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStoreUnderTest:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    moto: MotoServer = request.getfixturevalue("moto")
    return S3BlobStore(tmp_path / "blobs" / "tmp", s3_options(moto, request.getfixturevalue("moto_bucket")))
