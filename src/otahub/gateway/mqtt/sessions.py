"""Sessions: what the broker keeps per client id, online or (for a persistent session) offline.

A session holds the client's subscriptions (keyed by the filter as subscribed, ``$share/..`` included),
the QoS 1 messages waiting to be sent (``pending``, bounded: past ``queue_limit`` new ones are dropped
and counted, as AWS IoT drops messages beyond its persistent-session queue) and those sent but not yet
acknowledged (``inflight``, resent with DUP after a reconnect). QoS 0 messages are never queued.

A session kept in a ``SessionStore`` has a ``journal`` (``persistence.SessionJournal``): each message it
queues gets a ``store_id`` and is written to the store, and is removed from it once acknowledged.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from otahub.gateway.mqtt.packets import Subscription
from otahub.gateway.mqtt.properties import NO_PROPERTIES, Properties

if TYPE_CHECKING:
    from otahub.gateway.mqtt.connection import Connection
    from otahub.gateway.mqtt.persistence import SessionJournal

_MAX_PACKET_ID = 0xFFFF


@dataclass(frozen=True, slots=True)
class Message:
    """An application message as routed: ``properties`` are the MQTT 5 ones forwarded to v5 subscribers."""

    topic: str
    payload: bytes
    qos: int
    retain: bool = False
    properties: Properties = NO_PROPERTIES
    store_id: int | None = field(default=None, compare=False)  # its id in the session store, once queued there


def forwarded_properties(properties: Properties) -> Properties:
    """The PUBLISH properties a broker passes on [MQTT 5 3.3.2.3] (no alias, no subscription ids, no expiry)."""
    if properties.is_empty():
        return NO_PROPERTIES
    return Properties(
        payload_format_indicator=properties.payload_format_indicator, content_type=properties.content_type,
        response_topic=properties.response_topic, correlation_data=properties.correlation_data,
        user_properties=properties.user_properties,
    )


class Session:
    def __init__(self, client_id: str, queue_limit: int, expiry: int) -> None:
        self.client_id = client_id
        self.queue_limit = queue_limit
        self.expiry = expiry  # seconds the session outlives its connection; 0: it ends with it
        self.subscriptions: dict[str, Subscription] = {}
        self.pending: deque[Message] = deque()
        self.inflight: dict[int, Message] = {}
        self.connection: Connection | None = None
        self.expiry_timer: asyncio.TimerHandle | None = None
        self.journal: SessionJournal | None = None  # set while the session is kept in the store
        self.dropped = 0
        self._last_packet_id = 0

    def enqueue(self, message: Message) -> bool:
        """Queue a QoS 1 message (and write it to the store); False (and counted) when the queue is full."""
        if len(self.pending) >= self.queue_limit:
            self.dropped += 1
            return False
        if self.journal is not None:
            message = self.journal.add(self.client_id, message)
        self.pending.append(message)
        return True

    def acknowledged(self, packet_id: int) -> None:
        """The client acknowledged a message in flight: it leaves the session (and the store)."""
        message = self.inflight.pop(packet_id, None)
        if message is not None:
            self.forget(message)

    def forget(self, message: Message) -> None:
        """A message that left the session (acknowledged, or never deliverable) leaves the store too."""
        if self.journal is not None and message.store_id is not None:
            self.journal.remove(self.client_id, message.store_id)

    def next_packet_id(self) -> int:
        """A packet id not in flight (the caller keeps ``inflight`` below 65,535 entries)."""
        packet_id = self._last_packet_id
        while True:
            packet_id = packet_id % _MAX_PACKET_ID + 1
            if packet_id not in self.inflight:
                self._last_packet_id = packet_id
                return packet_id

    def cancel_expiry(self) -> None:
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
            self.expiry_timer = None
