"""The broker over TLS: a client certificate reaches the authenticator as DER."""

from __future__ import annotations

import datetime
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.codec import PacketReader, encode
from tests.unit.gateway.mqtt.broker_harness import TIMEOUT, RunningBroker


def _self_signed(directory: Path, name: str) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path, certificate.public_bytes(serialization.Encoding.DER)


def test_the_peer_certificate_reaches_the_authenticator(tmp_path: Path) -> None:
    server_cert, server_key, _ = _self_signed(tmp_path, "localhost")
    client_cert, client_key, client_der = _self_signed(tmp_path, "dev-1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(server_cert, server_key)
    server_context.verify_mode = ssl.CERT_REQUIRED
    server_context.load_verify_locations(client_cert)
    running = RunningBroker()
    try:
        port = running.run(running.broker.start("127.0.0.1", 0, ssl=server_context))
        client_context = ssl.create_default_context(cafile=str(server_cert))
        client_context.load_cert_chain(client_cert, client_key)
        with socket.create_connection(("127.0.0.1", port), TIMEOUT) as raw, \
                client_context.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.settimeout(TIMEOUT)
            sock.sendall(encode(p.Connect("dev-1"), p.MQTT_311))
            reader = PacketReader(p.MQTT_311)
            packets: list[p.Packet] = []
            while not packets:
                packets = reader.feed(sock.recv(65536))
            assert packets == [p.Connack(0)]
        assert running.users.certificates == [client_der]
    finally:
        running.close()
