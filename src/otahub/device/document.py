"""The device's view of a job: its execution as the Jobs API hands it over, and the ``afr_ota`` file it names."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

# The signature keys FreeRTOS PALs and clients read, best first; the value names (hash, signature) algorithms.
SIGNATURE_KEYS: dict[str, tuple[str, str]] = {
    "sig-sha256-ecdsa": ("SHA256", "ECDSA"),
    "sig-sha256-rsa": ("SHA256", "RSA"),
    "sig-sha1-rsa": ("SHA1", "RSA"),
    "sig-sha1-ecdsa": ("SHA1", "ECDSA"),
}


class DocumentError(ValueError):
    """The job document is not an afr_ota document the agent can act on."""


class JobGone(RuntimeError):
    """The service takes no more updates for this execution: canceled, timed out, removed or deleted."""


@dataclass(frozen=True, slots=True)
class Execution:
    """One job execution as the device sees it (JobExecution of ``iot-jobs-data`` / the jobs topics)."""

    job_id: str
    status: str
    status_details: dict[str, str] = field(default_factory=dict)
    document: str | None = None
    version_number: int = 0
    execution_number: int = 0


@dataclass(frozen=True, slots=True)
class Signature:
    key: str  # e.g. sig-sha256-ecdsa
    hash_algorithm: str  # SHA1 | SHA256
    signature_algorithm: str  # ECDSA | RSA
    value: bytes  # DER (ECDSA) or PKCS#1 v1.5 (RSA) signature over the file


@dataclass(frozen=True, slots=True)
class OtaFile:
    """The first file of an ``afr_ota`` document (the FreeRTOS agent handles one)."""

    protocols: tuple[str, ...]
    size: int
    file_id: int
    file_type: int
    filepath: str | None
    certfile: str | None
    url: str | None
    signature: Signature | None
    stream: str | None = None  # afr_ota.streamname: the MQTT stream that carries the file (fileid in it)


def parse_document(text: str | None) -> OtaFile:
    """The ``afr_ota`` file of a job document (a JSON string over HTTP); DocumentError when it is not one."""
    if text is None:
        raise DocumentError("the execution carries no job document")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise DocumentError(f"the job document is not JSON: {exc}") from exc
    ota = document.get("afr_ota") if isinstance(document, dict) else None
    if not isinstance(ota, dict):
        raise DocumentError("the job document has no afr_ota object")
    protocols, files = ota.get("protocols"), ota.get("files")
    if not isinstance(protocols, list) or not all(isinstance(p, str) for p in protocols):
        raise DocumentError("afr_ota.protocols must be a list of strings")
    if not isinstance(files, list) or not files or not isinstance(files[0], dict):
        raise DocumentError("afr_ota.files must hold a file")
    entry: dict[str, Any] = files[0]
    return OtaFile(
        protocols=tuple(protocols), size=_uint(entry, "filesize"), file_id=_uint(entry, "fileid"),
        file_type=_uint(entry, "fileType", 0), filepath=_text(entry, "filepath"), certfile=_text(entry, "certfile"),
        url=_text(entry, "update_data_url"), signature=_signature(entry), stream=_text(ota, "streamname"),
    )


def _uint(entry: dict[str, Any], key: str, default: int | None = None) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise DocumentError(f"afr_ota file {key} must be an unsigned 32-bit number")
    return value


def _text(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise DocumentError(f"afr_ota file {key} must be a string")
    return value


def _signature(entry: dict[str, Any]) -> Signature | None:
    for key, (hash_algorithm, signature_algorithm) in SIGNATURE_KEYS.items():
        value = entry.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DocumentError(f"afr_ota file {key} must be a base64 string")
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise DocumentError(f"afr_ota file {key} is not base64") from exc
        return Signature(key, hash_algorithm, signature_algorithm, raw)
    return None
