"""Code-signing checks: does a signature over a file's digest verify with the signer's certificate.

The certificate may be PEM text, or base64 of PEM or DER (AWS documents the inline certificate chain
as base64). Only the leaf (first) certificate is used; chains are not validated against a root.
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}


def load_certificate(text: str) -> x509.Certificate:
    """The first certificate of a PEM, base64-PEM or base64-DER text; ValueError if none is there."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        return x509.load_pem_x509_certificate(stripped.encode())
    try:
        raw = base64.b64decode(stripped, validate=True)
    except binascii.Error as exc:
        raise ValueError("the certificate is neither PEM nor base64") from exc
    if raw.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def signature_problem(certificate: str, signature: bytes, hash_algorithm: str, signature_algorithm: str,
                      digest: bytes) -> str | None:
    """Why the signature does not verify over ``digest`` (the file's hash), or None when it does."""
    try:
        key = load_certificate(certificate).public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return f"the certificate cannot be read: {exc}"
    chosen = Prehashed(_HASHES[hash_algorithm]())
    try:
        if signature_algorithm == "ECDSA":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return "the certificate's key is not an ECDSA key"
            key.verify(signature, digest, ec.ECDSA(chosen))
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                return "the certificate's key is not an RSA key"
            key.verify(signature, digest, padding.PKCS1v15(), chosen)
    except InvalidSignature:
        return f"the {hash_algorithm}-{signature_algorithm} signature does not verify with the certificate"
    return None
