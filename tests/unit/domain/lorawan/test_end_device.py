"""The simulated end device's application layer, driven with the codecs' own downlinks: versions, multicast
setup with its encrypted key, a fragmentation session through loss, and its faults."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.domain.lorawan import clock_sync as ts003
from otahub.domain.lorawan import fragmentation as ts004
from otahub.domain.lorawan import multicast as ts005
from otahub.domain.lorawan.commands import Command, PackageVersionAns, PackageVersionReq
from otahub.domain.lorawan.crypto import encrypt_mc_key, mc_ke_key, mc_root_key
from otahub.domain.lorawan.end_device import EndDevice
from otahub.domain.lorawan.fec import data_block_int_key, data_block_mic, encode, parity_row
from otahub.domain.lorawan.packages import FuotaDeviceStatus, decode_uplink, fuota_device_status
from otahub.domain.lorawan.packages import encode as encode_commands

GEN_APP_KEY = bytes(range(16))
DESCRIPTOR = b"\x01\x02\x03\x04"


def answers(device: EndDevice, port: int, commands: list[Command], *, multicast: bool = False,
            gps_now: int = 1_000_000) -> list[Command]:
    found: list[Command] = []
    for up_port, payload in device.receive(port, encode_commands(commands), multicast=multicast, gps_now=gps_now):
        found += decode_uplink(up_port, payload, device.version)
    return found


def setup_request(device: EndDevice, image: bytes, frag_size: int, *, ack: bool = True) -> Command:
    nb_frag = -(-len(image) // frag_size)
    padding = nb_frag * frag_size - len(image)
    if device.version == 1:
        return ts004.FragSessionSetupReqV1(0, 1, nb_frag, frag_size, 0, 1, padding, DESCRIPTOR)
    mic = data_block_mic(data_block_int_key(GEN_APP_KEY), image, session_cnt=7, frag_index=0, descriptor=DESCRIPTOR)
    return ts004.FragSessionSetupReqV2(0, 1, nb_frag, frag_size, 0, 1, padding, DESCRIPTOR, 7, mic, ack)


def test_every_package_reports_its_version_and_v1_devices_say_1() -> None:
    for fault, version in ((None, 2), ("v1", 1)):
        device = EndDevice("0102030405060708", GEN_APP_KEY, fault=fault)
        for port, package in ((ts003.PORT, 1), (ts005.PORT, 2), (ts004.PORT, 3)):
            assert answers(device, port, [PackageVersionReq()]) == [PackageVersionAns(package, version)]


def test_multicast_setup_decrypts_the_group_key_and_opens_a_class_c_session() -> None:
    device = EndDevice("0102030405060708", GEN_APP_KEY)
    mc_key = bytes(range(100, 116))
    encrypted = encrypt_mc_key(mc_ke_key(mc_root_key(gen_app_key=GEN_APP_KEY)), mc_key)
    setup = ts005.McGroupSetupReq(0, 0x01020304, encrypted, 0, 1000)
    assert answers(device, ts005.PORT, [setup]) == [ts005.McGroupSetupAns(0)]
    assert device.groups[0].key == mc_key and device.groups[0].addr == 0x01020304
    session = ts005.McClassCSessionReq(0, 1_000_100, 5, 869_525_000, 0)
    assert answers(device, ts005.PORT, [session]) == [ts005.McClassCSessionAns(0, time_to_start=100)]
    assert answers(device, ts005.PORT, [ts005.McClassCSessionReq(3, 1_000_100, 5, 869_525_000, 0)]) == [
        ts005.McClassCSessionAns(3, mc_group_undefined=True)]
    assert answers(device, ts005.PORT, [setup], multicast=True) == []  # setup on a multicast address is ignored


def test_clock_sync_moves_the_device_clock_by_the_correction() -> None:
    device = EndDevice("0102030405060708", GEN_APP_KEY, clock_offset=42)
    port, payload = device.app_time_request(1_000_000)
    (request,) = decode_uplink(port, payload, 2)
    assert isinstance(request, ts003.AppTimeReq) and request.device_time == 1_000_042
    answers(device, ts003.PORT, [ts003.AppTimeAns(-42, request.token_req)])
    assert device.device_time(1_000_000) == 1_000_000


def rank(rows: list[int]) -> int:
    """GF(2) rank of rows given as ints (a reference independent of the decoder under test)."""
    basis: dict[int, int] = {}
    for row in rows:
        while row:
            top = row.bit_length() - 1
            if top not in basis:
                basis[top] = row
                break
            row ^= basis[top]
    return len(basis)


def equations(nb_frag: int, received: list[int], version: int) -> list[int]:
    rows = []
    for n in received:
        if n <= nb_frag:
            rows.append(1 << (n - 1))
        else:
            bits = parity_row(n - nb_frag, nb_frag, version)
            rows.append(sum(1 << j for j, on in enumerate(bits) if on))
    return rows


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 3000), frag_size=st.integers(8, 64), percent=st.integers(0, 100),
       loss=st.floats(0, 0.6), seed=st.integers(0, 2**16), v1=st.booleans())
def test_a_device_succeeds_exactly_when_what_arrived_has_full_rank(size: int, frag_size: int, percent: int,
                                                                   loss: float, seed: int, v1: bool) -> None:
    rng = random.Random(seed)
    image = rng.randbytes(size)
    device = EndDevice("0102030405060708", GEN_APP_KEY, fault="v1" if v1 else None)
    nb_frag = -(-size // frag_size)
    coded = encode(image, frag_size, -(-nb_frag * percent // 100), version=device.version)
    assert answers(device, ts004.PORT, [setup_request(device, image, frag_size, ack=False)]) == [
        ts004.FragSessionSetupAns(0)]
    received = [n for n in range(1, len(coded.fragments) + 1) if rng.random() >= loss]
    for n in received:
        answers(device, ts004.PORT, [ts004.DataFragment(0, n, coded.fragment(n))], multicast=True)
    (status,) = answers(device, ts004.PORT, [ts004.FragSessionStatusReq(0, participants=True)], multicast=True)
    assert isinstance(status, ts004.FragSessionStatusAnsV1 | ts004.FragSessionStatusAnsV2)
    whole = rank(equations(coded.nb_frag, received, device.version)) == coded.nb_frag
    expected = FuotaDeviceStatus.SUCCESSFUL if whole else FuotaDeviceStatus.MISSING_FRAG
    assert fuota_device_status(status) is expected
    assert (device.image == image) is whole


def test_a_corrupting_device_reports_a_mic_error_and_keeps_no_image() -> None:
    image = bytes(range(256)) * 4
    device = EndDevice("0102030405060708", GEN_APP_KEY, fault="corrupt")
    coded = encode(image, 32, 8)
    answers(device, ts004.PORT, [setup_request(device, image, 32)])
    replies = [reply for n in range(1, len(coded.fragments) + 1)
               for reply in answers(device, ts004.PORT, [ts004.DataFragment(0, n, coded.fragment(n))], multicast=True)]
    assert replies == [ts004.FragDataBlockReceivedReq(0, mic_error=True)]
    (status,) = answers(device, ts004.PORT, [ts004.FragSessionStatusReq(0, participants=True)])
    assert fuota_device_status(status) is FuotaDeviceStatus.MIC_ERROR and device.image is None


def test_a_device_without_memory_refuses_the_session() -> None:
    device = EndDevice("0102030405060708", GEN_APP_KEY, fault="no-memory")
    (answer,) = answers(device, ts004.PORT, [setup_request(device, b"x" * 100, 10)])
    assert isinstance(answer, ts004.FragSessionSetupAns)
    assert fuota_device_status(answer) is FuotaDeviceStatus.NOT_ENOUGH_MEMORY
    small = EndDevice("0102030405060708", GEN_APP_KEY, memory=50)
    (answer,) = answers(small, ts004.PORT, [setup_request(small, b"x" * 100, 10)])
    assert isinstance(answer, ts004.FragSessionSetupAns) and answer.not_enough_memory
