"""Use cases of device identity: certificates (made, registered, activated, revoked, deleted) and the
principals attached to things. The device endpoint asks `things_for_certificate` who a TLS client is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from otahub.domain.certificates import (
    Authority,
    Certificate,
    CertificateStatus,
    cert_pem,
    certificate_id,
    check_issued_by,
    check_valid_now,
    key_pair_pems,
    load_pem,
    private_key_pem,
)
from otahub.domain.clock import Clock
from otahub.domain.errors import AlreadyExists, DeleteConflict, InvalidInput, NotFound
from otahub.domain.ids import Arns, new_uuid
from otahub.services.pagination import Page, paginate
from otahub.services.ports import UnitOfWork, UnitOfWorkFactory

CA_NAME = "device-ca"


@dataclass(frozen=True, slots=True)
class NewCertificate:
    """CreateKeysAndCertificate's answer: the only time the private key is ever seen."""

    certificate: Certificate
    public_key_pem: str
    private_key_pem: str


class CertificateService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, arns: Arns) -> None:
        self.uow = uow
        self.clock = clock
        self.arns = arns
        self.on_new: list[Callable[[str], None]] = []  # told each new certificate's PEM (the TLS trust store)

    # --- certificates ---------------------------------------------------------------------------

    def create_keys_and_certificate(self, active: bool) -> NewCertificate:
        now = self.clock.now()
        cert, key = self.authority().issue(now)
        public, private = key_pair_pems(key)
        status = CertificateStatus.ACTIVE if active else CertificateStatus.INACTIVE
        record = self._record(cert_pem(cert), status, None)
        with self.uow(write=True) as tx:
            tx.certificates.add(record)
        self._announce(record)
        return NewCertificate(record, public, private)

    def register(self, pem: str, ca_pem: str | None, status: CertificateStatus) -> Certificate:
        """RegisterCertificate (with the CA that signed it) or RegisterCertificateWithoutCA."""
        cert = load_pem(pem)
        check_valid_now(cert, self.clock.now())
        ca_id = None
        if ca_pem is not None:
            ca = load_pem(ca_pem, "caCertificatePem")
            check_issued_by(cert, ca)
            ca_id = certificate_id(ca)
        record = self._record(pem, status, ca_id)
        with self.uow(write=True) as tx:
            if tx.certificates.get(record.certificate_id) is not None:
                raise AlreadyExists("Certificate", record.certificate_id, record.certificate_id,
                                    self.arns.certificate(record.certificate_id))
            tx.certificates.add(record)
        self._announce(record)
        return record

    def _announce(self, record: Certificate) -> None:
        for listener in self.on_new:
            listener(record.pem)

    def trust_bundle(self) -> str:
        """PEM text of everything a device certificate may chain to: otahub's CA and every known
        certificate itself (so certificates registered without their CA are anchors of their own)."""
        pems = [self.authority().cert_pem]
        with self.uow() as tx:
            after = 0
            while rows := tx.certificates.page(True, after, 500):
                pems += [cert.pem for _, cert in rows]
                after = rows[-1][0]
        return "".join(pem if pem.endswith("\n") else pem + "\n" for pem in pems)

    def server_identity(self, hosts: Sequence[str]) -> tuple[str, str]:
        """(certificate PEM, private key PEM) for the device endpoint, issued by otahub's CA."""
        cert, key = self.authority().issue_server(hosts, self.clock.now())
        return cert_pem(cert), private_key_pem(key)

    def _record(self, pem: str, status: CertificateStatus, ca_id: str | None) -> Certificate:
        cert = load_pem(pem)
        now = self.clock.now()
        return Certificate(certificate_id(cert), pem, status, cert.not_valid_before_utc, cert.not_valid_after_utc,
                           now, now, ca_id, 1, new_uuid())

    def describe(self, certificate_id_: str) -> Certificate:
        with self.uow() as tx:
            return _certificate(tx, certificate_id_)

    def list_certificates(self, ascending: bool, token: str | None, page_size: int | None) -> Page[Certificate]:
        with self.uow() as tx:
            return paginate(lambda after, n: tx.certificates.page(ascending, after, n), token, page_size,
                            "certificates", ascending)

    def update_status(self, certificate_id_: str, status: CertificateStatus) -> Certificate:
        with self.uow(write=True) as tx:
            updated = _certificate(tx, certificate_id_).with_status(status, self.clock.now(), new_uuid())
            tx.certificates.save(updated)
            return updated

    def delete(self, certificate_id_: str) -> None:
        with self.uow(write=True) as tx:
            cert = _certificate(tx, certificate_id_)
            cert.check_deletable()
            attached = tx.principals.things_of(self.arns.certificate(cert.certificate_id))
            if attached:
                names = ", ".join(thing for thing, _ in attached)
                raise DeleteConflict(f"Certificate {cert.certificate_id} is attached to {names}; detach it first")
            tx.certificates.delete(cert.certificate_id)

    def authority(self) -> Authority:
        """otahub's CA for this data dir, made on first use."""
        with self.uow() as tx:
            found = tx.authorities.get(CA_NAME)
        if found is not None:
            return found
        made = Authority.generate(self.arns.account_id, self.clock.now())
        with self.uow(write=True) as tx:
            raced = tx.authorities.get(CA_NAME)
            if raced is not None:
                return raced
            tx.authorities.add(CA_NAME, made, self.clock.now())
        return made

    # --- principals -----------------------------------------------------------------------------

    def attach(self, thing: str, principal: str, exclusive: bool) -> None:
        with self.uow(write=True) as tx:
            _thing(tx, thing)
            self._principal(tx, principal)
            others = [(name, excl) for name, excl in tx.principals.things_of(principal) if name != thing]
            holder = next((name for name, excl in others if excl), None)
            if holder is not None:
                raise InvalidInput(f"principal is attached exclusively to {holder}", field="principal")
            if exclusive and others:
                raise InvalidInput(f"principal is attached to {', '.join(n for n, _ in others)}; it cannot be "
                                   "attached exclusively to another thing", field="thingPrincipalType")
            tx.principals.attach(thing, principal, exclusive)

    def detach(self, thing: str, principal: str) -> None:
        with self.uow(write=True) as tx:
            _thing(tx, thing)
            self._principal(tx, principal)
            tx.principals.detach(thing, principal)

    def principals_of(self, thing: str, token: str | None, max_results: int | None) -> Page[str]:
        with self.uow() as tx:
            _thing(tx, thing)
            return paginate(lambda after, n: tx.principals.principals_page(thing, after, n), token, max_results,
                            "principals", thing)

    def things_of(self, principal: str, token: str | None, max_results: int | None) -> Page[str]:
        with self.uow() as tx:
            self._principal(tx, principal)
            return paginate(lambda after, n: tx.principals.things_page(principal, after, n), token, max_results,
                            "principal-things", principal)

    def things_for_certificate(self, certificate_id_: str) -> list[str] | None:
        """The things a device presenting this certificate may act as, or None if it must be refused
        (unknown, not ACTIVE, or outside its validity)."""
        with self.uow() as tx:
            cert = tx.certificates.get(certificate_id_)
            if cert is None or not cert.usable(self.clock.now()):
                return None
            return [thing for thing, _ in tx.principals.things_of(self.arns.certificate(cert.certificate_id))]

    def _principal(self, tx: UnitOfWork, principal: str) -> Certificate:
        parsed = self.arns.parse_iot(principal)
        if parsed is None or parsed[0] != "cert":
            raise InvalidInput(f"principal {principal!r} is not a certificate ARN of this account", field="principal")
        return _certificate(tx, parsed[1])


def _certificate(tx: UnitOfWork, certificate_id_: str) -> Certificate:
    cert = tx.certificates.get(certificate_id_.removeprefix("0x").lower())
    if cert is None:
        raise NotFound("Certificate", certificate_id_)
    return cert


def _thing(tx: UnitOfWork, name: str) -> None:
    if tx.things.get(name) is None:
        raise NotFound("Thing", name)
