"""Time on air of LoRaWAN downlinks and of a whole FUOTA fragment session.

LoRa (Semtech SX127x/SX126x datasheets, AN1200.13 "LoRa Modem Designer's Guide"):

    Tsym     = 2**SF / BW
    Tpre     = (n_preamble + 4.25) * Tsym                 n_preamble = 8 in LoRaWAN
    n_pay    = 8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) * (CR + 4), 0)
    ToA      = Tpre + n_pay * Tsym

PL is the PHYPayload length; IH = 0 (LoRaWAN uses the explicit header); CRC = 0 for downlinks (LoRaWAN
sends downlinks without payload CRC; pass ``crc=True`` for uplinks); DE (low-data-rate optimisation) = 1
when Tsym >= 16 ms (SF11/SF12 at 125 kHz, SF12 at 250 kHz); CR = 1 (4/5).

FSK (EU868/AS923/... DR7, 50 kbit/s): preamble 5 bytes, sync word 3, length 1, PHYPayload, CRC 2.

What a frame counts: PHYPayload = FRMPayload + 13 bytes of MAC overhead = MHDR (1) + FHDR (7: DevAddr 4,
FCtrl 1, FCnt 2, no FOpts) + FPort (1) + MIC (4). A DataFragment FRMPayload is CID (1) + IndexAndN (2) +
FragSize bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from otahub.domain.errors import InvalidInput
from otahub.domain.lorawan.fragmentation import DATA_FRAGMENT_HEADER, MAX_FRAGMENT_COUNTER
from otahub.domain.lorawan.regions import DataRate, RfRegion
from otahub.domain.lorawan.regions import region as region_params

#: MHDR + FHDR without FOpts + FPort + MIC.
MAC_OVERHEAD = 13
PREAMBLE_SYMBOLS = 8
#: Symbol times at or above this turn low-data-rate optimisation on.
LDRO_SYMBOL_TIME_S = 0.016
FSK_PREAMBLE_BYTES = 5
FSK_SYNC_WORD_BYTES = 3


def symbol_time_s(spreading_factor: int, bandwidth_hz: int) -> float:
    return (1 << spreading_factor) / bandwidth_hz


def lora_payload_symbols(
    phy_payload_len: int,
    spreading_factor: int,
    *,
    coding_rate: int = 1,
    explicit_header: bool = True,
    crc: bool = False,
    low_data_rate_optimize: bool = False,
) -> int:
    """Symbols after the preamble (header + payload), ``coding_rate`` 1..4 for 4/5..4/8."""
    if not 5 <= spreading_factor <= 12 or not 1 <= coding_rate <= 4 or not 0 <= phy_payload_len <= 255:
        raise InvalidInput("SF must be 5..12, coding rate 1..4 and the PHYPayload 0..255 bytes")
    numerator = 8 * phy_payload_len - 4 * spreading_factor + 28 + 16 * crc - 20 * (not explicit_header)
    denominator = 4 * (spreading_factor - 2 * low_data_rate_optimize)
    return 8 + max(-(-numerator // denominator) * (coding_rate + 4), 0)


def lora_time_on_air_s(
    phy_payload_len: int,
    spreading_factor: int,
    bandwidth_hz: int,
    *,
    coding_rate: int = 1,
    preamble_symbols: int = PREAMBLE_SYMBOLS,
    explicit_header: bool = True,
    crc: bool = False,
    low_data_rate_optimize: bool | None = None,
) -> float:
    """Seconds on air of one LoRa frame; LDRO follows the 16 ms rule unless given."""
    t_sym = symbol_time_s(spreading_factor, bandwidth_hz)
    ldro = t_sym >= LDRO_SYMBOL_TIME_S if low_data_rate_optimize is None else low_data_rate_optimize
    symbols = lora_payload_symbols(
        phy_payload_len,
        spreading_factor,
        coding_rate=coding_rate,
        explicit_header=explicit_header,
        crc=crc,
        low_data_rate_optimize=ldro,
    )
    return (preamble_symbols + 4.25 + symbols) * t_sym


def fsk_time_on_air_s(phy_payload_len: int, bitrate: int = 50_000, *, crc: bool = True) -> float:
    """Seconds on air of one LoRaWAN FSK frame (5-byte preamble, 3-byte sync word, length byte, CRC-16)."""
    frame = FSK_PREAMBLE_BYTES + FSK_SYNC_WORD_BYTES + 1 + phy_payload_len + 2 * crc
    return 8 * frame / bitrate


def frame_time_on_air_s(frm_payload_len: int, rate: DataRate, *, crc: bool = False) -> float:
    """Seconds on air of one LoRaWAN data frame carrying ``frm_payload_len`` bytes at ``rate``."""
    phy = frm_payload_len + MAC_OVERHEAD
    if rate.fsk_bitrate is not None:
        return fsk_time_on_air_s(phy, rate.fsk_bitrate)
    assert rate.spreading_factor is not None and rate.bandwidth_hz is not None
    return lora_time_on_air_s(phy, rate.spreading_factor, rate.bandwidth_hz, crc=crc)


@dataclass(frozen=True)
class SessionAirtime:
    """The downlink budget of one fragment session: every fragment sent once, uncoded then coded."""

    region: RfRegion
    dr: int
    image_size: int
    fragment_size: int
    nb_frag: int
    redundancy_fragments: int
    frame_airtime_s: float
    duty_cycle: float | None
    fragment_interval_s: float

    @property
    def padding(self) -> int:
        return self.nb_frag * self.fragment_size - self.image_size

    @property
    def frames(self) -> int:
        return self.nb_frag + self.redundancy_fragments

    @property
    def frame_phy_payload(self) -> int:
        return self.fragment_size + DATA_FRAGMENT_HEADER + MAC_OVERHEAD

    @property
    def total_airtime_s(self) -> float:
        return self.frames * self.frame_airtime_s

    @property
    def spacing_s(self) -> float:
        """Start-to-start time between fragments: the interval, the frame itself, or its duty-cycle off time."""
        on_air = self.frame_airtime_s if self.duty_cycle is None else self.frame_airtime_s / self.duty_cycle
        return max(self.fragment_interval_s, on_air)

    @property
    def min_session_s(self) -> float:
        """From the first fragment's start to the last one's end, at best."""
        return (self.frames - 1) * self.spacing_s + self.frame_airtime_s


def session_airtime(
    image_size: int,
    fragment_size: int,
    redundancy_fragments: int,
    region: RfRegion | str,
    dr: int | None = None,
    *,
    fragment_interval_ms: int = 0,
    frequency_hz: int | None = None,
    dwell_time: bool = False,
) -> SessionAirtime:
    """Airtime of sending ``image_size`` bytes as DataFragments of ``fragment_size`` plus
    ``redundancy_fragments`` coded ones (from RedundancyPercent: ``fec.coded_fragment_count``).

    ``dr`` defaults to the region's RX2 (class C) data rate and ``frequency_hz`` (duty cycle) to its RX2
    frequency. The duty cycle is applied per frame (each frame is followed by airtime * (1/d - 1) off),
    which is stricter than ETSI's one-hour average for sessions shorter than an hour.
    """
    params = region_params(region)
    rate_index = params.rx2_data_rate if dr is None else dr
    rate = params.data_rate(rate_index)
    limit = params.max_fragment_size(rate_index, dwell_time=dwell_time)
    if image_size < 1:
        raise InvalidInput("the image is empty", field="FirmwareUpdateImage")
    if not 1 <= fragment_size <= min(limit, 255):
        raise InvalidInput(
            f"FragmentSizeBytes {fragment_size} exceeds {limit} bytes at {params.region} DR{rate_index}",
            field="FragmentSizeBytes",
        )
    nb_frag = -(-image_size // fragment_size)
    if redundancy_fragments < 0 or nb_frag + redundancy_fragments > MAX_FRAGMENT_COUNTER:
        raise InvalidInput(
            f"{nb_frag} + {redundancy_fragments} fragments exceed the {MAX_FRAGMENT_COUNTER} a session can number",
            field="FragmentSizeBytes",
        )
    if fragment_interval_ms < 0:
        raise InvalidInput("FragmentIntervalMS must not be negative", field="FragmentIntervalMS")
    return SessionAirtime(
        region=params.region,
        dr=rate_index,
        image_size=image_size,
        fragment_size=fragment_size,
        nb_frag=nb_frag,
        redundancy_fragments=redundancy_fragments,
        frame_airtime_s=frame_time_on_air_s(fragment_size + DATA_FRAGMENT_HEADER, rate),
        duty_cycle=params.duty_cycle(frequency_hz),
        fragment_interval_s=fragment_interval_ms / 1000,
    )
