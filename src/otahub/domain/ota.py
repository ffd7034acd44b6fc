"""OTA updates: the files and code signing of CreateOTAUpdate, their lifecycle, and the `afr_ota` job
document the FreeRTOS OTA agent parses. Pure Python; the document is built as a dict.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from otahub.domain.errors import InvalidInput
from otahub.domain.jobs import JobConfig
from otahub.domain.streams import S3Location

MAX_FILES = 50
JOB_PREFIX = "AFR_OTA-"
MAX_JOB_ID = 64
OTA_PRESIGNED_EXPIRY = 1800  # AWS's default for OTA updates (plain jobs: 3600)
MAX_SIGNATURE_BYTES = 384  # the FreeRTOS OTA agent's buffer (kOTA_MaxSignatureSize): RSA-3072
HASH_ALGORITHMS = ("SHA1", "SHA256")
SIGNATURE_ALGORITHMS = ("RSA", "ECDSA")


class OtaStatus(StrEnum):
    CREATE_PENDING = "CREATE_PENDING"
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    CREATE_FAILED = "CREATE_FAILED"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_FAILED = "DELETE_FAILED"


@dataclass(frozen=True, slots=True)
class StreamRef:
    stream_id: str
    file_id: int


@dataclass(frozen=True, slots=True)
class CustomSigning:
    signature: bytes | None = None
    certificate_name: str | None = None
    certificate_pem: str | None = None
    hash_algorithm: str | None = None
    signature_algorithm: str | None = None

    @property
    def document_key(self) -> str:
        """The job document's key for the signature, e.g. sig-sha256-ecdsa (FreeRTOS PAL naming)."""
        return f"sig-{(self.hash_algorithm or '').lower()}-{(self.signature_algorithm or '').lower()}"


@dataclass(frozen=True, slots=True)
class CodeSigning:
    """Exactly one of the three forms of the model (an empty CodeSigning means: not signed)."""

    signer_job_id: str | None = None
    start_signing: Mapping[str, Any] | None = None  # as given; needs the signer service
    custom: CustomSigning | None = None

    @property
    def given(self) -> bool:
        return any(x is not None for x in (self.signer_job_id, self.start_signing, self.custom))


@dataclass(frozen=True, slots=True)
class OtaFile:
    file_name: str | None = None
    file_type: int | None = None
    file_version: str | None = None
    stream: StreamRef | None = None
    s3: S3Location | None = None
    signing: CodeSigning = field(default_factory=CodeSigning)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class OtaUpdate:
    ota_update_id: str
    targets: tuple[str, ...]
    files: tuple[OtaFile, ...]
    role_arn: str
    status: OtaStatus
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    protocols: tuple[str, ...] = ("MQTT",)
    target_selection: str = "SNAPSHOT"
    config: JobConfig = field(default_factory=JobConfig)
    additional_parameters: Mapping[str, str] = field(default_factory=dict)
    job_id: str | None = None
    stream_id: str | None = None
    stream_created: bool = False  # otahub made the stream (deleteStream may remove it)
    error: ErrorInfo | None = None

    @property
    def expected_job_id(self) -> str:
        return JOB_PREFIX + self.ota_update_id


def check_request(ota_update_id: str, files: Sequence[OtaFile], protocols: Sequence[str]) -> None:
    """What the wire model cannot say and AWS refuses at once (400), before anything is written."""
    if len(JOB_PREFIX + ota_update_id) > MAX_JOB_ID:
        raise InvalidInput(
            f"otaUpdateId {ota_update_id!r} is too long: its job {JOB_PREFIX}{ota_update_id} would exceed "
            f"{MAX_JOB_ID} characters (use at most {MAX_JOB_ID - len(JOB_PREFIX)})", field="otaUpdateId")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"files has {len(files)} members; at most {MAX_FILES}", field="files")
    if len(set(protocols)) != len(protocols):
        raise InvalidInput("protocols lists a protocol twice", field="protocols")
    for index, file in enumerate(files, start=1):
        where = f"files.{index}"
        if (file.stream is None) == (file.s3 is None):
            raise InvalidInput(f"{where}.fileLocation needs exactly one of stream and s3Location",
                               field=f"{where}.fileLocation")
        signing = file.signing
        forms = [x for x in (signing.signer_job_id, signing.start_signing, signing.custom) if x is not None]
        if len(forms) > 1:
            raise InvalidInput(f"{where}.codeSigning takes one of awsSignerJobId, startSigningJobParameter and "
                               "customCodeSigning", field=f"{where}.codeSigning")


def signing_problem(signing: CodeSigning) -> str | None:
    """Why the signature material cannot be used, or None. (Verification against the file is separate.)"""
    if signing.signer_job_id is not None or signing.start_signing is not None:
        form = "awsSignerJobId" if signing.signer_job_id is not None else "startSigningJobParameter"
        return f"codeSigning.{form} needs the code-signing service, which this otahub does not run yet"
    custom = signing.custom
    if custom is None:
        return None
    if not custom.signature:
        return "customCodeSigning.signature.inlineDocument is missing or empty"
    if len(custom.signature) > MAX_SIGNATURE_BYTES:
        return (f"customCodeSigning signature is {len(custom.signature)} bytes; devices accept at most "
                f"{MAX_SIGNATURE_BYTES}")
    if custom.hash_algorithm not in HASH_ALGORITHMS:
        return f"customCodeSigning.hashAlgorithm must be one of {', '.join(HASH_ALGORITHMS)}"
    if custom.signature_algorithm not in SIGNATURE_ALGORITHMS:
        return f"customCodeSigning.signatureAlgorithm must be one of {', '.join(SIGNATURE_ALGORITHMS)}"
    return None


@dataclass(frozen=True, slots=True)
class ResolvedFile:
    """A file ready for the job document: where devices get it and what it is."""

    file: OtaFile
    file_id: int
    size: int
    location: S3Location  # the object (for the HTTP presigned URL)


def presigned_placeholder(location: S3Location, version_id: str | None) -> str:
    url = f"https://s3.amazonaws.com/{location.bucket}/{location.key}"
    if version_id and version_id != "null":
        url += f"?versionId={version_id}"
    return "${aws:iot:s3-presigned-url:" + url + "}"


def job_document(protocols: Sequence[str], stream_id: str | None, files: Sequence[ResolvedFile],
                 versions: Mapping[int, str]) -> dict[str, Any]:
    """The `afr_ota` document, keys in the order AWS writes them."""
    entries = []
    for resolved in files:
        file = resolved.file
        entry: dict[str, Any] = {"filepath": file.file_name or resolved.location.key, "filesize": resolved.size,
                                 "fileid": resolved.file_id}
        custom = file.signing.custom
        if custom is not None and custom.certificate_name:
            entry["certfile"] = custom.certificate_name
        if file.file_type is not None:
            entry["fileType"] = file.file_type
        if "HTTP" in protocols:
            entry["update_data_url"] = presigned_placeholder(resolved.location, versions.get(resolved.file_id))
            entry["auth_scheme"] = "aws.s3.presigned"
        if custom is not None and custom.signature:
            entry[custom.document_key] = base64.b64encode(custom.signature).decode()
        entries.append(entry)
    body: dict[str, Any] = {"protocols": list(protocols)}
    if "MQTT" in protocols and stream_id is not None:
        body["streamname"] = stream_id
    body["files"] = entries
    return {"afr_ota": body}
