"""Regional parameters: one entry per AWS SupportedRfRegion, tables as the reference stacks list them.

Expected N tables are LoRaMac-node's MaxPayloadOfDatarate<Region>[] ("cannot operate with repeater") arrays
(src/mac/region/Region*.h); RX2 defaults as LoRaMac-node/brocaar band definitions.
"""

from __future__ import annotations

import botocore.session
import pytest

from otahub.domain.errors import InvalidInput
from otahub.domain.lorawan.regions import REGIONS, RfRegion, region


def test_every_supported_rf_region_is_modelled() -> None:
    model = botocore.session.get_session().get_service_model("iotwireless")
    assert [r.value for r in RfRegion] == model.shape_for("SupportedRfRegion").enum
    assert set(REGIONS) == set(RfRegion)


EU_LIKE_N = [51, 51, 51, 115, 242, 242, 242, 242]


@pytest.mark.parametrize(
    ("name", "payloads", "rx2_hz", "rx2_dr"),
    [
        ("EU868", dict(enumerate(EU_LIKE_N)), 869_525_000, 0),
        ("EU433", dict(enumerate(EU_LIKE_N)), 434_665_000, 0),
        ("CN779", dict(enumerate(EU_LIKE_N)), 786_000_000, 0),
        ("RU864", dict(enumerate(EU_LIKE_N)), 869_100_000, 0),
        ("IN865", {0: 51, 1: 51, 2: 51, 3: 115, 4: 242, 5: 242, 7: 242}, 866_550_000, 2),
        ("KR920", dict(enumerate(EU_LIKE_N[:6])), 921_900_000, 0),
        ("CN470", dict(enumerate(EU_LIKE_N[:6])), 505_300_000, 0),
        ("US915", dict(zip(range(8, 14), [53, 129, 242, 242, 242, 242], strict=True)), 923_300_000, 8),
        ("AU915", dict(zip(range(8, 14), [53, 129, 242, 242, 242, 242], strict=True)), 923_300_000, 8),
        ("AS923-1", dict(enumerate([51, 51, 115, 115, 242, 242, 242, 242])), 923_200_000, 2),
        ("AS923-2", dict(enumerate([51, 51, 115, 115, 242, 242, 242, 242])), 921_400_000, 2),
        ("AS923-3", dict(enumerate([51, 51, 115, 115, 242, 242, 242, 242])), 916_600_000, 2),
        ("AS923-4", dict(enumerate([51, 51, 115, 115, 242, 242, 242, 242])), 917_300_000, 2),
    ],
)
def test_downlink_tables(name: str, payloads: dict[int, int], rx2_hz: int, rx2_dr: int) -> None:
    params = region(name)
    assert {dr: rate.max_payload for dr, rate in params.data_rates.items()} == payloads
    assert (params.rx2_frequency_hz, params.rx2_data_rate) == (rx2_hz, rx2_dr)
    assert params.data_rate(rx2_dr).is_lora
    for dr, rate in params.data_rates.items():
        assert rate.index == dr
        assert rate.max_mac_payload == rate.max_payload + 8
        assert params.max_fragment_size(dr) == rate.max_payload - 3
        if rate.is_lora:
            assert rate.spreading_factor is not None and 7 <= rate.spreading_factor <= 12
            assert rate.bandwidth_hz in (125_000, 250_000, 500_000)
        else:
            assert rate.fsk_bitrate == 50_000


def test_modulations() -> None:
    eu = region(RfRegion.EU868)
    assert [(r.spreading_factor, r.bandwidth_hz) for r in eu.data_rates.values()][:7] == [
        (12, 125_000), (11, 125_000), (10, 125_000), (9, 125_000), (8, 125_000), (7, 125_000), (7, 250_000),
    ]  # fmt: skip
    assert eu.data_rate(7).fsk_bitrate == 50_000
    us = region("US915")
    assert [(r.spreading_factor, r.bandwidth_hz) for r in us.data_rates.values()] == [
        (sf, 500_000) for sf in range(12, 6, -1)
    ]


def test_as923_downlink_dwell_time() -> None:
    params = region("AS923-1")
    assert [params.max_payload(dr, dwell_time=True) for dr in range(8)] == [0, 0, 11, 53, 125, 242, 242, 242]
    assert params.max_fragment_size(0, dwell_time=True) == 0
    assert region("EU868").max_payload(0, dwell_time=True) == 51


def test_duty_cycles() -> None:
    eu = region("EU868")
    assert eu.duty_cycle(868_100_000) == 0.01  # g1
    assert eu.duty_cycle() == 0.1  # RX2 869.525 MHz, g3
    assert eu.duty_cycle(868_900_000) == 0.001  # g2
    with pytest.raises(InvalidInput):
        eu.duty_cycle(868_650_000)
    assert region("US915").duty_cycle() is None
    assert region("AU915").duty_cycle(915_200_000) is None
    assert region("KR920").duty_cycle() is None
    assert region("AS923-3").duty_cycle() == 0.01
    assert "dwell" in region("US915").notes


def test_unknown_names() -> None:
    with pytest.raises(InvalidInput):
        region("EU999")
    with pytest.raises(InvalidInput):
        region("US915").data_rate(0)  # an uplink-only data rate
