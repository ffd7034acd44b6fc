"""What the broker asks of the rest of otahub: who a client is, and which topics the service answers itself.

``broker.py`` re-exports these names; they live here so that ``connection.py`` and ``broker.py`` can share
them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from otahub.gateway.messages import Outgoing


@dataclass(frozen=True, slots=True)
class ClientInfo:
    client_id: str
    username: str | None
    protocol_level: int  # 4 or 5
    things: tuple[str, ...]  # the things this client may act as (filled by the authenticator)


class Authenticator(Protocol):
    def authenticate(self, client_id: str, username: str | None, password: bytes | None,
                     peer_certificate_der: bytes | None) -> tuple[str, ...] | None:
        """The things the client may act as, or None to refuse the connection (CONNACK not authorized)."""


class ReservedTopics(Protocol):
    def handle(self, client: ClientInfo, topic: str, payload: bytes) -> list[Outgoing] | None:
        """Replies for a publish on a topic the service answers itself ($aws/things/..), delivered to the
        publishing client only (even if it did not subscribe); None: not reserved, route it normally.
        Raising PermissionError refuses the publish."""

    def may_subscribe(self, client: ClientInfo, topic_filter: str) -> bool:
        """Whether the client may subscribe to this filter (a device only to its own things' $aws topics)."""
