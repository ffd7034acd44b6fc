"""One AWS request in, one AWS response out: auth -> route -> parse -> validate -> handle -> serialize.

Pure with respect to transport: the ASGI adapter, tests and benchmarks call it. A call runs in two
steps so that bodies too large for memory can be spooled in between: ``start`` reads the signature
scope (and, where the payload hash is a signed header, as in S3, verifies it and routes), and
``finish`` does the rest once the body is in ``request.body`` or ``request.spooled``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from otahub.aws.auth import AuthError, SignatureScope, read_scope, verify_signature
from otahub.aws.chunked import ChunkSigner, signing_key
from otahub.aws.codecs import Codec, codec_for
from otahub.aws.dispatch import CallContext, HandlerRegistry
from otahub.aws.errors import WireError, from_domain, validation_error
from otahub.aws.messages import AwsRequest, AwsResponse
from otahub.aws.parser import InputError
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


@dataclass
class Call:
    request_id: str
    service: ServiceModel | None = None
    codec: Codec | None = None
    scope: SignatureScope | None = None
    operation: OperationModel | None = None
    labels: dict[str, str] = field(default_factory=dict)
    verified: bool = False

    @property
    def streams_input(self) -> bool:
        return self.operation is not None and bool(self.operation.has_streaming_input)

    @property
    def moves_blobs(self) -> bool:
        """Calls of a blob service (S3: its payload hash is a signed header) may move whole files."""
        return self.codec is not None and self.codec.payload_signed_in_header


class AwsPipeline:
    def __init__(
        self,
        settings: PipelineSettings,
        registry: HandlerRegistry,
        secret_for: Callable[[str], str | None],
        clock: Clock,
        wall_clock: Clock | None = None,
    ) -> None:
        """``wall_clock``: the time clients sign with, when the service runs on a virtual clock."""
        self.settings = settings
        self.registry = registry
        self.secret_for = secret_for
        self.clock = clock
        self.wall_clock = wall_clock or clock

    def authenticate(self, request: AwsRequest) -> None:
        """Check a request's SigV4 signature whatever service it names (otahub's own control calls)."""
        scope = read_scope(request)
        if scope is None:
            raise WireError("MissingAuthenticationTokenException", 403, "Missing Authentication Token")
        verify_signature(request, scope, self.secret_for, self.clock.now(), self.wall_clock.now())

    def handle(self, request: AwsRequest) -> AwsResponse:
        call = Call(str(uuid.uuid4()))
        try:
            self.start(request, call)
            return self.finish(request, call)
        except Exception as error:
            return self.error_response(request, call, error)

    def start(self, request: AwsRequest, call: Call) -> Call:
        scope = read_scope(request)
        if scope is None:
            raise WireError("MissingAuthenticationTokenException", 403, "Missing Authentication Token")
        service = service_for_signing_name(scope.service)
        if service is None:
            raise WireError(
                "UnrecognizedClientException", 403, f"Credential scope names unknown service '{scope.service}'"
            )
        call.service, call.scope, call.codec = service, scope, codec_for(service.protocol)
        if call.codec.payload_signed_in_header:
            verify_signature(request, scope, self.secret_for, self.clock.now(), self.wall_clock.now())
            call.verified = True
            call.operation, call.labels = self._route(service, request)
        return call

    def chunk_signer(self, call: Call) -> ChunkSigner | None:
        """What verifies an aws-chunked body's chained signatures, for a call already authenticated."""
        scope = call.scope
        secret = self.secret_for(scope.access_key) if scope else None
        if scope is None or secret is None or scope.presigned:
            return None
        key = signing_key(secret, scope.date, scope.region, scope.service)
        return ChunkSigner(scope.signature, scope.timestamp,
                           f"{scope.date}/{scope.region}/{scope.service}/aws4_request", key)

    def finish(self, request: AwsRequest, call: Call) -> AwsResponse:
        assert call.service is not None and call.scope is not None and call.codec is not None
        now = self.clock.now()
        if not call.verified:
            verify_signature(request, call.scope, self.secret_for, now, self.wall_clock.now())
        if call.operation is None:
            call.operation, call.labels = self._route(call.service, request)
        op, service = call.operation, call.service
        params = self._parse(service, call.codec, op, request, call.labels)
        handler = self.registry.find(service.service_name, op.name)
        if handler is None:
            raise WireError(
                "NotImplementedException", 501, f"otahub does not implement {service.service_name}:{op.name} yet"
            )
        context = CallContext(
            service.service_name, op.name, call.request_id, self.settings.region, self.settings.account_id, now,
            request,
        )
        result = handler(context, params)
        response = call.codec.serialize_result(op, result, call.request_id)
        if "status" in context.hints:
            response.status = int(context.hints["status"])
        return response

    def error_response(self, request: AwsRequest, call: Call, error: Exception) -> AwsResponse:
        codec = call.codec or codec_for("rest-json")
        wire = self._wire_error(call, error)
        if wire is None:
            log.error("unhandled error for %s %s", request.method, request.path, exc_info=error)
            wire = WireError("InternalFailureException", 500, "An internal error occurred; it has been logged.")
        code = self.registry.code_alias(call.service.service_name, wire.code) if call.service else wire.code
        response = codec.serialize_error(code, wire.status, wire.message, call.request_id, wire.fields)
        if request.method == "HEAD" or wire.status == 304:
            response.body = b""
        return response

    def _wire_error(self, call: Call, error: Exception) -> WireError | None:
        if isinstance(error, WireError):
            return error
        if isinstance(error, AuthError):
            return WireError(error.code, error.status, error.message)
        if isinstance(error, DomainError) and call.service is not None and call.operation is not None:
            mapper = self.registry.error_mapper(call.service.service_name)
            mapped = mapper(error) if mapper else None
            return mapped or from_domain(call.service, call.operation, error)
        return None

    def _route(self, service: ServiceModel, request: AwsRequest) -> tuple[OperationModel, dict[str, str]]:
        found = router_for(service.service_name).resolve(
            request.method, request.path, request.query_string, request.headers
        )
        if found is None:
            raise WireError(
                "UnknownOperationException", 404,
                f"No {service.service_name} operation matches {request.method} {request.path}",
            )
        return found

    def _parse(
        self, service: ServiceModel, codec: Codec, op: OperationModel, request: AwsRequest, labels: dict[str, str]
    ) -> dict[str, object]:
        try:
            params = codec.parse_request(op, request, labels)
        except InputError as error:
            if error.code:
                raise WireError(error.code, 400, error.message) from error
            raise validation_error(service, op, error.message) from error
        report = validate_input(op.input_shape, params)
        if report.problems:
            raise validation_error(service, op, report.message())
        return params
