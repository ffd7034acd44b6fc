"""The handler registry: (service, operation) -> handler. Operations without one answer a clear
NotImplemented error that names them; nothing ever succeeds silently."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from otahub.aws.errors import WireError
from otahub.aws.messages import AwsRequest
from otahub.domain.errors import DomainError

Params = dict[str, Any]
Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a handler may know about the call besides its parameters."""

    service: str
    operation: str
    request_id: str
    region: str
    account_id: str
    now: datetime
    request: AwsRequest  # for handlers that read raw headers or a spooled body (S3)
    # What the model cannot say, e.g. 206 for a ranged S3 GET: {"status": 206}.
    hints: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[CallContext, Params], Result]
ErrorMapper = Callable[[DomainError], WireError | None]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._error_mappers: dict[str, ErrorMapper] = {}
        self._code_aliases: dict[str, dict[str, str]] = {}

    def add(
        self,
        service: str,
        handlers: Mapping[str, Handler],
        error_mapper: ErrorMapper | None = None,
        code_aliases: Mapping[str, str] | None = None,
    ) -> None:
        """Register a service's handlers; ``error_mapper`` overrides the model-driven error table
        for services (like S3) whose errors are mostly not modelled, and ``code_aliases`` renames the
        protocol layer's own codes (auth, routing) to the service's spelling."""
        for operation, handler in handlers.items():
            self._handlers[(service, operation)] = handler
        if error_mapper is not None:
            self._error_mappers[service] = error_mapper
        if code_aliases:
            self._code_aliases[service] = dict(code_aliases)

    def code_alias(self, service: str, code: str) -> str:
        return self._code_aliases.get(service, {}).get(code, code)

    def error_mapper(self, service: str) -> ErrorMapper | None:
        return self._error_mappers.get(service)

    def find(self, service: str, operation: str) -> Handler | None:
        return self._handlers.get((service, operation))

    def operations(self, service: str) -> list[str]:
        return sorted(op for svc, op in self._handlers if svc == service)
