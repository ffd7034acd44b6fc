"""One AWS request in, one AWS response out: auth -> route -> parse -> validate -> handle -> serialize.

Pure with respect to transport: the ASGI adapter, tests and benchmarks all call ``handle``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from otahub.aws import serializer
from otahub.aws.auth import AuthError, read_scope, verify_signature
from otahub.aws.dispatch import CallContext, HandlerRegistry
from otahub.aws.errors import WireError, from_domain, validation_error
from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.parser import InputError, parse_request
from otahub.aws.routing import router_for
from otahub.aws.spec import OperationModel, ServiceModel, service_for_signing_name
from otahub.aws.validate import validate_input
from otahub.domain.clock import Clock
from otahub.domain.errors import DomainError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineSettings:
    region: str
    account_id: str
    max_body_bytes: int = 10 * 1024 * 1024


class AwsPipeline:
    def __init__(
        self,
        settings: PipelineSettings,
        registry: HandlerRegistry,
        secret_for: Callable[[str], str | None],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.secret_for = secret_for
        self.clock = clock

    def handle(self, request: AwsRequest) -> AwsResponse:
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except WireError as error:
            return serializer.serialize_error(error.code, error.status, error.message, request_id, error.fields)
        except AuthError as error:
            return serializer.serialize_error(error.code, error.status, error.message, request_id)
        except Exception:
            log.exception("unhandled error for %s %s", request.method, request.path)
            return serializer.serialize_error(
                "InternalFailureException", 500, "An internal error occurred; it has been logged.", request_id
            )

    def _handle(self, request: AwsRequest, request_id: str) -> AwsResponse:
        scope = read_scope(request)
        if scope is None:
            raise WireError("MissingAuthenticationTokenException", 403, "Missing Authentication Token")
        service = service_for_signing_name(scope.service)
        if service is None:
            raise WireError(
                "UnrecognizedClientException", 403, f"Credential scope names unknown service '{scope.service}'"
            )
        now = self.clock.now()
        verify_signature(request, scope, self.secret_for, now)
        op, labels = self._route(service, request)
        params = self._parse(service, op, request, labels)
        handler = self.registry.find(service.service_name, op.name)
        if handler is None:
            raise WireError(
                "NotImplementedException", 501,
                f"otahub does not implement {service.service_name}:{op.name} yet",
            )
        context = CallContext(
            service.service_name, op.name, request_id, self.settings.region, self.settings.account_id, now
        )
        try:
            result = handler(context, params)
        except DomainError as error:
            raise from_domain(service, op, error) from error
        return serializer.serialize_result(op, result, request_id)

    def _route(self, service: ServiceModel, request: AwsRequest) -> tuple[OperationModel, dict[str, str]]:
        found = router_for(service.service_name).resolve(request.method, request.path, request.query_string)
        if found is None:
            raise WireError(
                "UnknownOperationException", 404,
                f"No {service.service_name} operation matches {request.method} {request.path}",
            )
        return found

    def _parse(
        self, service: ServiceModel, op: OperationModel, request: AwsRequest, labels: dict[str, str]
    ) -> dict[str, object]:
        try:
            params = parse_request(op, request, labels)
        except InputError as error:
            if error.code:
                raise WireError(error.code, 400, error.message) from error
            raise validation_error(service, op, error.message) from error
        report = validate_input(op.input_shape, params)
        if report.problems:
            raise validation_error(service, op, report.message())
        return params
