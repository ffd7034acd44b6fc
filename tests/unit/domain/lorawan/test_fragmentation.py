"""TS004 commands byte for byte.

Sources of the vectors:
- [brocaar] brocaar/lorawan applayer/fragmentation/fragmentation_test.go (v1 layouts)
- [spec] ../shared/specs/lorawan-fuota.md §1.2 worked examples (v1 and v2 setup, DataFragment)
- [fuota-test-01] frames logged by LoRaMac-node src/apps/LoRaMac/fuota-test-01/readme.md (a v1 device)
- [LBM] v2 layouts built from the byte offsets LoRa Basics Modem's lorawan_fragmentation_package_v2.0.0.c
  parses and writes (status byte first in FragSessionStatusAns, 16-byte setup, CID 0x04)
"""

from __future__ import annotations

import pytest

from otahub.domain.lorawan.commands import Command, LorawanCodecError, PackageVersionAns, PackageVersionReq
from otahub.domain.lorawan.fragmentation import (
    DataFragment,
    FragDataBlockReceivedAns,
    FragDataBlockReceivedReq,
    FragSessionDeleteAns,
    FragSessionDeleteReq,
    FragSessionSetupAns,
    FragSessionSetupReqV1,
    FragSessionSetupReqV2,
    FragSessionStatusAnsV1,
    FragSessionStatusAnsV2,
    FragSessionStatusReq,
)
from otahub.domain.lorawan.packages import decode_downlink, decode_uplink

DESCRIPTOR = bytes([1, 2, 3, 4])
FUOTA_TEST_01_FRAGMENT_1 = bytes.fromhex(
    "6AB8004D25182F5865896BAF34E007AB6A8E2433CCF750B1DFE4160A2BE0196BF488B050AFD505BF"
)

DOWNLINKS: list[tuple[str, int, Command, str]] = [
    ("brocaar", 1, PackageVersionReq(), "00"),
    (
        "brocaar",
        1,
        FragSessionSetupReqV1(3, 0b0101, 513, 255, 5, 4, 129, DESCRIPTOR),
        "02 35 01 02 ff 2c 81 01 02 03 04",
    ),
    ("brocaar", 1, FragSessionDeleteReq(3), "03 03"),
    ("brocaar", 1, DataFragment(3, 513, bytes(range(1, 7))), "08 01 c2 01 02 03 04 05 06"),
    ("brocaar", 1, FragSessionStatusReq(3, participants=True), "01 07"),
    ("spec", 1, FragSessionSetupReqV1(0, 0b0001, 10, 2, 0, 1, 0, DESCRIPTOR), "02 01 0a 00 02 01 00 01 02 03 04"),
    ("spec", 1, DataFragment(1, 11, b"\xaa\xbb"), "08 0b 40 aa bb"),
    ("spec", 1, DataFragment(0, 11, b"\xaa\xbb"), "08 0b 00 aa bb"),
    ("fuota-test-01", 1, FragSessionSetupReqV1(0, 0, 25, 40, 0, 0, 5, bytes(4)), "02 00 19 00 28 00 05 00 00 00 00"),
    ("fuota-test-01", 1, DataFragment(0, 1, FUOTA_TEST_01_FRAGMENT_1), "08 01 00" + FUOTA_TEST_01_FRAGMENT_1.hex()),
    (  # MIC bd1c45c2 per §1.4 (GenAppKey 00..0f, SessionCnt 1, block 0x00..0x13)
        "spec",
        2,
        FragSessionSetupReqV2(0, 0b0001, 10, 2, 0, 1, 0, DESCRIPTOR, 1, bytes.fromhex("bd1c45c2"), ack_reception=True),
        "02 01 0a 00 02 41 00 01 02 03 04 01 00 bd 1c 45 c2",
    ),
    ("LBM", 2, FragDataBlockReceivedAns(1), "04 01"),
    ("LBM", 2, FragSessionStatusReq(1, participants=False), "01 02"),
]

UPLINKS: list[tuple[str, int, Command, str]] = [
    ("brocaar", 1, PackageVersionAns(1, 1), "00 01 01"),
    ("LBM", 2, PackageVersionAns(3, 2), "00 03 02"),
    (
        "brocaar",
        1,
        FragSessionSetupAns(
            3, frag_algo_unsupported=True, not_enough_memory=True, frag_index_unsupported=True, wrong_descriptor=True
        ),
        "02 cf",
    ),
    ("fuota-test-01", 1, FragSessionSetupAns(0), "02 00"),
    ("LBM", 2, FragSessionSetupAns(1, session_cnt_replay=True), "02 50"),
    ("brocaar", 1, FragSessionDeleteAns(3, session_does_not_exist=True), "03 07"),
    ("brocaar", 1, FragSessionStatusAnsV1(3, 513, 255, not_enough_matrix_memory=True), "01 01 c2 ff 01"),
    ("LBM", 2, FragSessionStatusAnsV2(2, 300, 7, mic_error=True), "01 02 2c 81 07"),
    ("LBM", 2, FragSessionStatusAnsV2(0, 0, 0, session_does_not_exist=True), "01 04 00 00 00"),
    ("LBM", 2, FragDataBlockReceivedReq(1, mic_error=True), "04 05"),
]


