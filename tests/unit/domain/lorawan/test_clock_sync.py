"""TS003 commands byte for byte and GPS time.

Sources: [brocaar] brocaar/lorawan applayer/clocksync/clocksync_test.go; [fuota-test-01] frames logged by
LoRaMac-node src/apps/LoRaMac/fuota-test-01/readme.md (AppTimeReq on port 202 and the AppTimeAns replies).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from otahub.domain.lorawan.clock_sync import (
    AppTimeAns,
    AppTimeReq,
    DeviceAppTimePeriodicityAns,
    DeviceAppTimePeriodicityReq,
    ForceDeviceResyncReq,
    gps_time,
    unix_time,
)
from otahub.domain.lorawan.commands import Command, LorawanCodecError, PackageVersionAns, PackageVersionReq
from otahub.domain.lorawan.packages import decode_downlink, decode_uplink

DOWNLINKS: list[tuple[str, Command, str]] = [
    ("brocaar", PackageVersionReq(), "00"),
    ("brocaar", AppTimeAns(-134480385, 5), "01 ff fd fb f7 05"),
    ("brocaar", DeviceAppTimePeriodicityReq(5), "02 05"),
    ("brocaar", ForceDeviceResyncReq(5), "03 05"),
    ("fuota-test-01", AppTimeAns(0x155A, 0), "01 5A 15 00 00 00"),
    ("fuota-test-01", AppTimeAns(0, 1), "01 00 00 00 00 01"),
]

UPLINKS: list[tuple[str, Command, str]] = [
    ("brocaar", PackageVersionAns(1, 1), "00 01 01"),
    ("brocaar", AppTimeReq(134480385, 5, ans_required=True), "01 01 02 04 08 15"),
    ("brocaar", DeviceAppTimePeriodicityAns(134480385, not_supported=True), "02 01 01 02 04 08"),
    ("fuota-test-01", AppTimeReq(0x493E6D1E, 0), "01 1E 6D 3E 49 00"),
    ("fuota-test-01", AppTimeReq(0x493E8297, 1), "01 97 82 3E 49 01"),
]


@pytest.mark.parametrize(("source", "command", "wire"), DOWNLINKS, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("version", [1, 2])
def test_downlinks_byte_exact(source: str, command: Command, wire: str, version: int) -> None:
    assert command.encode() == bytes.fromhex(wire)
    assert decode_downlink(202, bytes.fromhex(wire), version) == [command]


@pytest.mark.parametrize(("source", "command", "wire"), UPLINKS, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("version", [1, 2])
def test_uplinks_byte_exact(source: str, command: Command, wire: str, version: int) -> None:
    assert command.encode() == bytes.fromhex(wire)
    assert decode_uplink(202, bytes.fromhex(wire), version) == [command]


def test_the_device_clock_moved_by_the_correction() -> None:
    """fuota-test-01: after a +5466 s correction the next AppTimeReq is ~31 s (its send period) later."""
    first, answer, second = AppTimeReq(0x493E6D1E, 0), AppTimeAns(0x155A, 0), AppTimeReq(0x493E8297, 1)
    assert 25 <= second.device_time - (first.device_time + answer.time_correction) <= 35


def test_periodicity_and_bad_frames() -> None:
    assert DeviceAppTimePeriodicityReq(0).interval_s == 128
    assert DeviceAppTimePeriodicityReq(15).interval_s == 128 << 15
    for wire in ("01 01 02 04 08", "02", "04 00"):
        with pytest.raises(LorawanCodecError):
            decode_downlink(202, bytes.fromhex(wire))


def test_gps_time() -> None:
    epoch = datetime(1980, 1, 6, tzinfo=UTC).timestamp()
    assert gps_time(epoch, leap_seconds=0) == 0
    # 2024-01-01T00:00:00Z: 18 leap seconds ahead of UTC.
    unix = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    assert gps_time(unix) == int(unix) - 315_964_800 + 18 == 1_388_102_418
    assert unix_time(gps_time(unix)) == unix
    assert gps_time(epoch + (1 << 32), leap_seconds=0) == 0
