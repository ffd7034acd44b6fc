"""The local blob store: byte-exact, ranged reads, atomic commits, crash leftovers cleaned."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otahub.storage.blobs.local import CHUNK, LocalBlobStore

boundary_sizes = st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3]) | st.integers(0, 5000)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=boundary_sizes, pieces=st.integers(min_value=1, max_value=5), data=st.data())
def test_round_trip_is_byte_exact_with_digests(
    tmp_path_factory: pytest.TempPathFactory, size: int, pieces: int, data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("blobs")
    store = LocalBlobStore(root)
    payload = data.draw(st.binary(min_size=min(size, 64), max_size=min(size, 64))) * (size // 64 + 1)
    payload = payload[:size] if payload else bytes(size)
    spool = store.spool()
    step = max(1, size // pieces)
    for start in range(0, size, step):
        spool.write(payload[start : start + step])
    spooled = spool.finish()
    assert spooled.size == size
    assert spooled.sha256 == hashlib.sha256(payload).hexdigest()
    assert spooled.md5 == hashlib.md5(payload).hexdigest()
    assert spooled.checksum("crc32") == base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    ref = store.commit(spooled)
    assert b"".join(store.read(ref)) == payload
    if size:
        first = data.draw(st.integers(0, size - 1))
        last = data.draw(st.integers(first, size - 1))
        assert b"".join(store.read(ref, first, last)) == payload[first : last + 1]
    assert list(root.joinpath("tmp").iterdir()) == []


def test_same_content_is_stored_once_and_deleted_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    refs = []
    for _ in range(2):
        spool = store.spool()
        spool.write(b"firmware")
        refs.append(store.commit(spool.finish()))
    assert refs[0] == refs[1]
    assert len(list((tmp_path / "objects").rglob("*"))) == 2  # one fan-out directory, one file
    store.delete(refs[0])
    assert not store.exists(refs[1])


def test_leftovers_of_a_crash_are_removed_at_start(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    spool = store.spool()
    spool.write(b"half an upload")  # never finished: the process "died" here
    assert any((tmp_path / "tmp").iterdir())
    LocalBlobStore(tmp_path)
    assert not any((tmp_path / "tmp").iterdir())
    assert not any((tmp_path / "objects").iterdir())
