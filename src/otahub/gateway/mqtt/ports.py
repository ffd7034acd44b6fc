"""What the broker asks of the rest of otahub: who a client is, which topics the service answers itself, and
(optionally) where persistent sessions are kept across restarts.

``broker.py`` re-exports these names; they live here so that ``connection.py`` and ``broker.py`` can share
them without importing each other. The session store's records are Protocols of read-only attributes, so
an adapter that may not import the gateway (``storage``) implements them with its own classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
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


class StoredSubscription(Protocol):
    """A persistent session's subscription, as subscribed (``packets.Subscription`` is one)."""

    @property
    def topic_filter(self) -> str: ...
    @property
    def qos(self) -> int: ...
    @property
    def no_local(self) -> bool: ...
    @property
    def retain_as_published(self) -> bool: ...
    @property
    def retain_handling(self) -> int: ...


class StoredMessage(Protocol):
    """A QoS 1 message queued or in flight for a persistent session. ``message_id`` orders a session's
    messages (the broker assigns increasing ids); ``properties`` is the MQTT 5 property block of the
    PUBLISH as on the wire (``b""``: none)."""

    @property
    def client_id(self) -> str: ...
    @property
    def message_id(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def retain(self) -> bool: ...
    @property
    def properties(self) -> bytes: ...


class StoredSession(Protocol):
    @property
    def client_id(self) -> str: ...
    @property
    def expiry(self) -> int:
        """Seconds the session outlives its connection."""
    @property
    def expires_in(self) -> float | None:
        """Seconds left (> 0) of a session that was offline; None: it was connected when otahub stopped."""
    @property
    def subscriptions(self) -> Sequence[StoredSubscription]:
        """In the order they were made."""
    @property
    def messages(self) -> Sequence[StoredMessage]:
        """In ``message_id`` order."""


class SessionWriter(Protocol):
    """The changes made in one transaction of a ``SessionStore``, applied in the order called."""

    def save_session(self, client_id: str, expiry: int, subscriptions: Sequence[StoredSubscription]) -> None:
        """Create or replace the session (connected) and its subscriptions; its messages stay."""

    def session_connected(self, client_id: str, expiry: int) -> None:
        """The session's client is connected: no expiry deadline until it goes away again."""

    def session_disconnected(self, client_id: str, expiry: int) -> None:
        """The client went away: the session ends ``expiry`` seconds from now (the store's clock)."""

    def delete_session(self, client_id: str) -> None:
        """The session, its subscriptions and its messages."""

    def add_messages(self, messages: Sequence[StoredMessage]) -> None: ...

    def remove_messages(self, keys: Sequence[tuple[str, int]]) -> None:
        """(client id, message id) of messages acknowledged (or dropped); unknown keys are ignored."""


class SessionStore(Protocol):
    """Where the broker keeps its persistent sessions (those that outlive their connection). Its calls are
    blocking; the broker makes them from a worker thread, one at a time."""

    def load_all(self) -> Sequence[StoredSession]:
        """The sessions kept, after dropping those whose expiry deadline has passed (by the store's clock)."""

    def write(self) -> AbstractContextManager[SessionWriter]:
        """One transaction: the changes made through the writer are durable when the block exits."""
