"""One contract for every BlobStore: LocalBlobStore and S3BlobStore (against a real moto_server)."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import urllib.request
import uuid
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otahub.domain.objects import BlobRef
from otahub.storage.blobs.local import CHUNK, LocalBlobStore
from otahub.storage.blobs.s3 import BlobStoreError, S3BlobStore
from tests.contract.conftest import BlobStoreUnderTest, s3_options
from tests.moto_harness import MotoServer, keys_under

MiB = 1024 * 1024
boundary_sizes = st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3]) | st.integers(0, 5000)
examples = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def put(store: BlobStoreUnderTest, payload: bytes, pieces: int = 1) -> BlobRef:
    spool = store.spool()
    step = max(1, len(payload) // pieces)
    for start in range(0, len(payload), step):
        spool.write(payload[start : start + step])
    return store.commit(spool.finish())


def stored(store: BlobStoreUnderTest) -> list[str]:
    """Every blob the store holds, by sha256."""
    if isinstance(store, LocalBlobStore):
        return sorted(path.name for path in store.objects.rglob("*") if path.is_file())
    prefix = f"{store.options.key_prefix}objects/"
    return [key.rsplit("/", 1)[1] for key in keys_under(store.client, store.bucket, prefix)]


def missing_ref(size: int) -> BlobRef:
    return BlobRef(hashlib.sha256(uuid.uuid4().bytes).hexdigest(), size, "0" * 32)


@examples
@given(size=boundary_sizes, pieces=st.integers(1, 5), seed=st.integers(0, 2**32))
def test_round_trip_is_byte_exact_with_digests(store: BlobStoreUnderTest, size: int, pieces: int, seed: int) -> None:
    payload = random.Random(seed).randbytes(size)
    spool = store.spool()
    step = max(1, size // pieces)
    for start in range(0, size, step):
        spool.write(payload[start : start + step])
    spooled = spool.finish()
    assert (spooled.size, spooled.sha256) == (size, hashlib.sha256(payload).hexdigest())
    assert spooled.md5 == hashlib.md5(payload).hexdigest()
    assert spooled.checksum("crc32") == base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    ref = store.commit(spooled)
    assert ref == BlobRef(spooled.sha256, size, spooled.md5)
    assert b"".join(store.read(ref)) == payload
    assert all(len(chunk) <= CHUNK for chunk in store.read(ref))
    assert store.exists(ref)
    assert list(store.tmp.iterdir()) == []


@examples
@given(data=st.data())
def test_ranged_reads_are_byte_exact(store: BlobStoreUnderTest, data: st.DataObject) -> None:
    payload = random.Random(7).randbytes(2 * CHUNK + 3)
    ref = put(store, payload)  # stored once: the later examples find it in place
    first = data.draw(st.sampled_from([0, 1, CHUNK - 1, CHUNK, 2 * CHUNK]) | st.integers(0, len(payload) - 1))
    last = data.draw(st.sampled_from([first, len(payload) - 1]) | st.integers(first, len(payload) - 1))
    assert b"".join(store.read(ref, first, last)) == payload[first : last + 1]
    assert b"".join(store.read(ref, first)) == payload[first:]


def test_twenty_mib_blob_round_trips(store: BlobStoreUnderTest) -> None:
    payload = os.urandom(20 * MiB)
    ref = put(store, payload, pieces=7)
    assert ref.sha256 == hashlib.sha256(payload).hexdigest()
    assert hashlib.sha256(b"".join(store.read(ref))).digest() == hashlib.sha256(payload).digest()
    start, end = 8 * MiB - 5, 16 * MiB + 5  # across boto3's 8 MiB part boundaries
    assert b"".join(store.read(ref, start, end)) == payload[start : end + 1]
    if isinstance(store, S3BlobStore):  # boto3's managed transfer went multipart: 3 parts of <= 8 MiB
        head = store.client.head_object(Bucket=store.bucket, Key=store.key_of(ref))
        assert head["ETag"].strip('"').endswith("-3")


def test_same_content_is_the_same_ref_and_stored_once(store: BlobStoreUnderTest) -> None:
    refs = [put(store, b"firmware v1", pieces=n) for n in (1, 3)]
    assert refs[0] == refs[1]
    other = put(store, b"firmware v2")
    assert stored(store) == sorted([refs[0].sha256, other.sha256])
    assert list(store.tmp.iterdir()) == []


def test_delete_then_exists_and_read(store: BlobStoreUnderTest) -> None:
    ref, kept = put(store, b"old image"), put(store, b"kept image")
    store.delete(ref)
    assert not store.exists(ref) and store.exists(kept)
    with pytest.raises(FileNotFoundError, match=ref.sha256):
        b"".join(store.read(ref))
    store.delete(ref)  # deleting what is gone is no error
    assert stored(store) == [kept.sha256]
    assert b"".join(store.read(kept)) == b"kept image"


@pytest.mark.parametrize("size", [0, 10])
def test_missing_blob_is_an_error_naming_its_sha256(store: BlobStoreUnderTest, size: int) -> None:
    ref = missing_ref(size)
    assert not store.exists(ref)
    with pytest.raises(FileNotFoundError, match=ref.sha256):
        b"".join(store.read(ref))
    with pytest.raises(FileNotFoundError, match=ref.sha256):
        b"".join(store.read(ref, 2, 5))


def test_discarded_spool_leaves_nothing(store: BlobStoreUnderTest) -> None:
    spool = store.spool()
    spool.write(b"half an upload")
    spool.discard()
    spooled = store.spool()
    spooled.write(b"checked, then refused")
    spooled.finish().discard()
    assert list(store.tmp.iterdir()) == [] and stored(store) == []


# --- S3BlobStore only -------------------------------------------------------------------------


@pytest.fixture
def s3_store(moto: MotoServer, moto_bucket: str, tmp_path: Path) -> S3BlobStore:
    return S3BlobStore(tmp_path / "tmp", s3_options(moto, moto_bucket))


def test_presigned_url_downloads_the_bytes(s3_store: S3BlobStore) -> None:
    payload = os.urandom(CHUNK + 17)
    ref = put(s3_store, payload)
    url = s3_store.presigned_url(ref, 300)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == payload
    with pytest.raises(ValueError, match="expires_seconds"):
        s3_store.presigned_url(ref, 0)


def test_commit_of_stored_content_skips_the_upload(s3_store: S3BlobStore) -> None:
    calls: list[str] = []
    s3_store.client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    put(s3_store, b"same bytes")
    put(s3_store, b"same bytes")
    assert calls == ["HeadObject", "PutObject", "HeadObject"]


def test_key_prefix_is_a_folder(moto: MotoServer, moto_bucket: str, tmp_path: Path) -> None:
    store = S3BlobStore(tmp_path / "tmp", s3_options(moto, moto_bucket, prefix="/fw/ota"))
    ref = put(store, b"prefixed")
    assert store.key_of(ref) == f"fw/ota/objects/{ref.sha256[:2]}/{ref.sha256}"
    assert keys_under(moto.client(), moto_bucket, "fw/ota/") == [store.key_of(ref)]
    store.delete(ref)


def test_virtual_addressing_puts_the_bucket_in_the_host(moto: MotoServer, tmp_path: Path) -> None:
    endpoint = moto.endpoint.replace("127.0.0.1", "localhost")
    store = S3BlobStore(tmp_path / "tmp", s3_options(moto, "fw-bucket", addressing_style="virtual",
                                                     endpoint_url=endpoint))
    url = store.presigned_url(missing_ref(1), 60)  # signing needs no request
    assert url.startswith(endpoint.replace("//localhost", "//fw-bucket.localhost") + "/t-")


def test_store_failures_surface_naming_bucket_and_key(moto: MotoServer, tmp_path: Path) -> None:
    store = S3BlobStore(tmp_path / "tmp", s3_options(moto, "no-such-bucket-here"))
    with pytest.raises(BlobStoreError, match="no-such-bucket-here"):
        store.check()
    spool = store.spool()
    spool.write(b"nowhere to go")
    with pytest.raises(BlobStoreError, match=r"s3://no-such-bucket-here/t-\w+/objects/"):
        store.commit(spool.finish())
    assert list(store.tmp.iterdir()) == []  # the temporary file is removed even so
    with pytest.raises(BlobStoreError, match="no-such-bucket-here"):
        store.delete(missing_ref(3))


def test_leftovers_of_a_crash_are_removed_at_start(moto: MotoServer, moto_bucket: str, tmp_path: Path) -> None:
    options = s3_options(moto, moto_bucket)
    S3BlobStore(tmp_path / "tmp", options).spool().write(b"half an upload")  # the process "died" here
    assert any((tmp_path / "tmp").iterdir())
    store = S3BlobStore(tmp_path / "tmp", options)
    assert list(store.tmp.iterdir()) == [] and stored(store) == []
