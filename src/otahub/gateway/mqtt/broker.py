"""The embedded MQTT broker (MQTT 3.1.1 and 5, QoS 0 and 1), behaving as AWS IoT Core's message broker.

``Broker`` owns the listening server, the sessions by client id, the subscription table and the retained
messages, and routes every message; ``connection.Connection`` speaks the protocol on one socket. A
publish is first offered to ``ReservedTopics.handle`` (the ``$aws/things/..`` topics otahub answers):
its replies go to the publisher alone and the message is not routed; otherwise it reaches every matching
subscription (``#`` and ``+`` never match ``$`` topics). Everything runs on one asyncio event loop.

Sessions: a clean session ends with its connection. A persistent one (3.1.1 ``clean_session=0``, kept
an hour; MQTT 5 Session Expiry Interval, at most seven days) keeps its subscriptions and queues QoS 1
messages (up to ``session_queue_limit``) until the client is back; CONNACK says "session present".
A second connection with the same client id takes the session over and closes the first.
Wills are published when a connection ends without a normal DISCONNECT (at once: Will Delay is not kept).

With a ``SessionStore`` persistent sessions also survive a restart: each one (never a clean session) is
written through a ``persistence.SessionJournal`` as it changes (subscriptions, expiry, each QoS 1 message
queued or in flight, each acknowledgement), and ``start`` reads them back, dropping those that expired
meanwhile. A connection sends the PUBACK (and SUBACK, UNSUBACK, CONNACK) only once what it changed is in the
store. A session that was connected when otahub died counts its expiry from the restart.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from dataclasses import replace

from otahub.gateway.messages import Outgoing
from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.connection import Connection
from otahub.gateway.mqtt.errors import ReasonCode
from otahub.gateway.mqtt.persistence import SessionJournal
from otahub.gateway.mqtt.ports import Authenticator, ClientInfo, ReservedTopics, SessionStore
from otahub.gateway.mqtt.sessions import Message, Session, forwarded_properties
from otahub.gateway.mqtt.subscriptions import SubscriptionTable
from otahub.gateway.mqtt.topics import TopicError, parse_topic_filter, topic_matches, validate_topic_name

__all__ = ["Authenticator", "Broker", "ClientInfo", "Outgoing", "ReservedTopics", "SessionStore"]

logger = logging.getLogger("otahub.mqtt")

RETAINED_LIMIT = 10_000
"""Retained topics kept at most; a retained message for a new topic past it is routed but not kept."""
LISTEN_BACKLOG = 1024  # a fleet connecting at once (asyncio's default is 100)


class Broker:
    def __init__(self, authenticator: Authenticator, reserved: ReservedTopics, *, max_packet_size: int = 131072 + 4096,
                 session_queue_limit: int = 1000, store: SessionStore | None = None) -> None:
        self._authenticator = authenticator
        self._reserved = reserved
        self._max_packet_size = max_packet_size
        self._queue_limit = session_queue_limit
        self._sessions: dict[str, Session] = {}
        self._table = SubscriptionTable()
        self._retained: dict[str, Message] = {}
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: set[Connection] = set()
        self._journal = SessionJournal(store) if store is not None else None  # None: sessions live in memory
        self._restored = False

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self, host: str, port: int, ssl: ssl_module.SSLContext | None = None) -> int:
        """Listen on ``host``:``port`` (0 picks a free port); returns the bound port.

        May be called more than once (say plain 1883 and TLS 8883): the listeners share the sessions. The
        first call reads the stored sessions back, if there is a store.
        """
        if self._journal is not None and not self._restored:
            self._restored = True
            await self._restore(self._journal)
        server = await asyncio.start_server(self._serve, host, port, ssl=ssl, backlog=LISTEN_BACKLOG)
        self._servers.append(server)
        bound: int = server.sockets[0].getsockname()[1]
        logger.info("MQTT broker listening on %s:%d%s", host, bound, " (TLS)" if ssl else "")
        return bound

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for connection in list(self._connections):
            connection.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self._journal is not None:
            await self._journal.close()  # the sessions as the connections' ends left them
        for session in self._sessions.values():
            session.cancel_expiry()
        self._sessions.clear()
        self._table = SubscriptionTable()
        self._restored = False

    async def _restore(self, journal: SessionJournal) -> None:
        loop = asyncio.get_running_loop()
        records = await journal.load()
        for record in records:
            session = journal.restored(record, self._queue_limit)
            for topic_filter, subscription in list(session.subscriptions.items()):
                try:
                    self._table.add(session.client_id, parse_topic_filter(topic_filter, allow_shared=True),
                                    subscription)
                except TopicError as error:
                    logger.warning("stored session %r: dropping its subscription: %s", session.client_id, error)
                    del session.subscriptions[topic_filter]
            remaining = record.expires_in
            if remaining is None:  # connected when otahub stopped without a goodbye: it ends expiry from now
                journal.disconnected(session)
                remaining = session.expiry
            session.expiry_timer = loop.call_later(remaining, self._expire, session)
            self._sessions[session.client_id] = session
        if records:
            logger.info("restored %d persistent sessions (%d messages queued)", len(records),
                        sum(len(record.messages) for record in records))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        certificate = None
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            certificate = ssl_object.getpeercert(binary_form=True)
        connection = Connection(self, reader, writer, self._max_packet_size, certificate)
        self._connections.add(connection)
        try:
            await connection.run()
        finally:
            self._connections.discard(connection)
            if task is not None:
                self._tasks.discard(task)

    # -- server-initiated ----------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Route a message from otahub itself to the subscribers (call on the event loop's thread)."""
        validate_topic_name(topic)
        self._route(Message(topic, payload, min(qos, 1)), sender=None)

    # -- what connections call -----------------------------------------------------------------------

    def changes(self) -> int:
        """A mark for ``stored``: how many changes were made to stored sessions so far."""
        return 0 if self._journal is None else self._journal.count

    def stored(self, mark: int) -> asyncio.Future[None] | None:
        """None when no stored session changed since ``mark``; else a future done once the changes are durable."""
        return None if self._journal is None else self._journal.durable(mark)

    def authenticate(self, client_id: str, username: str | None, password: bytes | None,
                     certificate: bytes | None) -> tuple[str, ...] | None:
        try:
            return self._authenticator.authenticate(client_id, username, password, certificate)
        except Exception:
            logger.exception("the authenticator failed for client %r", client_id)
            return None

    def attach(self, connection: Connection, clean_start: bool, expiry: int) -> tuple[Session, bool]:
        """The session for the connection's client id (taken over, resumed or new) and "session present"."""
        assert connection.client is not None
        client_id = connection.client.client_id
        existing = self._sessions.get(client_id)
        if existing is not None and existing.connection is not None:
            logger.info("client %r connected again: closing its previous connection", client_id)
            existing.connection.take_over()
        existing = self._sessions.get(client_id)
        if existing is not None and clean_start:
            self._discard(existing)
            existing = None
        session = existing or Session(client_id, self._queue_limit, expiry)
        session.cancel_expiry()
        session.expiry = expiry
        session.connection = connection
        self._sessions[client_id] = session
        self._keep(session)
        return session, existing is not None

    def detach(self, connection: Connection, *, clean: bool) -> None:
        """The connection ended: publish its Will if the end was unclean; end or keep its session."""
        will, connection.will = connection.will, None
        if will is not None and not clean and connection.client is not None:
            self._publish_will(connection.client, will)
        session = connection.session
        if session is None or session.connection is not connection:
            return
        session.connection = None
        if session.expiry == 0:
            self._discard(session)
        else:
            self._keep(session)
            loop = asyncio.get_running_loop()
            session.expiry_timer = loop.call_later(session.expiry, self._expire, session)

    def receive(self, connection: Connection, message: Message) -> list[Outgoing]:
        """A client's publish: the replies for a reserved topic, or routed to the subscribers (``[]``)."""
        client = connection.client
        assert client is not None
        try:
            replies = self._reserved.handle(client, message.topic, message.payload)
        except PermissionError:
            raise
        except Exception:
            logger.exception("the reserved topic handler failed for %r", message.topic)
            return []
        if replies is not None:
            return replies
        self._route(message, sender=client.client_id)
        return []

    def subscribe(self, connection: Connection, subscription: p.Subscription) -> tuple[int, list[Message]]:
        """The SUBACK code for one subscription and the retained messages it is to receive."""
        client, session = connection.client, connection.session
        assert client is not None and session is not None
        v5 = client.protocol_level == p.MQTT_5
        try:
            parsed = parse_topic_filter(subscription.topic_filter, allow_shared=True)
        except TopicError as error:
            logger.info("client %r: %s", client.client_id, error)
            return (ReasonCode.TOPIC_FILTER_INVALID if v5 else 0x80), []
        if not self._may_subscribe(client, parsed.filter):
            logger.info("client %r may not subscribe to %r", client.client_id, subscription.topic_filter)
            return (ReasonCode.NOT_AUTHORIZED if v5 else 0x80), []
        granted = replace(subscription, qos=min(subscription.qos, 1))
        existed = session.subscriptions.get(subscription.topic_filter) is not None
        session.subscriptions[subscription.topic_filter] = granted
        self._table.add(client.client_id, parsed, granted)
        if session.journal is not None:
            session.journal.save(session)
        send_retained = parsed.share_group is None and (
            subscription.retain_handling == 0 or (subscription.retain_handling == 1 and not existed))
        retained = [
            replace(message, qos=min(message.qos, granted.qos))
            for topic, message in self._retained.items() if send_retained and topic_matches(parsed.filter, topic)
        ]
        return granted.qos, retained

    def unsubscribe(self, connection: Connection, topic_filter: str) -> bool:
        session = connection.session
        assert session is not None
        if session.subscriptions.pop(topic_filter, None) is None:
            return False
        self._table.remove(session.client_id, parse_topic_filter(topic_filter, allow_shared=True))
        if session.journal is not None:
            session.journal.save(session)
        return True

    # -- routing -------------------------------------------------------------------------------------

    def _may_subscribe(self, client: ClientInfo, topic_filter: str) -> bool:
        try:
            return self._reserved.may_subscribe(client, topic_filter)
        except Exception:
            logger.exception("may_subscribe failed for %r", topic_filter)
            return False

    def _online(self, client_id: str) -> bool:
        session = self._sessions.get(client_id)
        return session is not None and session.connection is not None

    def _route(self, message: Message, sender: str | None) -> None:
        if message.retain:
            self._retain(message)
        for client_id, subscriptions in self._table.match(message.topic, self._online).items():
            if client_id == sender:
                subscriptions = [s for s in subscriptions if not s.no_local]
            session = self._sessions.get(client_id)
            if not subscriptions or session is None:
                continue
            qos = min(message.qos, max(s.qos for s in subscriptions))
            retain = message.retain and any(s.retain_as_published for s in subscriptions)
            self._deliver(session, replace(message, qos=qos, retain=retain))

    def _deliver(self, session: Session, message: Message) -> None:
        if session.connection is not None:
            session.connection.deliver(message)
        elif message.qos == 1 and not session.enqueue(message):
            logger.warning("session %r is full: dropped a message for %s", session.client_id, message.topic)

    def _retain(self, message: Message) -> None:
        if not message.payload:
            self._retained.pop(message.topic, None)
        elif message.topic in self._retained or len(self._retained) < RETAINED_LIMIT:
            self._retained[message.topic] = message
        else:
            logger.warning("not retaining %r: %d retained topics already", message.topic, RETAINED_LIMIT)

    def _publish_will(self, client: ClientInfo, will: p.Will) -> None:
        properties = forwarded_properties(will.properties)
        message = Message(will.topic, will.payload, min(will.qos, 1), will.retain, properties)
        try:
            if self._reserved.handle(client, will.topic, will.payload) is not None:
                return
        except Exception as error:  # a refused or failed Will is dropped
            logger.info("the Will of %r to %r was not published: %s", client.client_id, will.topic, error)
            return
        logger.info("publishing the Will of %r to %r", client.client_id, will.topic)
        self._route(message, sender=client.client_id)

    def _keep(self, session: Session) -> None:
        """The store after a session's client came or went: a session that outlives its connection is kept
        (connected, or with its expiry deadline), one that does not is not."""
        journal = self._journal
        if journal is None:
            return
        if session.expiry == 0:
            if session.journal is not None:
                journal.delete(session)
            return
        if session.journal is None:
            journal.persist(session)
        elif session.connection is not None:
            journal.connected(session)
        if session.connection is None:
            journal.disconnected(session)

    def _discard(self, session: Session) -> None:
        session.cancel_expiry()
        if session.journal is not None:
            session.journal.delete(session)
        for topic_filter in session.subscriptions:
            self._table.remove(session.client_id, parse_topic_filter(topic_filter, allow_shared=True))
        session.subscriptions.clear()
        if self._sessions.get(session.client_id) is session:
            del self._sessions[session.client_id]

    def _expire(self, session: Session) -> None:
        session.expiry_timer = None
        if session.connection is None:
            logger.info("session %r expired", session.client_id)
            self._discard(session)
