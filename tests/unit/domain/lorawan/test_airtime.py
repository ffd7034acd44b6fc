"""Time on air against published figures and independent arithmetic.

Published figures:
- 2465.8 ms: Semtech LoRa Calculator, SF12/125 kHz, 51-byte payload, CR 4/5, CRC on, explicit header,
  preamble 8, low-data-rate optimisation on (the figure given in the task brief; the calculator's
  "payload" is the whole PHYPayload).
- 1155.072 ms for 13 bytes at SF12/125 kHz, symbol times 32.768/4.096/1.024 ms and the payload symbol
  counts 23/26/18/58: brocaar/lorawan airtime/airtime_test.go (its formula always counts the CRC).
"""

from __future__ import annotations

import math

import pytest

from otahub.domain.errors import InvalidInput
from otahub.domain.lorawan.airtime import (
    MAC_OVERHEAD,
    frame_time_on_air_s,
    fsk_time_on_air_s,
    lora_payload_symbols,
    lora_time_on_air_s,
    session_airtime,
    symbol_time_s,
)
from otahub.domain.lorawan.regions import REGIONS, RfRegion, region


def test_semtech_calculator_sf12() -> None:
    assert lora_time_on_air_s(51, 12, 125_000, crc=True) * 1000 == pytest.approx(2465.792, abs=1e-9)


def test_brocaar_figures() -> None:
    assert lora_time_on_air_s(13, 12, 125_000, crc=True, low_data_rate_optimize=False) == pytest.approx(1.155072)
    assert symbol_time_s(12, 125_000) == pytest.approx(0.032768)
    assert symbol_time_s(9, 125_000) == pytest.approx(0.004096)
    assert symbol_time_s(9, 500_000) == pytest.approx(0.001024)
    assert lora_payload_symbols(13, 12, crc=True) == 23
    assert lora_payload_symbols(13, 12, coding_rate=2, crc=True) == 26
    assert lora_payload_symbols(13, 12, crc=True, explicit_header=False) == 18
    assert lora_payload_symbols(50, 12, crc=True, low_data_rate_optimize=True) == 58


def test_downlinks_have_no_crc_and_ldro_follows_the_16_ms_rule() -> None:
    # SF7/125 kHz, 13 bytes: 33 symbols with CRC (46.336 ms), 28 without.
    assert lora_time_on_air_s(13, 7, 125_000, crc=True) == pytest.approx(0.046336)
    assert lora_time_on_air_s(13, 7, 125_000) == pytest.approx((12.25 + 28) * 0.001024)
    # LDRO: on at SF11/125 (16.384 ms) and SF12/250, off at SF10/125 and SF11/250 (8.192 ms).
    assert lora_time_on_air_s(20, 11, 125_000) == lora_time_on_air_s(20, 11, 125_000, low_data_rate_optimize=True)
    assert lora_time_on_air_s(20, 12, 250_000) == lora_time_on_air_s(20, 12, 250_000, low_data_rate_optimize=True)
    assert lora_time_on_air_s(20, 10, 125_000) == lora_time_on_air_s(20, 10, 125_000, low_data_rate_optimize=False)
    assert lora_time_on_air_s(20, 11, 250_000) == lora_time_on_air_s(20, 11, 250_000, low_data_rate_optimize=False)
    with pytest.raises(InvalidInput):
        lora_payload_symbols(256, 7)


def test_fsk_frame() -> None:
    # 5 preamble + 3 sync + 1 length + 64 PHYPayload + 2 CRC bytes at 50 kbit/s.
    assert fsk_time_on_air_s(64) == pytest.approx(75 * 8 / 50_000)
    assert frame_time_on_air_s(51, region("EU868").data_rate(7)) == pytest.approx(fsk_time_on_air_s(64))


def test_frames_count_13_bytes_of_mac_overhead() -> None:
    assert MAC_OVERHEAD == 1 + 7 + 1 + 4
    rate = region("EU868").data_rate(0)
    assert frame_time_on_air_s(51, rate) == pytest.approx(lora_time_on_air_s(64, 12, 125_000))


