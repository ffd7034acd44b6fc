"""The FreeRTOS OTA agent's progress and result reports, string for string (ota-update-job.md section 4).

Version words pack ``major<<24 | minor<<16 | build`` (``ota_appversion32.h``) and travel as ``0x%08x``.
The error codes are FreeRTOS OTA v3's: ``OtaErr_t`` (ota.h), the PAL's main status in the top byte of
``OtaPalStatus_t`` (ota_platform_interface.h) and ``IngestResult_t`` (ota_private.h), sent as unsigned
32-bit words, so ``IngestResultSigCheckFail`` (-2) reads ``0xfffffffe``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Details = dict[str, str]

# OtaErr_t
OTA_ERR_NONE = 0
OTA_ERR_JOB_PARSER_ERROR = 12
OTA_ERR_INVALID_DATA_PROTOCOL = 13
OTA_ERR_MOMENTUM_ABORT = 14
OTA_ERR_DOWNGRADE_NOT_ALLOWED = 15
OTA_ERR_SAME_FIRMWARE_VERSION = 16
OTA_ERR_IMAGE_STATE_MISMATCH = 17
OTA_ERR_ACTIVATE_FAILED = 22

# OtaPalMainStatus_t (the top byte of an OtaPalStatus_t)
OTA_PAL_SIGNATURE_CHECK_FAILED = 0xE3
OTA_PAL_RX_FILE_TOO_LARGE = 0xE5
OTA_PAL_BAD_SIGNER_CERT = 0xE7
OTA_PAL_FILE_CLOSE = 0xEE

# IngestResult_t
INGEST_RESULT_SIG_CHECK_FAIL = -2
INGEST_RESULT_FILE_CLOSE_FAIL = -3
INGEST_RESULT_BAD_DATA = -8

# The reason OTA_SetImageState(OtaImageStateRejected) sends when the application's self-test fails.
SELF_TEST_REJECTED = 0

UPDATE_STATUS_FREQUENCY = 64  # otaconfigOTA_UPDATE_STATUS_FREQUENCY: report every 64 blocks (and the first)

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True, order=True)
class AppVersion:
    """An application version as the OTA library packs it: 8-bit major and minor, 16-bit build."""

    major: int
    minor: int
    build: int

    def __post_init__(self) -> None:
        if not (0 <= self.major <= 0xFF and 0 <= self.minor <= 0xFF and 0 <= self.build <= 0xFFFF):
            raise ValueError(f"version {self.major}.{self.minor}.{self.build} does not fit a 32-bit version word")

    @classmethod
    def parse(cls, text: str) -> AppVersion:
        """``major.minor.build``, e.g. ``1.2.0``; ValueError otherwise."""
        match = _VERSION.fullmatch(text.strip().removeprefix("v"))
        if match is None:
            raise ValueError(f"not a major.minor.build version: {text!r}")
        return cls(*(int(part) for part in match.groups()))

    @classmethod
    def from_word(cls, word: int) -> AppVersion:
        return cls((word >> 24) & 0xFF, (word >> 16) & 0xFF, word & 0xFFFF)

    @property
    def word(self) -> int:
        return self.major << 24 | self.minor << 16 | self.build

    def next_build(self) -> AppVersion:
        return AppVersion(self.major, self.minor, self.build + 1)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}"


def _hex(value: int) -> str:
    return f"0x{value & 0xFFFFFFFF:08x}"


def pal_status(main: int, sub: int = 0) -> int:
    """OTA_PAL_COMBINE_ERR: the main status in the top byte, a 24-bit sub code below it."""
    return (main & 0xFF) << 24 | (sub & 0xFFFFFF)


def should_report_block(received: int) -> bool:
    """FreeRTOS reports the first block and then every UPDATE_STATUS_FREQUENCY blocks."""
    return received == 1 or received % UPDATE_STATUS_FREQUENCY == 0


def receive(received: int, total: int) -> Details:
    return {"receive": f"{received}/{total}"}


def self_test_ready(running: AppVersion) -> Details:
    """The file is complete and its signature checked; ``running`` is the (old) image about to reboot."""
    return {"self_test": "ready", "updatedBy": _hex(running.word)}


def self_test_active(running: AppVersion) -> Details:
    """The new image booted and is testing itself; ``running`` is its version."""
    return {"self_test": "active", "updatedBy": _hex(running.word)}


def accepted(new: AppVersion, old: AppVersion) -> Details:
    return {"reason": f"accepted  v{new}", "updatedBy": f"  v{old}"}


def rejected(reason: int) -> Details:
    return {"reason": f"rejected: {_hex(reason)}"}


def aborted(reason: int) -> Details:
    return {"reason": f"aborted: {_hex(reason)}"}


def failed(error: int, sub_error: int) -> Details:
    return {"reason": f"{_hex(error)}: {_hex(sub_error)}"}


def parse_updated_by(text: str | None) -> int | None:
    """``updatedBy`` as FreeRTOS reads it, ``strtoul(text, NULL, 0)``: hex with 0x, octal with 0, else decimal."""
    if text is None:
        return None
    stripped = text.strip().lower()
    try:
        if stripped.startswith("0x"):
            return int(stripped[2:], 16) & 0xFFFFFFFF
        if stripped.startswith("0") and len(stripped) > 1:
            return int(stripped[1:], 8) & 0xFFFFFFFF
        return int(stripped, 10) & 0xFFFFFFFF
    except ValueError:
        return None
