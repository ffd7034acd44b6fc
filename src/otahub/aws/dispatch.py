"""The handler registry: (service, operation) -> handler. Operations without one answer a clear
NotImplemented error that names them; nothing ever succeeds silently."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


Handler = Callable[[CallContext, Params], Result]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}

    def add(self, service: str, handlers: Mapping[str, Handler]) -> None:
        for operation, handler in handlers.items():
            self._handlers[(service, operation)] = handler

    def find(self, service: str, operation: str) -> Handler | None:
        return self._handlers.get((service, operation))

    def operations(self, service: str) -> list[str]:
        return sorted(op for svc, op in self._handlers if svc == service)
