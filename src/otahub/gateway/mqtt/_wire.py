"""The MQTT data representations (MQTT 5.0 section 1.5, MQTT 3.1.1 section 1.5): reading and writing.

Reading raises only ``ProtocolError``; writing raises ``ValueError`` for values a packet cannot carry.
"""

from __future__ import annotations

from otahub.gateway.mqtt.errors import malformed

MAX_VARINT = 268_435_455
"""The largest Variable Byte Integer (four bytes), hence the largest Remaining Length."""

MAX_UINT16 = 0xFFFF
MAX_UINT32 = 0xFFFF_FFFF


def decode_utf8(raw: bytes) -> str:
    """A UTF-8 Encoded String's text: well-formed UTF-8 (no surrogates) without U+0000 [MQTT-1.5.4-1/2]."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("a string is not well-formed UTF-8") from None
    if "\x00" in text:
        raise malformed("a string contains U+0000")
    return text


class Reader:
    """A bounds-checked cursor over one packet's bytes (everything after the fixed header)."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def expect_end(self) -> None:
        if not self.at_end():
            raise malformed("unexpected bytes at the end of the packet")

    def take(self, count: int) -> bytes:
        end = self._pos + count
        if end > len(self._data):
            raise malformed("the packet ends early")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def varint(self) -> int:
        value, used = parse_varint(self._data, self._pos)
        if value is None:
            raise malformed("the packet ends inside a variable byte integer")
        self._pos += used
        return value

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self) -> str:
        return decode_utf8(self.binary())


def parse_varint(data: bytes | bytearray, start: int) -> tuple[int | None, int]:
    """(value, bytes used) of the Variable Byte Integer at ``start``; (None, 0) if ``data`` ends first.

    Raises ProtocolError past four bytes or for a longer encoding than needed [MQTT-1.5.5-1].
    """
    value = 0
    for index in range(4):
        if start + index >= len(data):
            return None, 0
        byte = data[start + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if index > 0 and byte == 0:
                raise malformed("a variable byte integer does not use the minimum number of bytes")
            return value, index + 1
    raise malformed("a variable byte integer is longer than four bytes")


def check_range(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"{what} must be in {low}..{high}, got {value}")
    return value


def varint(value: int) -> bytes:
    check_range(value, 0, MAX_VARINT, "a variable byte integer")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def u8(value: int) -> bytes:
    return bytes([check_range(value, 0, 0xFF, "a byte")])


def u16(value: int) -> bytes:
    return check_range(value, 0, MAX_UINT16, "a two byte integer").to_bytes(2, "big")


def u32(value: int) -> bytes:
    return check_range(value, 0, MAX_UINT32, "a four byte integer").to_bytes(4, "big")


def binary(data: bytes) -> bytes:
    if len(data) > MAX_UINT16:
        raise ValueError(f"binary data is limited to {MAX_UINT16} bytes, got {len(data)}")
    return u16(len(data)) + data


def string(text: str) -> bytes:
    if "\x00" in text:
        raise ValueError("MQTT strings must not contain U+0000")
    return binary(text.encode("utf-8"))
