"""The FreeRTOS OTA agent's status strings (ota-update-job.md section 4) and version words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.device import status
from otahub.device.status import AppVersion

versions = st.builds(AppVersion, st.integers(0, 0xFF), st.integers(0, 0xFF), st.integers(0, 0xFFFF))


@given(versions)
def test_version_word_round_trips_through_updated_by(version: AppVersion) -> None:
    details = status.self_test_ready(version)
    assert details["self_test"] == "ready"
    text = details["updatedBy"]
    assert len(text) == 10 and text.startswith("0x") and text == text.lower()
    word = status.parse_updated_by(text)
    assert word == version.major << 24 | version.minor << 16 | version.build
    assert AppVersion.from_word(word) == version
    assert status.self_test_active(version)["updatedBy"] == text


@given(versions, versions)
def test_accepted_strings(new: AppVersion, old: AppVersion) -> None:
    details = status.accepted(new, old)
    assert details == {"reason": f"accepted  v{new.major}.{new.minor}.{new.build}",
                       "updatedBy": f"  v{old.major}.{old.minor}.{old.build}"}
    assert AppVersion.parse(details["reason"].removeprefix("accepted  ")) == new
    assert (new < old) == (new.word < old.word)  # ordering is the word's ordering


@given(st.integers(-(2**31), 2**32 - 1), st.integers(-(2**31), 2**32 - 1))
def test_failure_strings_are_unsigned_words(error: int, sub: int) -> None:
    reason = status.failed(error, sub)["reason"]
    first, second = reason.split(": ")
    assert status.parse_updated_by(first) == error & 0xFFFFFFFF
    assert status.parse_updated_by(second) == sub & 0xFFFFFFFF
    assert status.rejected(error) == {"reason": f"rejected: {first}"}
    assert status.aborted(error) == {"reason": f"aborted: {first}"}


def test_known_values() -> None:
    assert status.self_test_ready(AppVersion(0, 9, 0)) == {"self_test": "ready", "updatedBy": "0x00090000"}
    assert AppVersion.from_word(589824) == AppVersion(0, 9, 0)
    assert status.receive(1, 70) == {"receive": "1/70"}
    signature = status.failed(status.pal_status(status.OTA_PAL_SIGNATURE_CHECK_FAILED),
                              status.INGEST_RESULT_SIG_CHECK_FAIL)
    assert signature == {"reason": "0xe3000000: 0xfffffffe"}
    assert status.rejected(status.OTA_ERR_SAME_FIRMWARE_VERSION) == {"reason": "rejected: 0x00000010"}
    assert [n for n in range(1, 200) if status.should_report_block(n)] == [1, 64, 128, 192]


def test_updated_by_is_read_like_strtoul_base_0() -> None:
    assert status.parse_updated_by("589824") == 589824
    assert status.parse_updated_by("0X00090000") == 589824
    assert status.parse_updated_by("010") == 8
    assert status.parse_updated_by("not a number") is None and status.parse_updated_by(None) is None


def test_versions_parse_and_fit_a_word() -> None:
    assert AppVersion.parse("1.2.3") == AppVersion(1, 2, 3) and str(AppVersion(1, 2, 3)) == "1.2.3"
    assert AppVersion.parse("v0.9.0").next_build() == AppVersion(0, 9, 1)
    for bad in ("1.2", "a.b.c", "1.2.3.4"):
        with pytest.raises(ValueError):
            AppVersion.parse(bad)
    with pytest.raises(ValueError, match="32-bit"):
        AppVersion(256, 0, 0)
