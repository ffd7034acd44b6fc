"""TS005 commands byte for byte.

Sources: [brocaar] brocaar/lorawan applayer/multicastsetup/multicastsetup_test.go; [spec]
../shared/specs/lorawan-fuota.md §2 (McClassCSessionReq example); [fuota-test-01] frames logged by
LoRaMac-node src/apps/LoRaMac/fuota-test-01/readme.md.
"""

from __future__ import annotations

import pytest

from otahub.domain.lorawan.commands import Command, LorawanCodecError, PackageVersionAns, PackageVersionReq
from otahub.domain.lorawan.multicast import (
    McClassBSessionAns,
    McClassBSessionReq,
    McClassCSessionAns,
    McClassCSessionReq,
    McGroup,
    McGroupDeleteAns,
    McGroupDeleteReq,
    McGroupSetupAns,
    McGroupSetupReq,
    McGroupStatusAns,
    McGroupStatusReq,
)
from otahub.domain.lorawan.packages import decode_downlink, decode_uplink, encode

KEY = bytes([1, 2, 3, 4, 5, 6, 7, 8] * 2)
FUOTA_TEST_KEY = bytes.fromhex("015E85F4B99DC0B944066CD07498330B")

DOWNLINKS: list[tuple[str, Command, str]] = [
    ("brocaar", PackageVersionReq(), "00"),
    ("brocaar", McGroupStatusReq(0b1010), "01 0a"),
    (
        "brocaar",
        McGroupSetupReq(2, 0x01020304, KEY, 100, 200),
        "02 02 04 03 02 01 0102030405060708 0102030405060708 64000000 c8000000",
    ),
    ("brocaar", McGroupDeleteReq(3), "03 03"),
    ("brocaar", McClassCSessionReq(3, 134480385, 8, 868_100_000, 4), "04 03 01 02 04 08 08 28 76 84 04"),
    ("brocaar", McClassBSessionReq(3, 134480385, 8, 4, 868_100_000, 5), "05 03 01 02 04 08 48 28 76 84 05"),
    ("spec", McClassCSessionReq(0, 1_400_000_000, 10, 869_525_000, 0), "04 00 00 4e 72 53 0a d2 ad 84 00"),
    (
        "fuota-test-01",
        McGroupSetupReq(0, 0xFFFFFFFE, FUOTA_TEST_KEY, 0, 255),
        "02 00 FE FF FF FF 01 5E 85 F4 B9 9D C0 B9 44 06 6C D0 74 98 33 0B 00 00 00 00 FF 00 00 00",
    ),
    ("fuota-test-01", McClassCSessionReq(0, 0x493E8332, 7, 869_525_000, 0), "04 00 32 83 3E 49 07 D2 AD 84 00"),
]

UPLINKS: list[tuple[str, Command, str]] = [
    ("brocaar", PackageVersionAns(1, 1), "00 01 01"),
    (
        "brocaar",
        McGroupStatusAns(0b1100, 4, (McGroup(3, 0x01020304), McGroup(2, 0x04030201))),
        "01 4c 03 04 03 02 01 02 01 02 03 04",
    ),
    ("brocaar", McGroupSetupAns(3, id_error=True), "02 07"),
    ("fuota-test-01", McGroupSetupAns(0), "02 00"),
    ("brocaar", McGroupDeleteAns(1, mc_group_undefined=True), "03 05"),
    ("brocaar", McClassCSessionAns(3, 262657), "04 03 01 02 04"),
    (
        "brocaar",
        McClassCSessionAns(3, None, dr_error=True, freq_error=True, mc_group_undefined=True),
        "04 1f",
    ),
    ("brocaar", McClassBSessionAns(3, 262657), "05 03 01 02 04"),
    ("brocaar", McClassBSessionAns(3, None, dr_error=True, freq_error=True, mc_group_undefined=True), "05 1f"),
    ("LBM", McClassCSessionAns(1, None, start_missed=True), "04 21"),
]


@pytest.mark.parametrize(("source", "command", "wire"), DOWNLINKS, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("version", [1, 2])
def test_downlinks_byte_exact(source: str, command: Command, wire: str, version: int) -> None:
    assert command.encode() == bytes.fromhex(wire)
    assert decode_downlink(200, bytes.fromhex(wire), version) == [command]


@pytest.mark.parametrize(("source", "command", "wire"), UPLINKS, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("version", [1, 2])
def test_uplinks_byte_exact(source: str, command: Command, wire: str, version: int) -> None:
    assert command.encode() == bytes.fromhex(wire)
    assert decode_uplink(200, bytes.fromhex(wire), version) == [command]


def test_variable_length_answers_concatenate() -> None:
    """brocaar TestUnmarshalCommands: an answer with TimeToStart followed by one without."""
    answers = [McClassBSessionAns(3, 262657), McClassBSessionAns(3, None, True, True, True)]
    assert encode(answers) == bytes.fromhex("05 03 01 02 04 05 1f")
    assert decode_uplink(200, bytes.fromhex("05 03 01 02 04 05 1f")) == answers
    status = bytes.fromhex("01 4c 03 04 03 02 01 02 01 02 03 04 02 00")
    assert decode_uplink(200, status)[1] == McGroupSetupAns(0)


def test_session_fields_in_domain_units() -> None:
    request = decode_downlink(200, bytes.fromhex("05 03 01 02 04 08 48 28 76 84 05"))[0]
    assert isinstance(request, McClassBSessionReq)
    assert (request.dl_frequency_hz, request.duration_s, request.periodicity) == (868_100_000, 256 * 128, 4)
    assert McClassCSessionReq(0, 0, 10, 869_525_000, 0).duration_s == 1024
    assert McClassCSessionAns(0, 5).accepted and not McClassCSessionAns(0, None, freq_error=True).accepted


@pytest.mark.parametrize(
    "build",
    [
        lambda: McClassCSessionReq(0, 0, 0, 869_525_050, 0),  # not a multiple of 100 Hz
        lambda: McClassCSessionReq(0, 0, 0, 1_677_721_600, 0),  # 2**24 * 100 Hz
        lambda: McClassCSessionAns(0, None),  # accepted answers carry TimeToStart
        lambda: McClassCSessionAns(0, 1, dr_error=True),  # refused ones do not
        lambda: McClassCSessionAns(0, 1 << 24),
        lambda: McGroupStatusAns(0b0011, 2, (McGroup(0, 1),)),  # one entry per mask bit
        lambda: McGroupStatusAns(0b0001, 1, (McGroup(4, 1),)),
        lambda: McGroupSetupReq(0, 0, bytes(15), 0, 0),
    ],
)
def test_invalid_commands_are_refused(build: object) -> None:
    with pytest.raises(LorawanCodecError):
        build()  # type: ignore[operator]


@pytest.mark.parametrize("wire", ["01 4c 03 04 03 02 01 02 01 02 03", "04 03 01 02", "02 00 01", "06"])
def test_bad_frames(wire: str) -> None:
    with pytest.raises(LorawanCodecError):
        decode_uplink(200, bytes.fromhex(wire))
