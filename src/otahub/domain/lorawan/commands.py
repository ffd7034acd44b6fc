"""What every application-layer package command shares: the error type, field widths, the frame reader
and writer, PackageVersionReq/Ans and the decode loop over one FRMPayload.

A command is a frozen dataclass whose fields are the protocol's fields in domain units (Hz, seconds,
booleans for status bits). Each field declares its wire width in its annotation (``frag_index: U2``,
``descriptor: Bytes4``, ``bool`` for one bit); ``Command.__post_init__`` checks every value against it,
so an instance that exists can always be encoded. ``encode()`` is the CID byte followed by the
command's payload, little-endian.

Decoding is lenient where devices are (RFU bits are ignored) and strict about length: a truncated
command, an unknown CID or a DataFragment sharing its frame raise ``LorawanCodecError`` and nothing else.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

from otahub.domain.errors import InvalidInput


class LorawanCodecError(InvalidInput, ValueError):
    """A command that cannot be encoded or a payload that cannot be decoded."""


# Field widths: annotate a field with one of these aliases (``frag_index: U2``); Command.__post_init__
# checks every value against it, and the property tests generate values from it.


@dataclass(frozen=True)
class UInt:
    """An unsigned field of ``bits`` bits on the wire; the domain value is the wire value times ``step``."""

    bits: int
    step: int = 1


@dataclass(frozen=True)
class SInt:
    """A two's-complement signed field of ``bits`` bits."""

    bits: int


@dataclass(frozen=True)
class Size:
    """Exactly ``size`` opaque bytes."""

    size: int


U2 = Annotated[int, UInt(2)]
U3 = Annotated[int, UInt(3)]
U4 = Annotated[int, UInt(4)]
U8 = Annotated[int, UInt(8)]
U14 = Annotated[int, UInt(14)]
U16 = Annotated[int, UInt(16)]
U24 = Annotated[int, UInt(24)]
U32 = Annotated[int, UInt(32)]
S32 = Annotated[int, SInt(32)]
Bytes4 = Annotated[bytes, Size(4)]
Bytes16 = Annotated[bytes, Size(16)]
#: A frequency in Hz carried as 24 bits in units of 100 Hz (TS005 DLFrequency).
Frequency = Annotated[int, UInt(24, step=100)]

Width = UInt | SInt | Size


_WIDTHS: dict[type[Any], dict[str, Width | type[bool]]] = {}


def field_widths(kind: type[Any]) -> dict[str, Width | type[bool]]:
    """The declared width of every field of a command class (``bool`` for one-bit flags)."""
    cached = _WIDTHS.get(kind)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(kind, include_extras=True)
    widths: dict[str, Width | type[bool]] = {}
    for spec in dataclasses.fields(kind):
        hint = hints[spec.name]
        if hint is bool:
            widths[spec.name] = bool
        for extra in getattr(hint, "__metadata__", ()):
            if isinstance(extra, UInt | SInt | Size):
                widths[spec.name] = extra
    _WIDTHS[kind] = widths
    return widths


def _check_field(owner: str, name: str, width: Width | type[bool], value: Any) -> None:
    label = f"{owner}.{name}"
    if width is bool:
        if not isinstance(value, bool):
            raise LorawanCodecError(f"{label} must be a bool")
        return
    if isinstance(width, Size):
        if not isinstance(value, bytes) or len(value) != width.size:
            raise LorawanCodecError(f"{label} must be exactly {width.size} bytes")
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise LorawanCodecError(f"{label} must be an int, not {value!r}")
    if isinstance(width, SInt):
        limit = 1 << (width.bits - 1)
        if not -limit <= value < limit:
            raise LorawanCodecError(f"{label}={value} does not fit a signed {width.bits}-bit field")
    elif isinstance(width, UInt) and (value < 0 or value % width.step or value // width.step >> width.bits):
        unit = f" in steps of {width.step}" if width.step > 1 else ""
        raise LorawanCodecError(f"{label}={value} does not fit {width.bits} unsigned bits{unit}")


class Reader:
    """A cursor over one FRMPayload; every short read is a LorawanCodecError."""

    def __init__(self, payload: bytes) -> None:
        self.payload = bytes(payload)
        self.offset = 0

    @property
    def remaining(self) -> int:
        return len(self.payload) - self.offset

    def take(self, size: int) -> bytes:
        if size > self.remaining:
            raise LorawanCodecError(
                f"truncated command: {size} bytes expected at offset {self.offset}, {self.remaining} left"
            )
        chunk = self.payload[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def rest(self) -> bytes:
        return self.take(self.remaining)

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "little")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def s32(self) -> int:
        return int.from_bytes(self.take(4), "little", signed=True)


def le(value: int, size: int, *, signed: bool = False) -> bytes:
    return value.to_bytes(size, "little", signed=signed)


def bit(value: int, position: int) -> bool:
    return bool((value >> position) & 1)


@dataclass(frozen=True)
class Command:
    """One application-layer command (either direction). Subclasses set CID and define the payload."""

    CID: ClassVar[int]
    #: DataFragment only: the command takes the rest of the frame and must be alone in it.
    ALONE: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for name, width in field_widths(type(self)).items():
            _check_field(type(self).__name__, name, width, getattr(self, name))

    def encode(self) -> bytes:
        return bytes([self.CID]) + self.payload()

    def payload(self) -> bytes:
        """The bytes after the CID."""
        return b""

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read the bytes after the CID."""
        return cls()


# PackageVersionReq/Ans: CID 0x00 in every package.


@dataclass(frozen=True)
class PackageVersionReq(Command):
    """↓ Which version of this package does the device implement?"""

    CID: ClassVar[int] = 0x00


@dataclass(frozen=True)
class PackageVersionAns(Command):
    """↑ PackageIdentifier (1 clock sync, 2 multicast setup, 3 fragmentation) and PackageVersion."""

    CID: ClassVar[int] = 0x00
    package_identifier: U8
    package_version: U8

    def payload(self) -> bytes:
        return bytes([self.package_identifier, self.package_version])

    @classmethod
    def read(cls, reader: Reader) -> Self:
        return cls(reader.u8(), reader.u8())


CommandTable = Mapping[int, type[Command]]


def decode_commands(payload: bytes, table: CommandTable) -> list[Command]:
    """Split one FRMPayload into commands by CID; a DataFragment-like command must be the only one."""
    reader = Reader(payload)
    commands: list[Command] = []
    while reader.remaining:
        cid = reader.u8()
        kind = table.get(cid)
        if kind is None:
            raise LorawanCodecError(f"unknown command id 0x{cid:02x} at offset {reader.offset - 1}")
        if kind.ALONE and commands:
            raise LorawanCodecError(f"{kind.__name__} must be the only command in its frame")
        commands.append(kind.read(reader))
    return commands


def encode_commands(commands: Sequence[Command]) -> bytes:
    """Concatenate commands into one FRMPayload (a DataFragment goes alone)."""
    if len(commands) > 1 and any(command.ALONE for command in commands):
        raise LorawanCodecError("a DataFragment must be the only command in its frame")
    return b"".join(command.encode() for command in commands)
