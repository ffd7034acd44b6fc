"""Downlink regional parameters for every AWS ``SupportedRfRegion``: data rates, the largest FRMPayload per
data rate (N, FOpts empty; the MACPayload limit M is N + 8), the default RX2 channel (what class C and
multicast sessions use unless told otherwise) and duty-cycle limits.

Sources: LoRaWAN Regional Parameters RP002-1.0.x as implemented by Semtech LoRaMac-node
(``src/mac/region/Region*.h``, the "cannot operate with repeater" N tables), cross-checked with
brocaar/lorawan ``band/`` and TheThingsNetwork lorawan-stack ``pkg/band/*_rp2_v1_0_3.go``;
EU868 sub-bands and duty cycles per ETSI EN 300 220-2 as listed by lorawan-stack. Where the references
disagree, the choice is noted on the region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from otahub.domain.errors import InvalidInput


class RfRegion(StrEnum):
    """botocore ``iotwireless`` SupportedRfRegion, value for value."""

    EU868 = "EU868"
    US915 = "US915"
    AU915 = "AU915"
    AS923_1 = "AS923-1"
    AS923_2 = "AS923-2"
    AS923_3 = "AS923-3"
    AS923_4 = "AS923-4"
    EU433 = "EU433"
    CN470 = "CN470"
    CN779 = "CN779"
    RU864 = "RU864"
    KR920 = "KR920"
    IN865 = "IN865"


@dataclass(frozen=True)
class DataRate:
    """One downlink data rate: LoRa (spreading factor, bandwidth) or FSK (bit rate)."""

    index: int
    max_payload: int
    spreading_factor: int | None = None
    bandwidth_hz: int | None = None
    fsk_bitrate: int | None = None
    #: N when a 400 ms downlink dwell time applies (AS923 DownlinkDwellTime=1); None: same as max_payload.
    max_payload_dwell: int | None = None

    @property
    def is_lora(self) -> bool:
        return self.fsk_bitrate is None

    @property
    def max_mac_payload(self) -> int:
        """M: MACPayload limit (FHDR 7 + FPort 1 + FRMPayload)."""
        return self.max_payload + 8


@dataclass(frozen=True)
class SubBand:
    min_hz: int
    max_hz: int
    duty_cycle: float


@dataclass(frozen=True)
class Region:
    region: RfRegion
    data_rates: Mapping[int, DataRate]
    rx2_frequency_hz: int
    rx2_data_rate: int
    #: Duty-cycle limited sub-bands; empty when the region imposes none (dwell time/LBT notes apply instead).
    sub_bands: tuple[SubBand, ...] = ()
    notes: str = ""

    def data_rate(self, dr: int) -> DataRate:
        rate = self.data_rates.get(dr)
        if rate is None:
            raise InvalidInput(f"DR{dr} is not a downlink data rate of {self.region}", field="DlDr")
        return rate

    def max_payload(self, dr: int, *, dwell_time: bool = False) -> int:
        """N of ``dr``; with ``dwell_time`` the 400 ms downlink dwell-time table (0: DR not usable)."""
        rate = self.data_rate(dr)
        if dwell_time and rate.max_payload_dwell is not None:
            return rate.max_payload_dwell
        return rate.max_payload

    def max_fragment_size(self, dr: int, *, dwell_time: bool = False) -> int:
        """The largest FragSize a DataFragment can carry at ``dr`` (N minus CID and IndexAndN)."""
        return max(self.max_payload(dr, dwell_time=dwell_time) - 3, 0)

    def duty_cycle(self, frequency_hz: int | None = None) -> float | None:
        """The duty-cycle limit at ``frequency_hz`` (default: the RX2 frequency); None if unlimited."""
        frequency = self.rx2_frequency_hz if frequency_hz is None else frequency_hz
        if not self.sub_bands:
            return None
        for band in self.sub_bands:
            if band.min_hz <= frequency <= band.max_hz:
                return band.duty_cycle
        raise InvalidInput(f"{frequency} Hz is in no {self.region} sub-band", field="DlFreq")


def _lora(max_payload: tuple[int, ...], *, first: int = 0, bandwidth_hz: int = 125_000) -> list[DataRate]:
    """LoRa DRs from SF12 down, one per N, starting at DR ``first``."""
    return [
        DataRate(first + offset, n, spreading_factor=12 - offset, bandwidth_hz=bandwidth_hz)
        for offset, n in enumerate(max_payload)
    ]


def _table(*rates: DataRate) -> dict[int, DataRate]:
    return {rate.index: rate for rate in rates}


def _eu_like(sf7_250: bool = True, fsk: bool = True) -> dict[int, DataRate]:
    """DR0-5 SF12..SF7/125 kHz, DR6 SF7/250 kHz, DR7 FSK 50 kbit/s; N 51/51/51/115/242..."""
    rates = _lora((51, 51, 51, 115, 242, 242))
    if sf7_250:
        rates.append(DataRate(6, 242, spreading_factor=7, bandwidth_hz=250_000))
    if fsk:
        rates.append(DataRate(7, 242, fsk_bitrate=50_000))
    return _table(*rates)


def _us_au_downlinks() -> dict[int, DataRate]:
    """DR8-13: SF12..SF7 at 500 kHz, N 53/129/242/242/242/242 (US915 and AU915 downlinks)."""
    return _table(*_lora((53, 129, 242, 242, 242, 242), first=8, bandwidth_hz=500_000))


def _as923(region: RfRegion, offset_hz: int) -> Region:
    no_dwell = (51, 51, 115, 115, 242, 242)
    dwell = (0, 0, 11, 53, 125, 242)
    rates = [
        DataRate(dr, n, spreading_factor=12 - dr, bandwidth_hz=125_000, max_payload_dwell=dwell[dr])
        for dr, n in enumerate(no_dwell)
    ]
    rates.append(DataRate(6, 242, spreading_factor=7, bandwidth_hz=250_000, max_payload_dwell=242))
    rates.append(DataRate(7, 242, fsk_bitrate=50_000, max_payload_dwell=242))
    return Region(
        region,
        _table(*rates),
        rx2_frequency_hz=923_200_000 + offset_hz,
        rx2_data_rate=2,
        sub_bands=(SubBand(915_000_000, 928_000_000, 0.01),),
        notes=(
            f"AS923_FREQ_OFFSET {offset_hz / 1e6:+.1f} MHz. N with DownlinkDwellTime=0 as LoRaMac-node "
            "(brocaar has DR2=51, lorawan-stack 222 for DR4+); with a 400 ms dwell time use dwell_time=True "
            "(DR0/1 unusable). Duty cycle and LBT follow national rules (Japan ARIB STD-T108 LBT); 1 % is "
            "LoRaMac-node's and lorawan-stack's band default."
        ),
    )


def _regions() -> dict[RfRegion, Region]:
    eu868_bands = (
        SubBand(863_000_000, 865_000_000, 0.001),
        SubBand(865_000_000, 868_000_000, 0.01),
        SubBand(868_000_000, 868_600_000, 0.01),  # g1: the three default channels
        SubBand(868_700_000, 869_200_000, 0.001),  # g2
        SubBand(869_400_000, 869_650_000, 0.1),  # g3: RX2 869.525 MHz
        SubBand(869_700_000, 870_000_000, 0.01),  # g4
    )
    regions = [
        Region(
            RfRegion.EU868,
            _eu_like(),
            869_525_000,
            0,
            eu868_bands,
            "g1 (868.0-868.6 MHz) 1 %; the RX2/class C channel 869.525 MHz is in g3 (10 %).",
        ),
        Region(
            RfRegion.US915,
            _us_au_downlinks(),
            923_300_000,
            8,
            notes=(
                "No duty cycle (FCC 15.247). The 400 ms dwell time binds the 125 kHz uplinks; the 500 kHz "
                "downlink channels (923.3 + 0.6 k MHz) are digitally modulated and not dwell-limited. "
                "lorawan-stack lists DR8/DR9 N as 33/109 (repeater table); LoRaMac-node and brocaar 53/129."
            ),
        ),
        Region(
            RfRegion.AU915,
            _us_au_downlinks(),
            923_300_000,
            8,
            notes="No duty cycle. UplinkDwellTime (default on) limits uplinks only; downlinks are DR8-13.",
        ),
        _as923(RfRegion.AS923_1, 0),
        _as923(RfRegion.AS923_2, -1_800_000),
        _as923(RfRegion.AS923_3, -6_600_000),
        _as923(RfRegion.AS923_4, -5_900_000),
        Region(
            RfRegion.EU433,
            _eu_like(),
            434_665_000,
            0,
            (SubBand(433_050_000, 434_790_000, 0.01),),
            "1 % as LoRaMac-node's EU433 band.",
        ),
        Region(
            RfRegion.CN470,
            _eu_like(sf7_250=False, fsk=False),
            505_300_000,
            0,
            notes=(
                "CN470-510 of LoRaWAN 1.0.x/RP 1.1 (DR0-5, RX2 505.3 MHz DR0). RP002-1.0.1+ redefines CN470 "
                "(channel plans, DR0 unusable, N 23/86/184/242, RX2 DR1): not modelled. No duty cycle."
            ),
        ),
        Region(
            RfRegion.CN779,
            _eu_like(),
            786_000_000,
            0,
            (SubBand(779_000_000, 787_000_000, 0.01),),
            "1 % (LoRaMac-node CN779 band).",
        ),
        Region(
            RfRegion.RU864,
            _eu_like(),
            869_100_000,
            0,
            (SubBand(864_000_000, 870_000_000, 0.01),),
            "1 % over the band (LoRaMac-node RU864 band); N as EU868 (LoRaMac-node lists M-like 59/123/230).",
        ),
        Region(
            RfRegion.KR920,
            _eu_like(sf7_250=False, fsk=False),
            921_900_000,
            0,
            notes="No duty cycle; listen-before-talk is mandatory.",
        ),
        Region(
            RfRegion.IN865,
            _eu_like(sf7_250=False),
            866_550_000,
            2,
            notes="No duty cycle. DR6 is RFU; DR7 is FSK 50 kbit/s.",
        ),
    ]
    return {region.region: region for region in regions}


REGIONS: Mapping[RfRegion, Region] = _regions()


def region(name: RfRegion | str) -> Region:
    """The parameters of an RfRegion (``"EU868"``, ``RfRegion.AS923_1`` ...)."""
    try:
        return REGIONS[RfRegion(name)]
    except ValueError:
        raise InvalidInput(f"unknown RfRegion {name!r}", field="RfRegion") from None
