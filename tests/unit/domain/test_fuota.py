"""FUOTA task rules: the status transitions, the descriptor, start times, fragment sizes and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from otahub.domain.errors import InvalidInput, InvalidState
from otahub.domain.fuota import (
    TRANSITIONS,
    FirmwareImage,
    FuotaSettings,
    FuotaTask,
    FuotaTaskStatus,
    check_fragment_size,
    check_role,
    descriptor_bytes,
    start_time,
)
from otahub.domain.lorawan.regions import RfRegion

NOW = datetime(2026, 3, 1, tzinfo=UTC)
S = FuotaTaskStatus


def task(status: FuotaTaskStatus) -> FuotaTask:
    image = FirmwareImage("s3://b/k", "b", "k", "null", 10, "0" * 64)
    return FuotaTask("t", FuotaSettings(), image, status, NOW, NOW)


@pytest.mark.parametrize("before", list(S))
@pytest.mark.parametrize("after", list(S))
def test_only_the_table_moves_a_task(before: FuotaTaskStatus, after: FuotaTaskStatus) -> None:
    if after in TRANSITIONS[before]:
        assert task(before).moved(after, NOW).status is after
    else:
        with pytest.raises(InvalidState):
            task(before).moved(after, NOW)


def test_the_lifecycle_of_the_model() -> None:
    assert TRANSITIONS[S.PENDING] == {S.SESSION_WAITING}
    assert TRANSITIONS[S.SESSION_WAITING] == {S.IN_SESSION, S.DONE, S.DELETE_WAITING}
    assert TRANSITIONS[S.IN_SESSION] == {S.DONE, S.DELETE_WAITING}
    assert not TRANSITIONS[S.DONE] and not TRANSITIONS[S.DELETE_WAITING]
    assert [s for s in S if s.on_air] == [S.SESSION_WAITING, S.IN_SESSION]


@pytest.mark.parametrize(("descriptor", "raw"), [
    (None, b"\0\0\0\0"), ("AQ==", b"\x01\0\0\0"), ("AQIDBA==", b"\x01\x02\x03\x04"), ("", b"\0\0\0\0")])
def test_descriptor_is_four_bytes_zero_padded(descriptor: str | None, raw: bytes) -> None:
    assert descriptor_bytes(descriptor) == raw


def test_a_longer_descriptor_is_refused() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        descriptor_bytes("AQIDBAU=")
    assert excinfo.value.field == "Descriptor"


def test_start_time_is_at_least_30_minutes_ahead() -> None:
    assert start_time(None, NOW) == NOW + timedelta(minutes=30)
    assert start_time(NOW + timedelta(minutes=30), NOW) == NOW + timedelta(minutes=30)
    with pytest.raises(InvalidInput):
        start_time(NOW + timedelta(minutes=29, seconds=59), NOW)


def test_fragment_size_fits_the_data_rate() -> None:
    check_fragment_size(FuotaSettings(fragment_size=48), RfRegion.EU868, None, "g")  # DR0: N = 51
    check_fragment_size(FuotaSettings(fragment_size=239), RfRegion.EU868, 5, "g")  # DR5: N = 242
    with pytest.raises(InvalidInput):
        check_fragment_size(FuotaSettings(fragment_size=49), RfRegion.EU868, 0, "g")


@pytest.mark.parametrize("role", ["arn:aws:iam::123456789012:role/fuota", "arn:aws-cn:iam::123456789012:role/a/b"])
def test_role_arns(role: str) -> None:
    check_role(role)


@pytest.mark.parametrize("role", ["fuota", "arn:aws:iam::123456789012:user/u", "arn:aws:s3:::bucket/role/x"])
def test_not_role_arns(role: str) -> None:
    with pytest.raises(InvalidInput):
        check_role(role)
