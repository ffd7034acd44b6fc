"""Persistent sessions kept in a ``SessionStore``: the changes the broker writes, and the sessions it reads back.

``SessionJournal`` records the changes to stored sessions in the order the broker makes them (a session
saved, connected, disconnected or deleted; a message added or removed) and writes them from a worker thread,
one transaction at a time: what accumulates while a transaction commits goes into the next one (group
commit), and consecutive adds or removes become one batch each. ``count`` and ``durable(mark)`` let a
connection hold back an acknowledgement (PUBACK, SUBACK, UNSUBACK, CONNACK) until the changes it caused are
in the store, without blocking the event loop. Removals need no wait: a message acknowledged just before a
crash is delivered again (QoS 1 is at least once).

Only sessions that outlive their connection (expiry > 0) have a journal; clean sessions never reach it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from otahub.gateway.mqtt import _wire
from otahub.gateway.mqtt.packets import PacketType, Subscription
from otahub.gateway.mqtt.ports import SessionStore, SessionWriter, StoredSession
from otahub.gateway.mqtt.properties import NO_PROPERTIES, Properties, read_properties, write_properties
from otahub.gateway.mqtt.sessions import Message, Session

logger = logging.getLogger("otahub.mqtt")


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A ``ports.StoredMessage``: a QoS 1 message of a stored session, as the store keeps it."""

    client_id: str
    message_id: int
    topic: str
    payload: bytes
    retain: bool
    properties: bytes


def encode_properties(properties: Properties) -> bytes:
    """A PUBLISH's forwarded properties as their wire block; ``b""`` for none."""
    return b"" if properties.is_empty() else write_properties(properties, PacketType.PUBLISH)


def decode_properties(data: bytes) -> Properties:
    return NO_PROPERTIES if not data else read_properties(_wire.Reader(data), PacketType.PUBLISH)


@dataclass(frozen=True, slots=True)
class _Save:
    client_id: str
    expiry: int
    subscriptions: tuple[Subscription, ...]

    def apply(self, writer: SessionWriter) -> None:
        writer.save_session(self.client_id, self.expiry, self.subscriptions)


@dataclass(frozen=True, slots=True)
class _Connected:
    client_id: str
    expiry: int

    def apply(self, writer: SessionWriter) -> None:
        writer.session_connected(self.client_id, self.expiry)


@dataclass(frozen=True, slots=True)
class _Disconnected:
    client_id: str
    expiry: int

    def apply(self, writer: SessionWriter) -> None:
        writer.session_disconnected(self.client_id, self.expiry)


@dataclass(frozen=True, slots=True)
class _Delete:
    client_id: str

    def apply(self, writer: SessionWriter) -> None:
        writer.delete_session(self.client_id)


@dataclass(slots=True)
class _Add:
    messages: list[QueuedMessage]

    def apply(self, writer: SessionWriter) -> None:
        writer.add_messages(self.messages)


@dataclass(slots=True)
class _Remove:
    keys: list[tuple[str, int]]

    def apply(self, writer: SessionWriter) -> None:
        writer.remove_messages(self.keys)


_Change = _Save | _Connected | _Disconnected | _Delete | _Add | _Remove


