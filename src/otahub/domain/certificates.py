"""Device certificates: what AWS IoT keeps of an X.509 certificate, its status rules, and otahub's own CA.

A certificate's id is the SHA-256 of its DER bytes (AWS's certificateId is that fingerprint). otahub
acts as the CA of CreateKeysAndCertificate (one CA key per data dir); certificates registered with
RegisterCertificate(WithoutCA) may come from anywhere and are recognised by their fingerprint.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from otahub.domain.errors import CertificateInvalid, CertificateState, InvalidInput

DEVICE_KEY_BITS = 2048  # what AWS's CreateKeysAndCertificate hands out
DEVICE_VALIDITY = timedelta(days=365 * 20)
CA_VALIDITY = timedelta(days=365 * 30)


class CertificateStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    REVOKED = "REVOKED"
    PENDING_TRANSFER = "PENDING_TRANSFER"
    REGISTER_INACTIVE = "REGISTER_INACTIVE"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"


SETTABLE = (CertificateStatus.ACTIVE, CertificateStatus.INACTIVE, CertificateStatus.REVOKED)


@dataclass(frozen=True, slots=True)
class Certificate:
    certificate_id: str
    pem: str
    status: CertificateStatus
    not_before: datetime
    not_after: datetime
    created_at: datetime
    updated_at: datetime
    ca_certificate_id: str | None = None
    customer_version: int = 1
    generation_id: str = ""

    def with_status(self, status: CertificateStatus, now: datetime, generation_id: str) -> Certificate:
        """UpdateCertificate: ACTIVE, INACTIVE or REVOKED; a revoked certificate stays revoked."""
        if status not in SETTABLE:
            raise InvalidInput(f"newStatus {status.value} cannot be set; use ACTIVE, INACTIVE or REVOKED",
                               field="newStatus")
        if self.status == CertificateStatus.REVOKED and status != CertificateStatus.REVOKED:
            raise CertificateState(f"Certificate {self.certificate_id} is REVOKED; it cannot become {status.value}")
        return replace(self, status=status, updated_at=now, customer_version=self.customer_version + 1,
                       generation_id=generation_id)

    def check_deletable(self) -> None:
        if self.status == CertificateStatus.ACTIVE:
            raise CertificateState(f"Certificate {self.certificate_id} is ACTIVE; deactivate it before deleting it")

    def usable(self, now: datetime) -> bool:
        """Whether a device may connect with it: ACTIVE and within its validity."""
        return self.status == CertificateStatus.ACTIVE and self.not_before <= now <= self.not_after


def certificate_id(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_pem(pem: str, field: str = "certificatePem") -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise CertificateInvalid(f"{field} is not a PEM X.509 certificate: {exc}", field=field) from exc


def check_issued_by(cert: x509.Certificate, ca: x509.Certificate) -> None:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CertificateInvalid("certificatePem is not signed by caCertificatePem", field="caCertificatePem") from exc


def check_valid_now(cert: x509.Certificate, now: datetime) -> None:
    if now > cert.not_valid_after_utc:
        raise CertificateInvalid(f"certificatePem expired on {cert.not_valid_after_utc:%Y-%m-%d}",
                                 field="certificatePem")


@dataclass(frozen=True, slots=True)
class Authority:
    """otahub's CA: signs the certificates CreateKeysAndCertificate makes."""

    key_pem: str
    cert_pem: str

    @staticmethod
    def generate(account_id: str, now: datetime) -> Authority:
        key = rsa.generate_private_key(public_exponent=65537, key_size=DEVICE_KEY_BITS)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "otahub"),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"otahub device CA {account_id}")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + CA_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .sign(key, hashes.SHA256()))
        return Authority(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM).decode())

    def issue(self, now: datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        """A new device key pair and its certificate, as CreateKeysAndCertificate returns them."""
        ca_key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        assert isinstance(ca_key, rsa.RSAPrivateKey)
        ca = x509.load_pem_x509_certificate(self.cert_pem.encode())
        key = rsa.generate_private_key(public_exponent=65537, key_size=DEVICE_KEY_BITS)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otahub device certificate")])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + DEVICE_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(ca_key, hashes.SHA256()))
        return cert, key


    def issue_server(self, hosts: Sequence[str], now: datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        """The device endpoint's TLS certificate for ``hosts`` (names and IP addresses), from this CA."""
        ca_key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        assert isinstance(ca_key, rsa.RSAPrivateKey)
        ca = x509.load_pem_x509_certificate(self.cert_pem.encode())
        key = rsa.generate_private_key(public_exponent=65537, key_size=DEVICE_KEY_BITS)
        names: list[x509.GeneralName] = [_general_name(host) for host in dict.fromkeys(hosts)]
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return cert, key


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    return _key_pem(key)


def key_pair_pems(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    """(public, private) PEM texts, as AWS's KeyPair carries them."""
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return public, _key_pem(key)


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
