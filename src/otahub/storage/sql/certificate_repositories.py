"""Device certificates, the principals attached to things, and otahub's CA over SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Row

from otahub.domain.certificates import Authority, Certificate, CertificateStatus
from otahub.storage.sql.tables import authorities, certificates, thing_principals


def _certificate(row: Row[Any]) -> Certificate:
    return Certificate(
        certificate_id=row.certificate_id, pem=row.pem, status=CertificateStatus(row.status),
        not_before=row.not_before, not_after=row.not_after, created_at=row.created_at, updated_at=row.updated_at,
        ca_certificate_id=row.ca_certificate_id, customer_version=row.customer_version,
        generation_id=row.generation_id,
    )


def _values(cert: Certificate) -> dict[str, Any]:
    return {
        "certificate_id": cert.certificate_id, "pem": cert.pem, "ca_certificate_id": cert.ca_certificate_id,
        "status": cert.status.value, "customer_version": cert.customer_version, "generation_id": cert.generation_id,
        "not_before": cert.not_before, "not_after": cert.not_after, "created_at": cert.created_at,
        "updated_at": cert.updated_at,
    }


class SqlCertificates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, certificate_id: str) -> Certificate | None:
        row = self.conn.execute(select(certificates).where(certificates.c.certificate_id == certificate_id)).first()
        return _certificate(row) if row else None

    def add(self, cert: Certificate) -> None:
        self.conn.execute(insert(certificates).values(**_values(cert)))

    def save(self, cert: Certificate) -> None:
        self.conn.execute(update(certificates).where(certificates.c.certificate_id == cert.certificate_id)
                          .values(**_values(cert)))

    def delete(self, certificate_id: str) -> None:
        self.conn.execute(delete(certificates).where(certificates.c.certificate_id == certificate_id))

    def page(self, ascending: bool, after: int, limit: int) -> list[tuple[int, Certificate]]:
        query = select(certificates)
        if ascending:
            query = query.where(certificates.c.seq > after).order_by(certificates.c.seq)
        else:
            query = (query.where(certificates.c.seq < after) if after else query).order_by(certificates.c.seq.desc())
        return [(row.seq, _certificate(row)) for row in self.conn.execute(query.limit(limit))]


class SqlPrincipals:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def attach(self, thing: str, principal: str, exclusive: bool) -> None:
        existing = self.conn.execute(select(thing_principals.c.seq).where(
            thing_principals.c.thing_name == thing, thing_principals.c.principal == principal)).scalar()
        if existing is not None:
            self.conn.execute(update(thing_principals).where(
                thing_principals.c.thing_name == thing, thing_principals.c.principal == principal,
            ).values(exclusive=exclusive))
            return
        seq = (self.conn.execute(select(func.max(thing_principals.c.seq))).scalar() or 0) + 1
        self.conn.execute(insert(thing_principals).values(thing_name=thing, principal=principal, exclusive=exclusive,
                                                          seq=seq))

    def detach(self, thing: str, principal: str) -> bool:
        result = self.conn.execute(delete(thing_principals).where(
            thing_principals.c.thing_name == thing, thing_principals.c.principal == principal))
        return bool(result.rowcount)

    def things_of(self, principal: str) -> list[tuple[str, bool]]:
        """The things a principal is attached to, each with whether the attachment is exclusive."""
        query = (select(thing_principals.c.thing_name, thing_principals.c.exclusive)
                 .where(thing_principals.c.principal == principal).order_by(thing_principals.c.seq))
        return [(row.thing_name, row.exclusive) for row in self.conn.execute(query)]

    def principals_page(self, thing: str, after: int, limit: int) -> list[tuple[int, str]]:
        query = (select(thing_principals.c.seq, thing_principals.c.principal)
                 .where(thing_principals.c.thing_name == thing, thing_principals.c.seq > after)
                 .order_by(thing_principals.c.seq).limit(limit))
        return [(row.seq, row.principal) for row in self.conn.execute(query)]

    def things_page(self, principal: str, after: int, limit: int) -> list[tuple[int, str]]:
        query = (select(thing_principals.c.seq, thing_principals.c.thing_name)
                 .where(thing_principals.c.principal == principal, thing_principals.c.seq > after)
                 .order_by(thing_principals.c.seq).limit(limit))
        return [(row.seq, row.thing_name) for row in self.conn.execute(query)]

    def drop_thing(self, thing: str) -> None:
        self.conn.execute(delete(thing_principals).where(thing_principals.c.thing_name == thing))


class SqlAuthorities:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, name: str) -> Authority | None:
        row = self.conn.execute(select(authorities).where(authorities.c.name == name)).first()
        return Authority(row.key_pem, row.cert_pem) if row else None

    def add(self, name: str, authority: Authority, created_at: Any) -> None:
        self.conn.execute(insert(authorities).values(name=name, key_pem=authority.key_pem,
                                                     cert_pem=authority.cert_pem, created_at=created_at))