class SessionJournal:
    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.count = 0  # changes made so far (a mark for ``durable``)
        self._changes: list[_Change] = []
        self._collecting: asyncio.Future[None] | None = None  # done when ``_changes`` are written
        self._writing: asyncio.Future[None] | None = None  # done when the transaction under way commits
        self._task: asyncio.Task[None] | None = None
        self._last_id = 0

    # -- reading back --------------------------------------------------------------------------------

    async def load(self) -> Sequence[StoredSession]:
        """The stored sessions (expired ones dropped by the store); message ids go on after theirs."""
        records = await asyncio.to_thread(self.store.load_all)
        for record in records:
            for message in record.messages:
                self._last_id = max(self._last_id, message.message_id)
        return records

    def restored(self, record: StoredSession, queue_limit: int) -> Session:
        """The session of a stored record: its subscriptions, and its messages queued (those that were in
        flight first, as they were queued first), kept in the store."""
        session = Session(record.client_id, queue_limit, record.expiry)
        session.journal = self
        for s in record.subscriptions:
            session.subscriptions[s.topic_filter] = Subscription(
                s.topic_filter, s.qos, s.no_local, s.retain_as_published, s.retain_handling)
        for m in record.messages:
            session.pending.append(Message(m.topic, m.payload, 1, m.retain, decode_properties(m.properties),
                                           store_id=m.message_id))
        return session

    # -- changes -------------------------------------------------------------------------------------

    def persist(self, session: Session) -> None:
        """Keep a session that was not kept: saved (connected), then its messages, those in flight first."""
        session.journal = self
        self.save(session)
        session.inflight = {packet_id: self.add(session.client_id, message)
                            for packet_id, message in session.inflight.items()}
        session.pending = deque(self.add(session.client_id, message) for message in session.pending)

    def save(self, session: Session) -> None:
        """The session's expiry and subscriptions as they are now (and its client connected)."""
        change = _Save(session.client_id, session.expiry, tuple(session.subscriptions.values()))
        last = self._changes[-1] if self._changes else None
        if isinstance(last, _Save) and last.client_id == change.client_id:
            self._changes[-1] = change  # a SUBSCRIBE of several filters: the last snapshot says it all
            self._changed()
        else:
            self._append(change)

    def connected(self, session: Session) -> None:
        self._append(_Connected(session.client_id, session.expiry))

    def disconnected(self, session: Session) -> None:
        self._append(_Disconnected(session.client_id, session.expiry))

    def delete(self, session: Session) -> None:
        session.journal = None
        self._append(_Delete(session.client_id))

    def add(self, client_id: str, message: Message) -> Message:
        """Write a message queued for a stored session; the message with its store id."""
        self._last_id += 1
        record = QueuedMessage(client_id, self._last_id, message.topic, message.payload, message.retain,
                               encode_properties(message.properties))
        last = self._changes[-1] if self._changes else None
        if isinstance(last, _Add):
            last.messages.append(record)
            self._changed()
        else:
            self._append(_Add([record]))
        return replace(message, store_id=self._last_id)

    def remove(self, client_id: str, message_id: int) -> None:
        last = self._changes[-1] if self._changes else None
        if isinstance(last, _Remove):
            last.keys.append((client_id, message_id))
            self._changed()
        else:
            self._append(_Remove([(client_id, message_id)]))

    # -- writing -------------------------------------------------------------------------------------

    def durable(self, mark: int) -> asyncio.Future[None] | None:
        """None when nothing changed since ``mark`` (a ``count``); else a future that is done once every
        change made so far is in the store (or failed with the store's error)."""
        if mark >= self.count:
            return None
        return self._collecting if self._collecting is not None else self._writing

    async def close(self) -> None:
        """Return once every change made so far is written."""
        while self._task is not None:
            await asyncio.wait({self._task})

    def _append(self, change: _Change) -> None:
        self._changes.append(change)
        self._changed()

    def _changed(self) -> None:
        self.count += 1
        if self._collecting is None:
            loop = asyncio.get_running_loop()
            self._collecting = loop.create_future()
            if self._task is None:
                self._task = loop.create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._changes:
                changes, done = self._changes, self._collecting
                assert done is not None
                self._changes, self._collecting, self._writing = [], None, done
                try:
                    await asyncio.to_thread(self._write, changes)
                except Exception as error:
                    logger.exception("writing %d changes to persistent MQTT sessions failed", len(changes))
                    done.set_exception(error)
                    done.exception()  # retrieved here: only those waiting on it see it
                except BaseException:
                    done.cancel()
                    raise
                else:
                    done.set_result(None)
                finally:
                    self._writing = None
        except BaseException:
            if self._collecting is not None:  # cancelled with changes waiting: their waiters must not hang
                self._collecting.cancel()
                self._collecting = None
            raise
        finally:
            self._task = None

    def _write(self, changes: list[_Change]) -> None:
        with self.store.write() as writer:
            for change in changes:
                change.apply(writer)