def _independent_airtime(phy: int, rate_sf: int | None, bw: int | None, fsk: int | None) -> float:
    """The datasheet formula written out again, CRC off, CR 4/5, explicit header, preamble 8."""
    if fsk is not None:
        return (5 + 3 + 1 + phy + 2) * 8 / fsk
    assert rate_sf is not None and bw is not None
    t_sym = float(2**rate_sf) / bw
    de = 1 if t_sym >= 0.016 else 0
    n_payload = 8 + max(math.ceil((8 * phy - 4 * rate_sf + 28) / (4 * (rate_sf - 2 * de))) * 5, 0)
    return (8 + 4.25 + n_payload) * t_sym


IMAGE = 100 * 1024


@pytest.mark.parametrize("name", list(RfRegion))
def test_100_kib_at_30_percent_in_every_region_and_data_rate(name: RfRegion) -> None:
    params = REGIONS[name]
    for dr, rate in params.data_rates.items():
        fragment = params.max_fragment_size(dr)
        nb_frag = -(-IMAGE // fragment)
        coded = -(-nb_frag * 30 // 100)  # RedundancyPercent 30, rounded up
        if nb_frag + coded > 16383:
            with pytest.raises(InvalidInput):
                session_airtime(IMAGE, fragment, coded, name, dr)
            continue
        session = session_airtime(IMAGE, fragment, coded, name, dr, fragment_interval_ms=1000)
        frame = _independent_airtime(fragment + 3 + 13, rate.spreading_factor, rate.bandwidth_hz, rate.fsk_bitrate)
        assert (session.nb_frag, session.redundancy_fragments, session.frames) == (nb_frag, coded, nb_frag + coded)
        assert session.padding == nb_frag * fragment - IMAGE
        assert session.total_airtime_s == pytest.approx((nb_frag + coded) * frame, rel=1e-12)
        duty = params.duty_cycle()
        spacing = max(1.0, frame / duty if duty else frame)
        assert session.min_session_s == pytest.approx((nb_frag + coded - 1) * spacing + frame, rel=1e-12)


def test_worked_sessions() -> None:
    # EU868 DR5 (SF7/125): 239-byte fragments -> 429 + ceil(128.7) = 558 frames of 255 PHY bytes,
    # 8 + ceil((2040 - 28 + 28) / 28) * 5 = 373 symbols -> 385.25 * 1.024 ms = 394.496 ms each.
    eu = session_airtime(IMAGE, 239, 129, "EU868", 5)
    assert (eu.nb_frag, eu.frames, eu.frame_phy_payload) == (429, 558, 255)
    assert eu.frame_airtime_s == pytest.approx(0.394496)
    assert eu.total_airtime_s == pytest.approx(220.128768)
    assert eu.duty_cycle == 0.1 and eu.min_session_s == pytest.approx(557 * 3.94496 + 0.394496)
    # US915 DR8 (SF12/500, no LDRO at 8.192 ms): 50-byte fragments -> 2048 + 615 frames of 66 bytes,
    # 8 + ceil((528 - 48 + 28) / 48) * 5 = 63 symbols -> 75.25 * 8.192 ms = 616.448 ms; no duty cycle.
    us = session_airtime(IMAGE, 50, 615, RfRegion.US915, fragment_interval_ms=1000)
    assert (us.dr, us.frames, us.duty_cycle) == (8, 2663, None)
    assert us.total_airtime_s == pytest.approx(2663 * 0.616448)
    assert us.min_session_s == pytest.approx(2662 * 1.0 + 0.616448)
    # EU868 default (RX2 DR0, 869.525 MHz, 10 %) against 868.1 MHz (1 %).
    slow = session_airtime(IMAGE, 48, 641, "EU868", frequency_hz=868_100_000)
    assert slow.frame_airtime_s == pytest.approx(2.793472)
    assert slow.min_session_s == pytest.approx(2774 * 279.3472 + 2.793472)


def test_limits() -> None:
    with pytest.raises(InvalidInput, match="FragmentSizeBytes"):
        session_airtime(IMAGE, 49, 0, "EU868", 0)  # N 51 - 3 = 48 at DR0
    with pytest.raises(InvalidInput):
        session_airtime(0, 10, 0, "EU868")
    with pytest.raises(InvalidInput):
        session_airtime(1024 * 1024, 48, 0, "EU868")  # 21846 fragments > 16383
    with pytest.raises(InvalidInput):
        session_airtime(IMAGE, 48, 0, "EU868", fragment_interval_ms=-1)
    with pytest.raises(InvalidInput):
        session_airtime(IMAGE, 8, 0, "AS923-1", 1, dwell_time=True)  # DR1 unusable with a 400 ms dwell time
