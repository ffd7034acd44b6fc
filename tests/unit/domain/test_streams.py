"""Domain rules of streams: file ids, file counts and versions, with properties over generated inputs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.domain.errors import InvalidInput, LimitExceeded
from otahub.domain.streams import (
    MAX_FILE_ID,
    MAX_FILES,
    MAX_STREAM_VERSION,
    FileRequest,
    S3Location,
    Stream,
    StreamFile,
    check_file_requests,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOCATION = S3Location("fw", "image.bin")


def requests(ids: list[int]) -> list[FileRequest]:
    return [FileRequest(file_id, LOCATION) for file_id in ids]


def stream(version: int = 1) -> Stream:
    files = (StreamFile(0, LOCATION, "null", 5, "ab" * 32),)
    return Stream("s", "d", files, "arn:aws:iam::1:role/r", version, NOW, NOW)


@given(st.lists(st.integers(min_value=-3, max_value=MAX_FILE_ID + 3), max_size=MAX_FILES + 3))
def test_file_ids_are_accepted_iff_in_range_unique_and_one_to_fifty(ids: list[int]) -> None:
    valid = (1 <= len(ids) <= MAX_FILES and all(0 <= i <= MAX_FILE_ID for i in ids)
             and len(set(ids)) == len(ids))
    if valid:
        check_file_requests(requests(ids))
    else:
        with pytest.raises(InvalidInput):
            check_file_requests(requests(ids))


@given(st.lists(st.integers(min_value=0, max_value=MAX_FILE_ID), min_size=1, max_size=MAX_FILES))
def test_a_duplicate_error_names_every_repeated_id(ids: list[int]) -> None:
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if not repeated:
        check_file_requests(requests(ids))
        return
    with pytest.raises(InvalidInput) as excinfo:
        check_file_requests(requests(ids))
    assert excinfo.value.message.endswith("repeated: " + ", ".join(map(str, repeated)))


@given(st.integers(min_value=1, max_value=MAX_STREAM_VERSION - 1), st.integers(min_value=0, max_value=10**6))
def test_update_bumps_the_version_by_one_and_stamps_the_time(version: int, seconds: int) -> None:
    later = NOW + timedelta(seconds=seconds)
    updated = stream(version).updated(description=None, files=None, role_arn=None, now=later)
    assert (updated.version, updated.updated_at, updated.created_at) == (version + 1, later, NOW)
    assert (updated.description, updated.files, updated.role_arn) == ("d", stream().files, stream().role_arn)


def test_update_replaces_given_fields_and_all_files() -> None:
    files = (StreamFile(9, S3Location("fw", "other.bin", "v1"), "v1", 3, "cd" * 32),)
    updated = stream().updated(description="new", files=files, role_arn="arn:aws:iam::1:role/x", now=NOW)
    assert (updated.description, updated.files, updated.role_arn) == ("new", files, "arn:aws:iam::1:role/x")
    assert updated.file(9) == files[0] and updated.file(0) is None


def test_a_stream_cannot_pass_the_last_version() -> None:
    with pytest.raises(LimitExceeded):
        stream(MAX_STREAM_VERSION).updated(description="x", files=None, role_arn=None, now=NOW)


def test_a_location_reads_as_an_s3_url() -> None:
    assert str(LOCATION) == "s3://fw/image.bin"
    assert str(S3Location("fw", "a/b", "v7")) == "s3://fw/a/b (version v7)"
