"""The one table from domain errors to AWS error shapes, and how an error picks its shape.

An operation answers with one of its own modelled errors where it can: for each domain error the
candidates are tried in order against the operation's error shapes, then the service's shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from otahub.aws.spec import OperationModel, ServiceModel, error_status
from otahub.domain import errors as domain

_VALIDATION = ("ValidationException", "InvalidRequestException", "InvalidParameterException",
               "BadRequestException")

# Looked up in order with isinstance, so a subclass comes before its base.
ERROR_TABLE: dict[type[domain.DomainError], tuple[str, ...]] = {
    domain.InvalidQuery: ("InvalidQueryException", *_VALIDATION),
    domain.CertificateInvalid: ("CertificateValidationException", *_VALIDATION),
    domain.CertificateState: ("CertificateStateException", "InvalidRequestException"),
    domain.DeleteConflict: ("DeleteConflictException", "ConflictException", "InvalidRequestException"),
    domain.NotFound: ("ResourceNotFoundException", "NotFoundException", "NoSuchEntityException"),
    domain.AlreadyExists: ("ResourceAlreadyExistsException", "ConflictException",
                           "ResourceConflictException"),
    domain.VersionConflict: ("VersionConflictException", "ConflictException", "InvalidStateTransitionException"),
    domain.InvalidInput: _VALIDATION,
    domain.InvalidState: ("InvalidRequestException", "ConflictException", "ValidationException"),
    domain.Conflict: ("ConflictException", "ConflictingResourceUpdateException",
                      "ResourceConflictException", "InvalidRequestException"),
    domain.InvalidStateTransition: ("InvalidStateTransitionException", "ConflictException",
                                    "InvalidRequestException"),
    domain.TerminalState: ("TerminalStateException", "InvalidRequestException"),
    domain.LimitExceeded: ("LimitExceededException", "ServiceQuotaExceededException", "TooManyTagsException",
                           "InvalidRequestException", "ValidationException"),
}


@dataclass
class WireError(Exception):
    """An error ready for the wire: code, HTTP status, message and extra members."""

    code: str
    status: int
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def pick_error(
    service: ServiceModel, op: OperationModel | None, candidates: tuple[str, ...], fallback_status: int = 400
) -> tuple[str, int]:
    op_errors = {shape.name: shape for shape in (op.error_shapes if op is not None else [])}
    for name in candidates:
        if name in op_errors:
            return name, error_status(op_errors[name])
    known = set(service.shape_names)
    for name in candidates:
        if name in known:
            return name, error_status(service.shape_for(name))
    return candidates[0], fallback_status


def validation_error(service: ServiceModel, op: OperationModel | None, message: str) -> WireError:
    if service.protocol == "rest-xml":  # S3 models no validation error; it answers InvalidArgument
        return WireError("InvalidArgument", 400, message)
    code, status = pick_error(service, op, _VALIDATION)
    return WireError(code, status, message)


def from_domain(service: ServiceModel, op: OperationModel, error: domain.DomainError) -> WireError:
    candidates = next(
        (names for kind, names in ERROR_TABLE.items() if isinstance(error, kind)), _VALIDATION
    )
    code, status = pick_error(service, op, candidates)
    fields: dict[str, Any] = {}
    if isinstance(error, domain.AlreadyExists):
        fields = {"resourceId": error.resource_id, "resourceArn": error.resource_arn,
                  "ResourceId": error.resource_id, "ResourceType": error.resource_type}  # iotwireless' spelling
    elif isinstance(error, domain.NotFound):  # the newer services' ResourceNotFoundException says what is missing
        fields = {"ResourceId": error.name, "ResourceType": error.resource_type}
    return WireError(code, status, error.message, _modelled_fields(service, code, fields))


def _modelled_fields(service: ServiceModel, code: str, fields: dict[str, Any]) -> dict[str, Any]:
    if code not in service.shape_names:
        return {}
    members = service.shape_for(code).members
    return {k: v for k, v in fields.items() if k in members and v is not None}
