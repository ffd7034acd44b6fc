"""Is a downloaded image the one the job names: its size, and its code signature under a trusted signer.

As on FreeRTOS, the verifying certificate lives on the device: the agent holds a directory of trusted
signer certificates (PEM or DER) and takes the one whose file name is the document's ``certfile`` (its
last path component, so a document cannot point outside the directory). A document without ``certfile``
uses the directory's only certificate, as a PAL falls back to its one built-in certificate.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.exceptions import UnsupportedAlgorithm

from otahub.device.document import OtaFile
from otahub.device.status import (
    INGEST_RESULT_BAD_DATA,
    INGEST_RESULT_FILE_CLOSE_FAIL,
    INGEST_RESULT_SIG_CHECK_FAIL,
    OTA_PAL_BAD_SIGNER_CERT,
    OTA_PAL_FILE_CLOSE,
    OTA_PAL_SIGNATURE_CHECK_FAILED,
    pal_status,
)
from otahub.domain.signing import load_certificate, signature_problem

_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class ImageProblem:
    """Why an image is refused, with the (close result, ingest result) pair FreeRTOS reports for it."""

    message: str
    error: int
    sub_error: int


def file_digest(path: Path, hash_algorithm: str) -> bytes:
    digest = hashlib.new(hash_algorithm.lower())
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.digest()


def signer_certificate(certs_dir: Path, certfile: str | None) -> str:
    """The trusted certificate for ``certfile`` as PEM or base64-DER text; ValueError if there is none."""
    if certfile:
        name = PurePosixPath(certfile.replace("\\", "/")).name
        candidates = [certs_dir / name] if name not in ("", ".", "..") else []
    else:
        candidates = sorted(p for p in certs_dir.iterdir() if p.is_file()) if certs_dir.is_dir() else []
        if len(candidates) != 1:
            raise ValueError(f"the document names no certfile and {certs_dir} does not hold exactly one certificate")
    if not candidates or not candidates[0].is_file():
        raise ValueError(f"no trusted signer certificate {certfile!r} in {certs_dir}")
    raw = candidates[0].read_bytes()
    text = raw.decode("ascii", errors="replace") if raw.lstrip().startswith(b"-----BEGIN") else (
        base64.b64encode(raw).decode())
    try:
        load_certificate(text)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"{candidates[0]} is not a certificate: {exc}") from exc
    return text


def check_image(image: Path, spec: OtaFile, certs_dir: Path) -> ImageProblem | None:
    """None when ``image`` has the document's size and its signature verifies with the trusted signer."""
    size = image.stat().st_size
    if size != spec.size:
        return ImageProblem(f"the image has {size} bytes, the document says {spec.size}",
                            pal_status(OTA_PAL_FILE_CLOSE), INGEST_RESULT_BAD_DATA)
    if spec.signature is None:
        return ImageProblem("the document carries no sig-<hash>-<algorithm> signature",
                            pal_status(OTA_PAL_SIGNATURE_CHECK_FAILED), INGEST_RESULT_SIG_CHECK_FAIL)
    try:
        certificate = signer_certificate(certs_dir, spec.certfile)
    except (OSError, ValueError) as exc:
        return ImageProblem(str(exc), pal_status(OTA_PAL_BAD_SIGNER_CERT), INGEST_RESULT_FILE_CLOSE_FAIL)
    signature = spec.signature
    digest = file_digest(image, signature.hash_algorithm)
    problem = signature_problem(certificate, signature.value, signature.hash_algorithm,
                                signature.signature_algorithm, digest)
    if problem is not None:
        return ImageProblem(f"{signature.key}: {problem}", pal_status(OTA_PAL_SIGNATURE_CHECK_FAILED),
                            INGEST_RESULT_SIG_CHECK_FAIL)
    return None
