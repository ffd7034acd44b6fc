"""Device identity through boto3: certificates made by otahub or registered, their statuses, principals."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.e2e.test_things import error_of
from tests.harness import OtahubServer

ARN = "arn:aws:iot:us-east-1:123456789012:cert/{}"


def self_signed(name: str, *, ca: bool = False, days: int = 30) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def issued_by(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(ca_key, hashes.SHA256()))


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def test_create_keys_and_certificate(iot: Any) -> None:
    made = iot.create_keys_and_certificate(setAsActive=True)
    cert = x509.load_pem_x509_certificate(made["certificatePem"].encode())
    assert made["certificateId"] == fingerprint(cert)
    assert made["certificateArn"] == ARN.format(made["certificateId"])
    key = serialization.load_pem_private_key(made["keyPair"]["PrivateKey"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    described = iot.describe_certificate(certificateId=made["certificateId"])["certificateDescription"]
    assert (described["status"], described["ownedBy"], described["certificateMode"]) == (
        "ACTIVE", "123456789012", "DEFAULT")
    assert described["certificatePem"] == made["certificatePem"]
    assert described["validity"]["notAfter"] > described["validity"]["notBefore"]
    second = iot.create_keys_and_certificate()
    assert iot.describe_certificate(certificateId=second["certificateId"])["certificateDescription"]["status"] == \
        "INACTIVE"
    issuer = x509.load_pem_x509_certificate(second["certificatePem"].encode()).issuer
    assert issuer == cert.issuer  # one otahub CA signs them all


def test_register_with_and_without_ca(iot: Any) -> None:
    ca_key, ca = self_signed("fleet CA", ca=True)
    device = issued_by(ca_key, ca, "device 1")
    registered = iot.register_certificate(certificatePem=pem(device), caCertificatePem=pem(ca), status="ACTIVE")
    assert registered["certificateId"] == fingerprint(device)
    described = iot.describe_certificate(certificateId=registered["certificateId"])["certificateDescription"]
    assert (described["status"], described["caCertificateId"]) == ("ACTIVE", fingerprint(ca))
    with pytest.raises(ClientError) as excinfo:
        iot.register_certificate(certificatePem=pem(device), caCertificatePem=pem(ca))
    assert error_of(excinfo) == ("ResourceAlreadyExistsException", 409)
    _, stranger = self_signed("not the CA", ca=True)
    with pytest.raises(ClientError) as excinfo:
        iot.register_certificate(certificatePem=pem(issued_by(ca_key, ca, "device 2")), caCertificatePem=pem(stranger))
    assert error_of(excinfo) == ("CertificateValidationException", 400)
    _, loose = self_signed("device without a CA")
    alone = iot.register_certificate_without_ca(certificatePem=pem(loose))
    assert iot.describe_certificate(certificateId=alone["certificateId"])["certificateDescription"]["status"] == \
        "INACTIVE"
    with pytest.raises(ClientError) as excinfo:
        iot.register_certificate_without_ca(certificatePem="-----BEGIN CERTIFICATE-----\nno\n-----END CERTIFICATE-----")
    assert error_of(excinfo) == ("CertificateValidationException", 400)


def test_status_rules_and_delete(iot: Any, unique: str) -> None:
    made = iot.create_keys_and_certificate(setAsActive=True)
    cert_id, arn = made["certificateId"], made["certificateArn"]
    with pytest.raises(ClientError) as excinfo:
        iot.delete_certificate(certificateId=cert_id)
    assert error_of(excinfo) == ("CertificateStateException", 406)
    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
    described = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert (described["status"], described["customerVersion"]) == ("INACTIVE", 2)
    iot.create_thing(thingName=f"cert-{unique}")
    iot.attach_thing_principal(thingName=f"cert-{unique}", principal=arn)
    with pytest.raises(ClientError) as excinfo:
        iot.delete_certificate(certificateId=cert_id)
    assert error_of(excinfo) == ("DeleteConflictException", 409)
    iot.update_certificate(certificateId=cert_id, newStatus="REVOKED")
    with pytest.raises(ClientError) as excinfo:
        iot.update_certificate(certificateId=cert_id, newStatus="ACTIVE")
    assert error_of(excinfo) == ("CertificateStateException", 406)
    iot.detach_thing_principal(thingName=f"cert-{unique}", principal=arn)
    iot.delete_certificate(certificateId=cert_id)
    with pytest.raises(ClientError) as excinfo:
        iot.describe_certificate(certificateId=cert_id)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_principals_of_things_and_things_of_principals(iot: Any, unique: str) -> None:
    first, second = (iot.create_keys_and_certificate(setAsActive=True)["certificateArn"] for _ in range(2))
    for n in range(2):
        iot.create_thing(thingName=f"pr-{unique}-{n}")
    iot.attach_thing_principal(thingName=f"pr-{unique}-0", principal=first)
    iot.attach_thing_principal(thingName=f"pr-{unique}-0", principal=second)
    iot.attach_thing_principal(thingName=f"pr-{unique}-1", principal=first)
    assert iot.list_thing_principals(thingName=f"pr-{unique}-0")["principals"] == [first, second]
    assert iot.list_principal_things(principal=first)["things"] == [f"pr-{unique}-0", f"pr-{unique}-1"]
    with pytest.raises(ClientError) as excinfo:  # first is shared: it cannot become exclusive
        iot.attach_thing_principal(thingName=f"pr-{unique}-0", principal=first, thingPrincipalType="EXCLUSIVE_THING")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    third = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
    iot.attach_thing_principal(thingName=f"pr-{unique}-1", principal=third, thingPrincipalType="EXCLUSIVE_THING")
    with pytest.raises(ClientError) as excinfo:
        iot.attach_thing_principal(thingName=f"pr-{unique}-0", principal=third)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    iot.detach_thing_principal(thingName=f"pr-{unique}-0", principal=second)
    assert iot.list_thing_principals(thingName=f"pr-{unique}-0")["principals"] == [first]
    with pytest.raises(ClientError) as excinfo:
        iot.attach_thing_principal(thingName=f"ghost-{unique}", principal=first)
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        iot.attach_thing_principal(thingName=f"pr-{unique}-0", principal=ARN.format("0" * 64))
    assert error_of(excinfo) == ("ResourceNotFoundException", 404)


def test_list_certificates_pages_in_both_orders(iot: Any) -> None:
    made = [iot.create_keys_and_certificate()["certificateId"] for _ in range(3)]
    newest_first: list[str] = []
    for page in iot.get_paginator("list_certificates").paginate(PaginationConfig={"PageSize": 2}):
        newest_first += [c["certificateId"] for c in page["certificates"]]
    assert newest_first.index(made[2]) < newest_first.index(made[1]) < newest_first.index(made[0])
    oldest_first: list[str] = []
    for page in iot.get_paginator("list_certificates").paginate(ascendingOrder=True,
                                                                 PaginationConfig={"PageSize": 2}):
        oldest_first += [c["certificateId"] for c in page["certificates"]]
    assert oldest_first == list(reversed(newest_first))


def test_describe_endpoint(server: OtahubServer, iot: Any) -> None:
    host = server.endpoint.removeprefix("http://")
    assert iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"] == "127.0.0.1"
    assert iot.describe_endpoint()["endpointAddress"] == "127.0.0.1"
    assert iot.describe_endpoint(endpointType="iot:Jobs")["endpointAddress"] == host
    with pytest.raises(ClientError) as excinfo:
        iot.describe_endpoint(endpointType="iot:Nothing")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
