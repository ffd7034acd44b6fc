"""The embedded MQTT broker's persistent sessions over SQLAlchemy Core: the ``SessionStore`` of
``gateway/mqtt/ports.py``.

Storage and the gateway do not import each other, so the records here match the port's Protocols by their
shape and ``app.py`` hands a ``SqlMqttSessions`` to the broker. Each ``write()`` is one write transaction of
the unit of work (``BEGIN IMMEDIATE``; with ``synchronous=FULL`` it is on disk when the block exits). Expiry
deadlines are measured by the clock given: wall time by default, as the broker's own timers run in real
time whatever the service clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from otahub.domain.clock import Clock, SystemClock
from otahub.storage.sql.tables import mqtt_messages, mqtt_sessions, mqtt_subscriptions
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory


class SubscriptionFields(Protocol):
    """What is read of a subscription given to ``save_session``."""

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


class MessageFields(Protocol):
    """What is read of a message given to ``add_messages``."""

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


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    topic_filter: str
    qos: int
    no_local: bool
    retain_as_published: bool
    retain_handling: int


@dataclass(frozen=True, slots=True)
class StoredMessage:
    client_id: str
    message_id: int
    topic: str
    payload: bytes
    retain: bool
    properties: bytes


@dataclass(frozen=True, slots=True)
class StoredSession:
    client_id: str
    expiry: int
    expires_in: float | None  # seconds left; None: its client was connected
    subscriptions: tuple[StoredSubscription, ...]
    messages: tuple[StoredMessage, ...]


class SqlMqttSessionRows:
    """The session tables on one transaction's connection; ``now`` is the transaction's time."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now

    def save_session(self, client_id: str, expiry: int, subscriptions: Sequence[SubscriptionFields]) -> None:
        changed = self.conn.execute(update(mqtt_sessions).where(mqtt_sessions.c.client_id == client_id)
                                    .values(expiry=expiry, expires_at=None)).rowcount
        if not changed:
            self.conn.execute(insert(mqtt_sessions).values(client_id=client_id, expiry=expiry, expires_at=None))
        self.conn.execute(delete(mqtt_subscriptions).where(mqtt_subscriptions.c.client_id == client_id))
        if subscriptions:
            self.conn.execute(insert(mqtt_subscriptions), [
                {"client_id": client_id, "position": position, "topic_filter": s.topic_filter, "qos": s.qos,
                 "no_local": s.no_local, "retain_as_published": s.retain_as_published,
                 "retain_handling": s.retain_handling}
                for position, s in enumerate(subscriptions)
            ])

    def session_connected(self, client_id: str, expiry: int) -> None:
        self.conn.execute(update(mqtt_sessions).where(mqtt_sessions.c.client_id == client_id)
                          .values(expiry=expiry, expires_at=None))

    def session_disconnected(self, client_id: str, expiry: int) -> None:
        self.conn.execute(update(mqtt_sessions).where(mqtt_sessions.c.client_id == client_id)
                          .values(expiry=expiry, expires_at=self.now + timedelta(seconds=expiry)))

    def delete_session(self, client_id: str) -> None:
        for table in (mqtt_messages, mqtt_subscriptions, mqtt_sessions):
            self.conn.execute(delete(table).where(table.c.client_id == client_id))

    def add_messages(self, messages: Sequence[MessageFields]) -> None:
        if messages:
            self.conn.execute(insert(mqtt_messages), [
                {"client_id": m.client_id, "message_id": m.message_id, "topic": m.topic, "payload": m.payload,
                 "retain": m.retain, "properties": m.properties}
                for m in messages
            ])

    def remove_messages(self, keys: Sequence[tuple[str, int]]) -> None:
        if keys:
            statement = delete(mqtt_messages).where(mqtt_messages.c.client_id == bindparam("key_client"),
                                                    mqtt_messages.c.message_id == bindparam("key_message"))
            self.conn.execute(statement, [{"key_client": client, "key_message": message} for client, message in keys])

    def load_all(self) -> list[StoredSession]:
        """Drop the sessions whose deadline has passed, then read the others back."""
        expired = select(mqtt_sessions.c.client_id).where(mqtt_sessions.c.expires_at <= self.now)
        for table in (mqtt_messages, mqtt_subscriptions):
            self.conn.execute(delete(table).where(table.c.client_id.in_(expired)))
        self.conn.execute(delete(mqtt_sessions).where(mqtt_sessions.c.expires_at <= self.now))
        subscriptions: defaultdict[str, list[StoredSubscription]] = defaultdict(list)
        query = select(mqtt_subscriptions).order_by(mqtt_subscriptions.c.client_id, mqtt_subscriptions.c.position)
        for row in self.conn.execute(query):
            subscriptions[row.client_id].append(StoredSubscription(
                row.topic_filter, row.qos, row.no_local, row.retain_as_published, row.retain_handling))
        messages: defaultdict[str, list[StoredMessage]] = defaultdict(list)
        for row in self.conn.execute(select(mqtt_messages).order_by(mqtt_messages.c.client_id,
                                                                    mqtt_messages.c.message_id)):
            messages[row.client_id].append(StoredMessage(
                row.client_id, row.message_id, row.topic, bytes(row.payload), row.retain, bytes(row.properties)))
        return [
            StoredSession(row.client_id, row.expiry,
                          None if row.expires_at is None else (row.expires_at - self.now).total_seconds(),
                          tuple(subscriptions[row.client_id]), tuple(messages[row.client_id]))
            for row in self.conn.execute(select(mqtt_sessions).order_by(mqtt_sessions.c.client_id))
        ]


class SqlMqttSessions:
    """The broker's ``SessionStore``: each call one write transaction of the unit of work."""

    def __init__(self, uow: SqlUnitOfWorkFactory, clock: Clock | None = None) -> None:
        self.uow = uow
        self.clock = clock or SystemClock()

    def load_all(self) -> list[StoredSession]:
        with self.uow(write=True) as tx:
            return SqlMqttSessionRows(tx.conn, self.clock.now()).load_all()

    @contextmanager
    def write(self) -> Iterator[SqlMqttSessionRows]:
        with self.uow(write=True) as tx:
            yield SqlMqttSessionRows(tx.conn, self.clock.now())