@pytest.mark.parametrize(("source", "version", "command", "wire"), DOWNLINKS, ids=lambda v: str(v)[:40])
def test_downlinks_byte_exact(source: str, version: int, command: Command, wire: str) -> None:
    assert command.encode() == bytes.fromhex(wire)
    assert decode_downlink(201, bytes.fromhex(wire), version) == [command]


@pytest.mark.parametrize(("source", "version", "command", "wire"), UPLINKS, ids=lambda v: str(v)[:40])
def test_uplinks_byte_exact(source: str, version: int, command: Command, wire: str) -> None:
    assert command.encode() == bytes.fromhex(wire)
    assert decode_uplink(201, bytes.fromhex(wire), version) == [command]


def test_status_answers_differ_between_versions() -> None:
    """The same 5 bytes mean different things to a v1 and a v2 server (field order moved)."""
    wire = bytes.fromhex("01 02 2c 81 07")
    assert decode_uplink(201, wire, 1) == [
        FragSessionStatusAnsV1(
            frag_index=0, nb_frag_received=0x2C02 & 0x3FFF, missing_frag=0x81, not_enough_matrix_memory=True
        )
    ]
    assert decode_uplink(201, wire, 2) == [FragSessionStatusAnsV2(2, 300, 7, mic_error=True)]


def test_a_v1_setup_is_truncated_for_a_v2_decoder_and_v1_has_no_cid_4() -> None:
    v1 = bytes.fromhex("02 01 0a 00 02 01 00 01 02 03 04")
    with pytest.raises(LorawanCodecError, match="truncated"):
        decode_downlink(201, v1, 2)
    with pytest.raises(LorawanCodecError, match="unknown command id 0x04"):
        decode_downlink(201, bytes.fromhex("04 01"), 1)
    with pytest.raises(LorawanCodecError, match="unknown command id 0x04"):
        decode_uplink(201, bytes.fromhex("04 01"), 1)


def test_several_commands_in_one_frame() -> None:
    frame = bytes.fromhex("00 01 07 03 02")  # PackageVersionReq, FragSessionStatusReq(3, all), FragSessionDeleteReq(2)
    assert decode_downlink(201, frame) == [PackageVersionReq(), FragSessionStatusReq(3, True), FragSessionDeleteReq(2)]
    answers = bytes.fromhex("00 03 01 02 00 03 06")
    assert decode_uplink(201, answers) == [
        PackageVersionAns(3, 1),
        FragSessionSetupAns(0),
        FragSessionDeleteAns(2, session_does_not_exist=True),
    ]


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("08 01", "truncated"),
        ("08 01 00", "without fragment bytes"),
        ("08 00 40 aa", "counts from 1"),
        ("01", "truncated"),
        ("02 01 0a 00 02 01 00 01 02 03", "truncated"),
        ("09", "unknown command id 0x09"),
    ],
)
def test_bad_downlinks(wire: str, message: str) -> None:
    with pytest.raises(LorawanCodecError, match=message):
        decode_downlink(201, bytes.fromhex(wire))


def test_rfu_bits_are_ignored_when_decoding() -> None:
    assert decode_downlink(201, bytes.fromhex("01 f9")) == [FragSessionStatusReq(0, True)]
    assert decode_downlink(201, bytes.fromhex("03 fe")) == [FragSessionDeleteReq(2)]
    setup = decode_downlink(201, bytes.fromhex("02 c1 0a 00 02 c1 00 01 02 03 04"))[0]
    assert setup == FragSessionSetupReqV1(0, 1, 10, 2, 0, 1, 0, DESCRIPTOR)


def test_setup_data_length_and_fragment_rules() -> None:
    assert FragSessionSetupReqV1(0, 1, 25, 40, 0, 0, 5, bytes(4)).data_length == 995
    with pytest.raises(LorawanCodecError):
        DataFragment(0, 0, b"\x00")
    with pytest.raises(LorawanCodecError):
        DataFragment(0, 1, b"")
    assert FragSessionSetupAns(0).accepted
    assert not FragSessionSetupAns(0, session_cnt_replay=True).accepted
