"""Routing by FPort/version, and device answers as AWS FuotaDeviceStatus values."""

from __future__ import annotations

import botocore.session
import pytest

from otahub.domain.lorawan.commands import LorawanCodecError, PackageVersionAns, PackageVersionReq
from otahub.domain.lorawan.fragmentation import (
    FragDataBlockReceivedReq,
    FragSessionDeleteReq,
    FragSessionSetupAns,
    FragSessionStatusAnsV1,
    FragSessionStatusAnsV2,
)
from otahub.domain.lorawan.multicast import McGroupDeleteReq
from otahub.domain.lorawan.packages import (
    FuotaAnswer,
    FuotaDeviceStatus,
    Package,
    decode_downlink,
    decode_uplink,
    encode,
    fuota_device_status,
)

S = FuotaDeviceStatus


def test_status_values_are_the_botocore_enum() -> None:
    model = botocore.session.get_session().get_service_model("iotwireless")
    assert [status.value for status in FuotaDeviceStatus] == model.shape_for("FuotaDeviceStatus").enum


def test_the_port_picks_the_package() -> None:
    frame = bytes.fromhex("03 02")
    assert decode_downlink(201, frame) == [FragSessionDeleteReq(2)]
    assert decode_downlink(200, frame) == [McGroupDeleteReq(2)]
    with pytest.raises(LorawanCodecError, match="FPort 1 "):
        decode_downlink(1, frame)
    custom = {10: Package.FRAGMENTATION}
    assert decode_downlink(10, frame, ports=custom) == [FragSessionDeleteReq(2)]
    with pytest.raises(LorawanCodecError, match="PackageVersion 3"):
        decode_uplink(201, frame, 3)
    assert decode_downlink(202, b"") == []
    assert encode([PackageVersionReq(), FragSessionDeleteReq(1)]) == bytes.fromhex("00 03 01")


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (PackageVersionAns(3, 1), S.INITIAL),
        (PackageVersionAns(3, 2), S.INITIAL),
        (PackageVersionAns(3, 3), S.PACKAGE_NOT_SUPPORTED),
        (PackageVersionAns(2, 1), S.PACKAGE_NOT_SUPPORTED),
        (FragSessionSetupAns(0), S.INITIAL),
        (FragSessionSetupAns(0, frag_algo_unsupported=True, not_enough_memory=True), S.FRAG_ALGO_UNSUPPORTED),
        (FragSessionSetupAns(1, not_enough_memory=True), S.NOT_ENOUGH_MEMORY),
        (FragSessionSetupAns(1, frag_index_unsupported=True), S.FRAG_INDEX_UNSUPPORTED),
        (FragSessionSetupAns(1, wrong_descriptor=True), S.WRONG_DESCRIPTOR),
        (FragSessionSetupAns(1, session_cnt_replay=True), S.SESSION_CNT_REPLAY),
        (FragSessionStatusAnsV1(0, 25, 0), S.SUCCESSFUL),
        (FragSessionStatusAnsV1(0, 20, 5), S.MISSING_FRAG),
        (FragSessionStatusAnsV1(0, 20, 5, not_enough_matrix_memory=True), S.MEMORY_ERROR),
        (FragSessionStatusAnsV1(0, 0, 0), S.INITIAL),
        (FragSessionStatusAnsV2(0, 25, 0), S.SUCCESSFUL),
        (FragSessionStatusAnsV2(0, 25, 0, mic_error=True), S.MIC_ERROR),
        (FragSessionStatusAnsV2(0, 20, 3, mic_error=True), S.MISSING_FRAG),  # MICError only counts when complete
        (FragSessionStatusAnsV2(0, 20, 3, memory_error=True), S.MEMORY_ERROR),
        (FragSessionStatusAnsV2(0, 0, 0, session_does_not_exist=True), S.INITIAL),
        (FragSessionStatusAnsV2(0, 0, 0), S.INITIAL),  # LBM: session set up, nothing received
        (FragDataBlockReceivedReq(0), S.SUCCESSFUL),
        (FragDataBlockReceivedReq(0, mic_error=True), S.MIC_ERROR),
    ],
)
def test_answers_map_to_fuota_device_status(answer: FuotaAnswer, status: FuotaDeviceStatus) -> None:
    assert fuota_device_status(answer) == status


def test_a_decoded_status_answer_maps_directly() -> None:
    (answer,) = decode_uplink(201, bytes.fromhex("01 00 19 00 00"), 2)
    assert isinstance(answer, FragSessionStatusAnsV2)
    assert fuota_device_status(answer) == S.SUCCESSFUL
