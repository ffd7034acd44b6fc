"""One client connection: the CONNECT handshake, keep-alive, and the packets of a connected client.

Reading and answering run in the connection's own task. Writes never wait: they go into the transport's
buffer, which is bounded. A QoS 0 message for a client whose buffer is past ``_QOS0_BUFFER_LIMIT`` is
dropped; QoS 1 messages wait in the session, at most ``_MAX_INFLIGHT`` (or the client's Receive Maximum)
unacknowledged at once; a client that lets even that and its acks pile up past the hard limit is cut
off. A client whose replies back up is not read from until its buffer drains, so it slows only itself.

With a session store, a packet that changed a stored session (a QoS 1 publish queued for one, a subscription,
a CONNECT) is answered once the change is durable. PUBACKs (and the replies after them) wait in order until
the end of what was read at once, so a burst of publishes shares one commit; the connection reads nothing
more until they are sent.

QoS 2 (as AWS IoT): a QoS 2 PUBLISH closes a 3.1.1 connection and gets DISCONNECT 0x9B from MQTT 5; a
QoS 2 Will refuses the connection (CONNACK 0x9B, or a plain close at 3.1.1); a subscription asking for
QoS 2 is granted QoS 1 at both levels (MQTT 5 advertises Maximum QoS 1 in CONNACK).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import TYPE_CHECKING

from otahub.gateway.messages import Outgoing
from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.codec import PacketReader, encode
from otahub.gateway.mqtt.errors import ProtocolError, ReasonCode
from otahub.gateway.mqtt.ports import ClientInfo
from otahub.gateway.mqtt.properties import NO_PROPERTIES, Properties
from otahub.gateway.mqtt.sessions import Message, Session, forwarded_properties
from otahub.gateway.mqtt.topics import TopicError, validate_topic_name

if TYPE_CHECKING:
    from otahub.gateway.mqtt.broker import Broker

logger = logging.getLogger("otahub.mqtt")

CONNECT_TIMEOUT = 10.0
"""Seconds a new connection has to send its CONNECT."""
PERSISTENT_SESSION_EXPIRY = 3600
"""How long a 3.1.1 ``clean_session=0`` session outlives its connection (AWS IoT's default: one hour)."""
MAX_SESSION_EXPIRY = 7 * 24 * 3600
"""The cap on an MQTT 5 Session Expiry Interval (AWS IoT's maximum: seven days)."""
TOPIC_ALIAS_MAXIMUM = 8
"""Topic aliases a client may set (AWS IoT allows 8)."""
_MAX_INFLIGHT = 32
_QOS0_BUFFER_LIMIT = 1 << 20
_READ_SIZE = 65536


class _Close(Exception):
    """End the connection; an MQTT 5 client that got its CONNACK is told ``reason`` in a DISCONNECT."""

    def __init__(self, reason: ReasonCode, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Connection:
    def __init__(self, broker: Broker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 max_packet_size: int, certificate: bytes | None) -> None:
        self._broker = broker
        self._reader = reader
        self._writer = writer
        self._parser = PacketReader(p.MQTT_311, max_packet_size=max_packet_size)
        self._max_packet_size = max_packet_size
        self._certificate = certificate
        self._peer = writer.get_extra_info("peername")
        self.level = p.MQTT_311
        self.client: ClientInfo | None = None
        self.session: Session | None = None
        self.will: p.Will | None = None
        self._keep_alive = 0
        self._aliases: dict[int, str] = {}
        self._window = _MAX_INFLIGHT
        self._client_max_packet: int | None = None
        self._hard_limit = _QOS0_BUFFER_LIMIT + (_MAX_INFLIGHT + 2) * max_packet_size
        self._closed = False
        self._ready = False  # CONNACK sent: messages may go out
        self._held: list[tuple[int | None, list[Outgoing]]] = []  # publishes answered once the store has them
        self._waiting: list[asyncio.Future[None]] = []  # the store writes they wait for

    # -- the task ------------------------------------------------------------------------------------

    async def run(self) -> None:
        clean = False
        try:
            clean = await self._serve()
        except _Close as close:
            logger.info("closing %s (%s): %s", self._name(), close.reason.name, close)
            self._disconnect(close.reason)
        except ProtocolError as error:
            logger.info("closing %s: %s", self._name(), error)
            if error.reason_code is ReasonCode.UNSUPPORTED_PROTOCOL_VERSION and self.client is None:
                self._send(p.Connack(1), p.MQTT_311)
            self._disconnect(error.reason_code)
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as error:
            logger.info("connection %s lost: %s", self._name(), error)
        except Exception:
            logger.exception("closing %s after an internal error", self._name())
            self._disconnect(ReasonCode.UNSPECIFIED_ERROR)
        finally:
            self._broker.detach(self, clean=clean)
            self._closed = True
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    async def _serve(self) -> bool:
        """Read and handle packets; True for a clean end (DISCONNECT without Will), False otherwise."""
        timeout: float | None = CONNECT_TIMEOUT
        while not self._closed:
            try:
                async with asyncio.timeout(timeout):
                    data = await self._reader.read(_READ_SIZE)
            except TimeoutError:
                raise _Close(ReasonCode.KEEP_ALIVE_TIMEOUT, "no packet within 1.5 x keep-alive") from None
            if not data:
                return False
            for packet in self._parser.feed(data):
                if self._closed:  # taken over while waiting for the store
                    return False
                if not isinstance(packet, p.Publish):
                    await self._answer_publishes()
                result = await self._handle(packet)
                if result is not None:
                    return result
            await self._answer_publishes()
            timeout = 1.5 * self._keep_alive if self._keep_alive else None
            if self._writer.transport.get_write_buffer_size() > _QOS0_BUFFER_LIMIT:
                await self._drain(timeout or CONNECT_TIMEOUT)
        return False

    async def _drain(self, timeout: float) -> None:
        """Wait (reading nothing more) until a backed-up client takes its data; cut it off if it does not."""
        try:
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise _Close(ReasonCode.SERVER_BUSY, "the client does not read what it is sent") from None

    def take_over(self) -> None:
        """Another connection took this client id: tell an MQTT 5 client, publish the Will, and close."""
        self._disconnect(ReasonCode.SESSION_TAKEN_OVER)
        self._broker.detach(self, clean=False)
        self._closed = True
        self._writer.close()

    def abort(self) -> None:
        self._closed = True
        self._writer.transport.abort()

    async def _stored(self, mark: int) -> None:
        """Until the changes made to stored sessions since ``mark`` are durable (no store: at once)."""
        waiter = self._broker.stored(mark)
        if waiter is not None:
            await asyncio.shield(waiter)

    async def _answer_publishes(self) -> None:
        """The PUBACKs and replies held back, in order, once the store has what they wait for."""
        if not self._held:
            return
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:  # a failed write raises: those publishes get no PUBACK
            await asyncio.shield(waiter)
        held, self._held = self._held, []
        for packet_id, replies in held:
            self._answer(packet_id, replies)

    def _answer(self, packet_id: int | None, replies: list[Outgoing]) -> None:
        if packet_id is not None:
            self._send(p.Puback(packet_id))
        for reply in replies:
            self.deliver(Message(reply.topic, reply.payload, min(reply.qos, 1)))

    # -- sending -------------------------------------------------------------------------------------

    def _name(self) -> str:
        return repr(self.client.client_id) if self.client is not None else str(self._peer)

    def _send(self, packet: p.Packet, level: int | None = None) -> bool:
        if self._closed or self._writer.transport.is_closing():
            return False
        data = encode(packet, self.level if level is None else level)
        if self._client_max_packet is not None and len(data) > self._client_max_packet:
            logger.debug("not sending %d bytes past the Maximum Packet Size of %s", len(data), self._name())
            return False
        if self._writer.transport.get_write_buffer_size() + len(data) > self._hard_limit:
            logger.warning("cutting off %s: its write buffer is full", self._name())
            self.abort()
            return False
        self._writer.write(data)
        return True

    def _disconnect(self, reason: ReasonCode) -> None:
        if self.level == p.MQTT_5 and self.client is not None:
            self._send(p.Disconnect(reason))

    def deliver(self, message: Message) -> None:
        """Send a message to this client: QoS 0 now (unless its buffer is full), QoS 1 through the session."""
        if message.qos == 0:
            if not self._ready:
                return  # its CONNACK waits for the store: QoS 0 may be dropped
            if self._writer.transport.get_write_buffer_size() > _QOS0_BUFFER_LIMIT:
                logger.debug("dropping a QoS 0 message for %s: its write buffer is full", self._name())
                return
            self._send(self._publish(message, None, dup=False))
            return
        assert self.session is not None
        if not self.session.enqueue(message):
            logger.warning("session %r is full: dropped a message for %s", self.session.client_id, message.topic)
        self.pump()

    def pump(self) -> None:
        """Send queued QoS 1 messages while fewer than the window are unacknowledged. A message the
        connection could not take stays queued for the session's next connection; one larger than the
        client's Maximum Packet Size is dropped."""
        session = self.session
        assert session is not None
        while self._ready and session.pending and len(session.inflight) < self._window and not self._closed:
            message = session.pending[0]
            packet_id = session.next_packet_id()
            if self._send(self._publish(message, packet_id, dup=False)):
                session.pending.popleft()
                session.inflight[packet_id] = message
            elif self._closed or self._writer.transport.is_closing():
                return
            else:
                session.pending.popleft()
                session.forget(message)

    def _publish(self, message: Message, packet_id: int | None, *, dup: bool) -> p.Publish:
        properties = message.properties if self.level == p.MQTT_5 else NO_PROPERTIES
        return p.Publish(message.topic, message.payload, message.qos, message.retain, dup, packet_id, properties)

    # -- packets -------------------------------------------------------------------------------------

    async def _handle(self, packet: p.Packet) -> bool | None:
        """Handle one packet; True/False ends the connection (clean or not), None goes on."""
        if self.client is None:
            if not isinstance(packet, p.Connect):
                raise ProtocolError(ReasonCode.PROTOCOL_ERROR, f"{type(packet).__name__} before CONNECT")
            return await self._on_connect(packet)
        if isinstance(packet, p.Publish):
            await self._on_publish(packet)
        elif isinstance(packet, p.Puback):
            self._on_puback(packet)
        elif isinstance(packet, p.Subscribe):
            await self._on_subscribe(packet)
        elif isinstance(packet, p.Unsubscribe):
            await self._on_unsubscribe(packet)
        elif isinstance(packet, p.Pingreq):
            self._send(p.Pingresp())
        elif isinstance(packet, p.Disconnect):
            return self._on_disconnect(packet)
        else:
            raise _Close(ReasonCode.PROTOCOL_ERROR, f"unexpected {type(packet).__name__}")
        return None

    def _refuse(self, code: int, why: str) -> bool:
        logger.info("refusing connection %s: %s", self._peer, why)
        self._send(p.Connack(code))
        return False

    async def _on_connect(self, packet: p.Connect) -> bool | None:
        self.level = packet.protocol_level
        v5 = self.level == p.MQTT_5
        if packet.will is not None:
            if packet.will.qos == 2:
                if v5:
                    return self._refuse(ReasonCode.QOS_NOT_SUPPORTED, "a QoS 2 Will")
                return False
            try:
                validate_topic_name(packet.will.topic)
            except TopicError as error:
                if v5:
                    return self._refuse(ReasonCode.TOPIC_NAME_INVALID, str(error))
                return False
        client_id, assigned = packet.client_id, None
        if not client_id:
            if not v5 and not packet.clean_start:
                return self._refuse(2, "an empty client id for a persistent session")
            client_id = assigned = f"otahub-{secrets.token_hex(8)}"
        things = self._broker.authenticate(client_id, packet.username, packet.password, self._certificate)
        if things is None:
            return self._refuse(ReasonCode.NOT_AUTHORIZED if v5 else 5, f"client {client_id!r} not authorized")
        properties = packet.properties
        if v5:
            requested = properties.session_expiry_interval or 0
            expiry = min(requested, MAX_SESSION_EXPIRY)
            self._window = min(properties.receive_maximum or _MAX_INFLIGHT, _MAX_INFLIGHT)
            self._client_max_packet = properties.maximum_packet_size
        else:
            requested = expiry = 0 if packet.clean_start else PERSISTENT_SESSION_EXPIRY
        self.client = ClientInfo(client_id, packet.username, self.level, things)
        self.will = packet.will
        self._keep_alive = packet.keep_alive
        mark = self._broker.changes()
        session, present = self._broker.attach(self, packet.clean_start, expiry)
        self.session = session
        await self._stored(mark)  # the session CONNACK speaks of is in the store (or gone from it)
        self._send(p.Connack(0, present, self._connack_properties(assigned, expiry, requested)))
        logger.info("client %r connected (MQTT %s, session present %s)", client_id, "5" if v5 else "3.1.1", present)
        self._ready = True
        for packet_id, message in list(session.inflight.items()):
            self._send(self._publish(message, packet_id, dup=True))
        self.pump()
        return None

    def _connack_properties(self, assigned: str | None, expiry: int, requested: int) -> Properties:
        if self.level != p.MQTT_5:
            return NO_PROPERTIES
        return Properties(
            assigned_client_identifier=assigned, maximum_qos=1, retain_available=1,
            topic_alias_maximum=TOPIC_ALIAS_MAXIMUM, maximum_packet_size=self._max_packet_size,
            wildcard_subscription_available=1, subscription_identifier_available=0,
            shared_subscription_available=1, session_expiry_interval=expiry if expiry != requested else None,
        )

    def _topic(self, packet: p.Publish) -> str:
        alias = packet.properties.topic_alias
        if alias is None:
            topic = packet.topic
        elif alias > TOPIC_ALIAS_MAXIMUM:
            raise _Close(ReasonCode.TOPIC_ALIAS_INVALID, f"topic alias {alias} above {TOPIC_ALIAS_MAXIMUM}")
        elif packet.topic:
            topic = self._aliases[alias] = packet.topic
        elif (known := self._aliases.get(alias)) is not None:
            topic = known
        else:
            raise _Close(ReasonCode.PROTOCOL_ERROR, f"topic alias {alias} was never set")
        try:
            validate_topic_name(topic)
        except TopicError as error:
            raise _Close(ReasonCode.TOPIC_NAME_INVALID, str(error)) from None
        return topic

    async def _on_publish(self, packet: p.Publish) -> None:
        if packet.qos == 2:
            raise _Close(ReasonCode.QOS_NOT_SUPPORTED, "QoS 2 is not supported")
        topic = self._topic(packet)
        message = Message(topic, packet.payload, packet.qos, packet.retain, forwarded_properties(packet.properties))
        mark = self._broker.changes()
        try:
            replies = self._broker.receive(self, message)
        except PermissionError as error:
            await self._answer_publishes()  # those before it first
            if self.level != p.MQTT_5:
                raise _Close(ReasonCode.NOT_AUTHORIZED, f"publish to {topic!r} refused: {error}") from None
            logger.info("publish by %s to %r refused: %s", self._name(), topic, error)
            if packet.packet_id is not None:
                self._send(p.Puback(packet.packet_id, ReasonCode.NOT_AUTHORIZED))
            return
        # acknowledged once queued, durably, for every persistent subscriber (and after earlier publishes)
        waiter = self._broker.stored(mark) if packet.packet_id is not None else None
        if waiter is None and not self._held:
            self._answer(packet.packet_id, replies)
            return
        if waiter is not None and waiter not in self._waiting:
            self._waiting.append(waiter)
        self._held.append((packet.packet_id, replies))

    def _on_puback(self, packet: p.Puback) -> None:
        assert self.session is not None
        self.session.acknowledged(packet.packet_id)
        self.pump()

    async def _on_subscribe(self, packet: p.Subscribe) -> None:
        if packet.properties.subscription_identifiers:
            raise _Close(ReasonCode.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, "subscription identifiers")
        mark = self._broker.changes()
        results = [self._broker.subscribe(self, subscription) for subscription in packet.subscriptions]
        await self._stored(mark)
        self._send(p.Suback(packet.packet_id, tuple(code for code, _ in results)))
        for _, retained in results:
            for message in retained:
                self.deliver(message)

    async def _on_unsubscribe(self, packet: p.Unsubscribe) -> None:
        mark = self._broker.changes()
        codes = tuple(
            ReasonCode.SUCCESS if self._broker.unsubscribe(self, topic_filter) else ReasonCode.NO_SUBSCRIPTION_EXISTED
            for topic_filter in packet.topic_filters
        )
        await self._stored(mark)
        self._send(p.Unsuback(packet.packet_id, codes if self.level == p.MQTT_5 else ()))

    def _on_disconnect(self, packet: p.Disconnect) -> bool:
        """Normal disconnection drops the Will; MQTT 5 reason 0x04 keeps it (an unclean end)."""
        expiry = packet.properties.session_expiry_interval
        if expiry is not None and self.session is not None:
            self.session.expiry = min(expiry, MAX_SESSION_EXPIRY)
        self._closed = True
        return packet.reason_code != 0x04
