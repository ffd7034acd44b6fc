"""Domain errors. They know nothing about HTTP: each adapter maps them in one table.

    DomainError
     ├── NotFound            a named resource does not exist
     ├── AlreadyExists       a resource with that name exists with other settings
     ├── VersionConflict     expectedVersion does not match the stored version
     ├── InvalidInput        a value is wrong for reasons the wire model cannot express
     │    ├── InvalidQuery   a fleet-indexing query string does not parse
     │    └── CertificateInvalid  a certificate that cannot be read or is not valid
     ├── InvalidState        the resource's state forbids the operation (e.g. group has children)
     ├── InvalidStateTransition  a job execution cannot go from its status to the one asked for
     ├── TerminalState       a device asked about a job execution that has ended
     ├── CertificateState    a certificate's status forbids the operation (e.g. deleting an ACTIVE one)
     ├── DeleteConflict      a resource is still in use (a certificate attached to things)
     ├── Conflict            the request collides with a concurrent or idempotent request
     └── LimitExceeded       a quota (e.g. groups per thing) would be exceeded
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    def __init__(self, resource_type: str, name: str) -> None:
        super().__init__(f"{resource_type} {name} does not exist")
        self.resource_type = resource_type
        self.name = name


class AlreadyExists(DomainError):
    def __init__(self, resource_type: str, name: str, resource_id: str | None, arn: str | None) -> None:
        super().__init__(f"{resource_type} {name} already exists with different tags or properties")
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.resource_arn = arn


class VersionConflict(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class InvalidQuery(InvalidInput):
    pass


class InvalidState(DomainError):
    pass


class Conflict(DomainError):
    pass


class LimitExceeded(DomainError):
    pass


class InvalidStateTransition(DomainError):
    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message, field="status")
        self.status = status


class TerminalState(DomainError):
    pass


class CertificateInvalid(InvalidInput):
    pass


class CertificateState(DomainError):
    pass


class DeleteConflict(DomainError):
    pass
