"""The device endpoint's policy: who a client is, which `$aws/things/...` topics it may use, and which
service answers them (the jobs and streams handlers). The MQTT broker asks; it knows no AWS topics.

- Over TLS a client is the things its certificate is attached to (an unknown, inactive, revoked or
  expired certificate is refused at connect).
- Over plain TCP (local use, off unless `--mqtt-plain-port` is given) a client is the thing its client
  id names.
- A client may publish and subscribe only under its own things' `$aws/things/{thing}/...` topics; other
  `$aws/...` filters (`$aws/#`, `$aws/things/+/...`) are refused. Ordinary topics are free for all.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Protocol

from otahub.gateway.messages import Outgoing
from otahub.gateway.mqtt.topics import TopicError, parse_topic_filter

AWS_THINGS = "$aws/things/"
AFTER_PUBLISH_DRAIN = 200


class TopicHandler(Protocol):
    def handle(self, thing: str, topic: str, payload: bytes) -> list[Outgoing]: ...


class Drainable(Protocol):
    def drain(self, limit: int = ...) -> int: ...


class Client(Protocol):
    """What the endpoint needs to know of a connected client (the broker's ClientInfo)."""

    @property
    def client_id(self) -> str: ...
    @property
    def things(self) -> tuple[str, ...]: ...


def topic_thing(topic: str) -> tuple[str, str] | None:
    """(thing, namespace) of a `$aws/things/{thing}/{namespace}/...` topic or filter, else None."""
    if not topic.startswith(AWS_THINGS):
        return None
    parts = topic[len(AWS_THINGS):].split("/")
    return (parts[0], parts[1] if len(parts) > 1 else "")


class DeviceTopics:
    """The reserved topics: jobs and streams are answered here, other thing topics pass through."""

    def __init__(self, jobs: TopicHandler, streams: TopicHandler) -> None:
        self.handlers: dict[str, TopicHandler] = {"jobs": jobs, "streams": streams}
        self.notifier: Drainable | None = None  # pushes notify / notify-next after a device's own change
        self._drain_soon = False

    def handle(self, client: Client, topic: str, payload: bytes) -> list[Outgoing] | None:
        found = topic_thing(topic)
        if found is None:
            return None
        thing, namespace = found
        if thing not in client.things:
            raise PermissionError(f"client {client.client_id} may not publish on {topic}")
        handler = self.handlers.get(namespace)
        if handler is None:
            return None
        replies = handler.handle(thing, topic, payload)
        if namespace == "jobs" and self.notifier is not None:
            self._schedule_drain()
        return replies

    def _schedule_drain(self) -> None:
        """Push what device publishes changed once the packets already read are handled: one outbox
        transaction for all of them (a fleet publishing at once would otherwise pay one per publish), and
        the replies go out before the pushes they cause."""
        if self._drain_soon:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a direct call): push now
            self._drain()
            return
        self._drain_soon = True
        loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_soon = False
        if self.notifier is not None and self.notifier.drain(AFTER_PUBLISH_DRAIN) >= AFTER_PUBLISH_DRAIN:
            self._schedule_drain()  # more waiting: the next batch after other work had its turn

    def may_subscribe(self, client: Client, topic_filter: str) -> bool:
        try:
            inner = parse_topic_filter(topic_filter, allow_shared=True).filter  # $share/{group}/f: f decides
        except TopicError:
            return False
        if not inner.startswith("$"):
            return True
        found = topic_thing(inner)
        return found is not None and found[0] in client.things


class ThingsOfCertificate(Protocol):
    def things_for_certificate(self, certificate_id: str) -> list[str] | None: ...


class DeviceAuthenticator:
    """Certificates decide over TLS; on the plain port (when allowed) the client id names the thing."""

    def __init__(self, certificates: ThingsOfCertificate, plain_allowed: bool) -> None:
        self.certificates = certificates
        self.plain_allowed = plain_allowed

    def authenticate(self, client_id: str, username: str | None, password: bytes | None,
                     peer_certificate_der: bytes | None) -> tuple[str, ...] | None:
        if peer_certificate_der is not None:
            things = self.certificates.things_for_certificate(hashlib.sha256(peer_certificate_der).hexdigest())
            return None if things is None else _with_client_id(things, client_id)
        if not self.plain_allowed or not client_id:
            return None
        return (client_id,)


def _with_client_id(things: Sequence[str], client_id: str) -> tuple[str, ...]:
    """A certificate's things, the one the client id names first (the thing the device says it is)."""
    ordered = sorted(things, key=lambda thing: thing != client_id)
    return tuple(ordered)
