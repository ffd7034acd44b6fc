"""The MQTT 3.1.1 / MQTT 5 packet codec, sans I/O: ``PacketReader`` (bytes in, packets out) and ``encode``.

A server starts a reader at level 4; a CONNECT carries its own level and switches the reader to it for
the packets after it, so one ``feed`` may hold the CONNECT and what the client pipelined behind it.
Decoding raises ``ProtocolError`` and nothing else, whatever the bytes; after one the reader refuses
further input (the connection is to be closed). Topic names and filters are checked by the broker with
``topics.py`` (MQTT 5 answers some of those with a reason code instead of closing).
"""

from __future__ import annotations

from otahub.gateway.mqtt import _wire
from otahub.gateway.mqtt._decode import check_first_byte, decode_body
from otahub.gateway.mqtt._encode import encode
from otahub.gateway.mqtt.errors import ProtocolError, ReasonCode, malformed
from otahub.gateway.mqtt.packets import PROTOCOL_LEVELS, Connect, Packet

MAX_PACKET_SIZE = 1 + 4 + _wire.MAX_VARINT
"""The largest packet the wire format allows: fixed header byte, four length bytes, 268,435,455 more."""

__all__ = ["MAX_PACKET_SIZE", "PacketReader", "ProtocolError", "decode", "encode"]


class PacketReader:
    """Feed it bytes as they arrive; it returns the packets they complete.

    ``max_packet_size`` bounds a whole packet (fixed header included, as MQTT 5's Maximum Packet Size
    does): a longer one raises PACKET_TOO_LARGE as soon as its Remaining Length is read, before its
    body is buffered.
    """

    def __init__(self, protocol_level: int, *, max_packet_size: int = MAX_PACKET_SIZE) -> None:
        if protocol_level not in PROTOCOL_LEVELS:
            raise ValueError(f"protocol level must be 4 or 5, got {protocol_level}")
        if max_packet_size < 2:
            raise ValueError("max_packet_size must be at least 2")
        self.protocol_level = protocol_level
        self.max_packet_size = max_packet_size
        self._buffer = bytearray()
        self._failed: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet make a complete packet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Packet]:
        if self._failed is not None:
            raise self._failed
        self._buffer += data
        packets: list[Packet] = []
        try:
            while (packet := self._next()) is not None:
                packets.append(packet)
        except ProtocolError as error:
            self._failed = error
            self._buffer.clear()
            raise
        return packets

    def _next(self) -> Packet | None:
        buffer = self._buffer
        if not buffer:
            return None
        check_first_byte(buffer[0], self.protocol_level)
        remaining, used = _wire.parse_varint(buffer, 1)
        if remaining is None:
            return None
        total = 1 + used + remaining
        if total > self.max_packet_size:
            raise ProtocolError(ReasonCode.PACKET_TOO_LARGE, f"a {total}-byte packet exceeds {self.max_packet_size}")
        if len(buffer) < total:
            return None
        first, body = buffer[0], bytes(buffer[1 + used : total])
        del buffer[:total]
        packet = decode_body(first, body, self.protocol_level)
        if isinstance(packet, Connect):
            self.protocol_level = packet.protocol_level
        return packet


def decode(data: bytes, protocol_level: int) -> Packet:
    """Exactly one complete packet from ``data``."""
    reader = PacketReader(protocol_level)
    packets = reader.feed(data)
    if len(packets) != 1 or reader.buffered:
        raise malformed(f"expected one complete packet, got {len(packets)} and {reader.buffered} more bytes")
    return packets[0]
