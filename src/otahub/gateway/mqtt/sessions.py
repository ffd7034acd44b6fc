"""Sessions: what the broker keeps per client id, online or (for a persistent session) offline.

A session holds the client's subscriptions (keyed by the filter as subscribed, ``$share/..`` included),
the QoS 1 messages waiting to be sent (``pending``, bounded: past ``queue_limit`` new ones are dropped
and counted, as AWS IoT drops messages beyond its persistent-session queue) and those sent but not yet
acknowledged (``inflight``, resent with DUP after a reconnect). QoS 0 messages are never queued.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otahub.gateway.mqtt.packets import Subscription
from otahub.gateway.mqtt.properties import NO_PROPERTIES, Properties

if TYPE_CHECKING:
    from otahub.gateway.mqtt.connection import Connection

_MAX_PACKET_ID = 0xFFFF


@dataclass(frozen=True, slots=True)
class Message:
    """An application message as routed: ``properties`` are the MQTT 5 ones forwarded to v5 subscribers."""

    topic: str
    payload: bytes
    qos: int
    retain: bool = False
    properties: Properties = NO_PROPERTIES


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
        self.dropped = 0
        self._last_packet_id = 0

    def enqueue(self, message: Message) -> bool:
        """Queue a QoS 1 message; False (and counted) when the queue is full."""
        if len(self.pending) >= self.queue_limit:
            self.dropped += 1
            return False
        self.pending.append(message)
        return True

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
