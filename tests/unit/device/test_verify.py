"""Code-signature checks against the device's trusted signer certificates (ECDSA P-256, RSA 2048)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from otahub.device.document import DocumentError, OtaFile, parse_document
from otahub.device.status import (
    INGEST_RESULT_BAD_DATA,
    INGEST_RESULT_FILE_CLOSE_FAIL,
    INGEST_RESULT_SIG_CHECK_FAIL,
    OTA_PAL_BAD_SIGNER_CERT,
    OTA_PAL_SIGNATURE_CHECK_FAILED,
    pal_status,
)
from otahub.device.verify import check_image

IMAGE = b"\x7fELF image under test " * 300
Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def certificate(key: Key) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device test signer")])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))


def sign(key: Key, data: bytes, hash_name: str) -> bytes:
    algorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA1()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(algorithm))
    return key.sign(data, padding.PKCS1v15(), algorithm)


def spec(signature_key: str, signature: bytes, certfile: str | None = "signer.crt", size: int = len(IMAGE)) -> OtaFile:
    entry: dict[str, object] = {"filepath": "fw.bin", "filesize": size, "fileid": 0,
                                "update_data_url": "http://x/fw", signature_key: base64.b64encode(signature).decode()}
    if certfile is not None:
        entry["certfile"] = certfile
    return parse_document(json.dumps({"afr_ota": {"protocols": ["HTTP"], "files": [entry]}}))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "image.part"
    path.write_bytes(IMAGE)
    return path


CASES = [("ecdsa", "sha256"), ("ecdsa", "sha1"), ("rsa", "sha256"), ("rsa", "sha1")]


def make_key(kind: str) -> Key:
    return ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa" else rsa.generate_private_key(65537, 2048)


@pytest.mark.parametrize(("kind", "hash_name"), CASES)
def test_good_bad_and_other_file_signatures(tmp_path: Path, image: Path, kind: str, hash_name: str) -> None:
    key = make_key(kind)
    certs = tmp_path / "certs"
    certs.mkdir()
    pem = certificate(key).public_bytes(serialization.Encoding.PEM)
    (certs / "signer.crt").write_bytes(pem)
    signature_key = f"sig-{hash_name}-{kind}"
    assert check_image(image, spec(signature_key, sign(key, IMAGE, hash_name)), certs) is None
    for signature in (sign(key, b"some other file", hash_name), b"\x30\x06garbage", b""):
        problem = check_image(image, spec(signature_key, signature), certs)
        assert problem is not None and "does not verify" in problem.message
        assert (problem.error, problem.sub_error) == (pal_status(OTA_PAL_SIGNATURE_CHECK_FAILED),
                                                      INGEST_RESULT_SIG_CHECK_FAIL)
    other = make_key(kind)  # signed by someone the device does not trust
    assert check_image(image, spec(signature_key, sign(other, IMAGE, hash_name)), certs) is not None


def test_der_certificates_and_certfile_paths(tmp_path: Path, image: Path) -> None:
    key = make_key("ecdsa")
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "signer.der").write_bytes(certificate(key).public_bytes(serialization.Encoding.DER))
    good = sign(key, IMAGE, "sha256")
    assert check_image(image, spec("sig-sha256-ecdsa", good, "/certs/signer.der"), certs) is None
    assert check_image(image, spec("sig-sha256-ecdsa", good, certfile=None), certs) is None  # the only one
    for certfile in ("missing.crt", "../certs/../outside.crt"):
        problem = check_image(image, spec("sig-sha256-ecdsa", good, certfile), certs)
        assert problem is not None
        bad_signer = (pal_status(OTA_PAL_BAD_SIGNER_CERT), INGEST_RESULT_FILE_CLOSE_FAIL)
        assert (problem.error, problem.sub_error) == bad_signer
    (certs / "junk.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    assert check_image(image, spec("sig-sha256-ecdsa", good, "junk.crt"), certs) is not None
    assert check_image(image, spec("sig-sha256-ecdsa", good, certfile=None), certs) is not None  # now ambiguous


def test_wrong_key_type_size_and_missing_signature(tmp_path: Path, image: Path) -> None:
    rsa_key = make_key("rsa")
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "signer.crt").write_bytes(certificate(rsa_key).public_bytes(serialization.Encoding.PEM))
    problem = check_image(image, spec("sig-sha256-ecdsa", sign(rsa_key, IMAGE, "sha256")), certs)
    assert problem is not None and "not an ECDSA key" in problem.message
    problem = check_image(image, spec("sig-sha256-rsa", sign(rsa_key, IMAGE, "sha256"), size=len(IMAGE) + 1), certs)
    assert problem is not None and problem.sub_error == INGEST_RESULT_BAD_DATA
    unsigned = parse_document(json.dumps({"afr_ota": {"protocols": ["HTTP"], "files": [
        {"filesize": len(IMAGE), "fileid": 0}]}}))
    problem = check_image(image, unsigned, certs)
    assert problem is not None and "no sig-" in problem.message


@pytest.mark.parametrize("text", [None, "not json", "{}", '{"afr_ota": {"protocols": ["HTTP"], "files": []}}',
                                  '{"afr_ota": {"protocols": ["HTTP"], "files": [{"filesize": -1, "fileid": 0}]}}',
                                  '{"afr_ota": {"protocols": "HTTP", "files": [{"filesize": 1, "fileid": 0}]}}',
                                  '{"afr_ota": {"protocols": [], "files": [{"filesize": 1, "fileid": 0,'
                                  ' "sig-sha256-ecdsa": "***"}]}}'])
def test_documents_the_agent_cannot_use(text: str | None) -> None:
    with pytest.raises(DocumentError):
        parse_document(text)
