"""The stream topics (ota-update-job.md section 3): GetStream and DescribeStream in JSON and CBOR.

``handle(thing, topic, payload)`` answers one publish: one data message per block (``p`` a CBOR byte
string, or base64 in JSON), a description, or one rejection ``{"o": code, "m": message, "c"?: token}``.
Blocks are read from the blob store one block at a time, never the whole file.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import cbor2

from otahub.domain import blocks as b
from otahub.domain.clock import Clock
from otahub.domain.errors import NotFound
from otahub.domain.streams import MAX_FILE_ID, MIN_FILE_ID, Stream, StreamFile
from otahub.gateway.messages import STREAMS_QOS, Outgoing, Refused, json_bytes, parse_json, shown
from otahub.gateway.topics import (
    Format,
    InvalidTopic,
    StreamDescribe,
    StreamGet,
    data_topic,
    description_topic,
    parse_topic,
    stream_rejected_topic,
)

MAX_TOKEN_BYTES = 64
Body = Mapping[Any, Any]


class BlockReader(Protocol):
    def read(self, file: StreamFile, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` of the file, both inclusive (as the blob stores read)."""
        ...


class StreamCatalog(Protocol):
    """What the stream topics need of StreamService."""

    def describe_stream(self, stream_id: str) -> Stream:
        """The stream, or NotFound."""
        ...


@dataclass(frozen=True, slots=True)
class GetRequest:
    """A GetStream request's fields, checked against the spec's ranges."""

    file_id: int
    block_size: int
    offset: int
    count: int | None
    bitmap: bytes | None
    version: int | None


class StreamsTopics:
    def __init__(self, streams: StreamCatalog, blocks: BlockReader, clock: Clock) -> None:
        self.streams = streams
        self.blocks = blocks
        self.clock = clock  # stream payloads carry no timestamp (ota-update-job.md section 3)

    def handle(self, thing: str, topic: str, payload: bytes) -> list[Outgoing]:
        """The replies to one publish by ``thing``; none for a topic outside the streams namespace, nor for
        a wrong topic of another thing (a right one of another thing is ``Unauthorized``)."""
        request = parse_topic(topic)
        if isinstance(request, InvalidTopic):
            if request.namespace != "streams" or request.thing != thing:
                return []
            return [_rejected(request.reply_topic, request.fmt, Refused("InvalidTopic", request.reason), None)]
        if not isinstance(request, StreamGet | StreamDescribe):
            return []
        reply_to = stream_rejected_topic(request.thing, request.stream_id, request.fmt)
        if request.thing != thing:
            refused = Refused("Unauthorized", f"{thing} cannot use the stream topics of {request.thing}")
            return [_rejected(reply_to, request.fmt, refused, None)]
        token = None
        try:
            body = decode(payload, request.fmt)
            token = read_token(body)
            if isinstance(request, StreamGet):
                return self._get(request, read_get(body, request.fmt), token)
            return [self._describe(request, token)]
        except Refused as refused:
            return [_rejected(reply_to, request.fmt, refused, token)]
        except NotFound as error:
            return [_rejected(reply_to, request.fmt, Refused("ResourceNotFound", error.message), token)]

    def _describe(self, request: StreamDescribe, token: str | None) -> Outgoing:
        stream = self.streams.describe_stream(request.stream_id)
        wire: dict[str, Any] = _with_token(token)
        wire["s"] = stream.version
        if stream.description is not None:
            wire["d"] = stream.description
        wire["r"] = [{"f": f.file_id, "z": f.size} for f in stream.files]
        return Outgoing(description_topic(request.thing, request.stream_id, request.fmt),
                        encode(wire, request.fmt), STREAMS_QOS)

    def _get(self, request: StreamGet, get: GetRequest, token: str | None) -> list[Outgoing]:
        stream = self.streams.describe_stream(request.stream_id)
        if get.version is not None and get.version != stream.version:
            raise Refused("VersionMismatch", f"Stream {stream.stream_id} is at version {stream.version}, "
                                             f"not {shown(get.version)}")
        file = stream.file(get.file_id)
        if file is None:
            raise NotFound("Stream file", f"{get.file_id} of {stream.stream_id}")
        wanted = b.blocks_wanted(get.offset, get.count, get.bitmap, get.block_size, file.size)
        if not wanted and _asks_for_blocks(get):
            raise Refused("OffsetOutOfBounds", f"No block asked for lies in file {file.file_id} of "
                                               f"{file.size} bytes ({b.block_count(file.size, get.block_size)} "
                                               f"blocks of {get.block_size})")
        topic = data_topic(request.thing, request.stream_id, request.fmt)
        return [Outgoing(topic, self._block(file, get.block_size, index, token, request.fmt), STREAMS_QOS)
                for index in wanted]

    def _block(self, file: StreamFile, block_size: int, index: int, token: str | None, fmt: Format) -> bytes:
        start, end = b.block_span(index, block_size, file.size)
        data = self.blocks.read(file, start, end - 1)
        if len(data) != end - start:
            raise Refused("InternalError", f"Block {index} of file {file.file_id} read {len(data)} bytes, "
                                           f"not {end - start}")
        payload: bytes | str = data if fmt is Format.CBOR else base64.b64encode(data).decode("ascii")
        return encode({**_with_token(token), "f": file.file_id, "l": len(data), "i": index, "p": payload}, fmt)


def _asks_for_blocks(get: GetRequest) -> bool:
    """Whether a request names any block at all (``n`` 0 or an all-zero bitmap names none [U])."""
    return get.count != 0 and (get.bitmap is None or any(get.bitmap))


def _with_token(token: str | None) -> dict[str, Any]:
    return {} if token is None else {"c": token}


def _rejected(topic: str, fmt: Format, refused: Refused, token: str | None) -> Outgoing:
    wire: dict[str, Any] = {"o": refused.code, "m": refused.message, **_with_token(token)}
    return Outgoing(topic, encode(wire, fmt), STREAMS_QOS)


def encode(wire: dict[str, Any], fmt: Format) -> bytes:
    return cbor2.dumps(wire) if fmt is Format.CBOR else json_bytes(wire)


def decode(payload: bytes, fmt: Format) -> Body:
    """The request payload as a map; InvalidCbor or InvalidJson if it does not decode, InvalidRequest if it
    is no map. The empty payload is an empty map [U]."""
    body = _decode_cbor(payload) if fmt is Format.CBOR else _decode_json(payload)
    if not isinstance(body, Mapping):
        raise Refused("InvalidRequest", f"The request must be a map, not {type(body).__name__}")
    return body


def _decode_json(payload: bytes) -> Any:
    try:
        return parse_json(payload)
    except (ValueError, RecursionError) as exc:
        raise Refused("InvalidJson", f"The payload is not valid UTF-8 JSON: {exc}") from exc


def _decode_cbor(payload: bytes) -> Any:
    if not payload:
        return {}
    source = io.BytesIO(payload)
    try:
        body = cbor2.CBORDecoder(source).decode()
    except Exception as exc:  # untrusted bytes: cbor2's tag decoders raise many kinds (dates, regexes, ...)
        raise Refused("InvalidCbor", f"The payload is not valid CBOR: {exc}") from exc
    if source.tell() != len(payload):
        raise Refused("InvalidCbor", f"The payload has {len(payload) - source.tell()} bytes after its CBOR item")
    return body


def read_token(body: Body) -> str | None:
    """``c``, the client token: a text string of at most 64 bytes (UTF-8), echoed in every reply."""
    token = body.get("c")
    if token is None:
        return None
    if not isinstance(token, str):
        raise Refused("InvalidRequest", "c (the client token) must be a text string")
    size = len(token.encode("utf-8", "surrogatepass"))
    if size > MAX_TOKEN_BYTES:
        raise Refused("InvalidRequest", f"c (the client token) is {size} bytes long; the most is {MAX_TOKEN_BYTES}")
    return token


def read_get(body: Body, fmt: Format) -> GetRequest:
    """The GetStream fields, each checked for its own error code."""
    file_id = _required(body, "f", "file id")
    if not MIN_FILE_ID <= file_id <= MAX_FILE_ID:
        raise Refused("InvalidRequest", f"f (file id) must be {MIN_FILE_ID} to {MAX_FILE_ID}, not {shown(file_id)}")
    block_size = _required(body, "l", "block size")
    if not b.MIN_BLOCK_SIZE <= block_size <= b.MAX_BLOCK_SIZE:
        raise Refused("BlockSizeOutOfBounds",
                      f"l (block size) must be {b.MIN_BLOCK_SIZE} to {b.MAX_BLOCK_SIZE}, not {shown(block_size)}")
    offset = _integer(body, "o", "block offset") or 0
    if not 0 <= offset <= b.MAX_OFFSET:
        raise Refused("OffsetOutOfBounds", f"o (block offset) must be 0 to {b.MAX_OFFSET}, not {shown(offset)}")
    count = _integer(body, "n", "number of blocks")
    if count is not None and not 0 <= count <= b.MAX_BLOCK_COUNT:
        raise Refused("BlockCountLimitExceeded",
                      f"n (number of blocks) must be 0 to {b.MAX_BLOCK_COUNT}, not {shown(count)}")
    return GetRequest(file_id, block_size, offset, count, _bitmap(body, fmt), _integer(body, "s", "stream version"))


def _required(body: Body, key: str, what: str) -> int:
    value = _integer(body, key, what)
    if value is None:
        raise Refused("InvalidRequest", f"{key} ({what}) is required")
    return value


def _integer(body: Body, key: str, what: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused("InvalidRequest", f"{key} ({what}) must be an integer")
    return value


def _bitmap(body: Body, fmt: Format) -> bytes | None:
    """``b``: a byte string in CBOR, a hex string ``"0x..."`` in JSON; shorter than 12,288 bytes."""
    value = body.get("b")
    if value is None:
        return None
    if fmt is Format.JSON:
        if not isinstance(value, str):
            raise Refused("InvalidRequest", "b (bitmap) must be a hex string 0x... in JSON")
        try:
            value = b.bitmap_from_hex(value)
        except ValueError as exc:
            raise Refused("InvalidRequest", f"b (bitmap): {exc}") from exc
    if not isinstance(value, bytes):
        raise Refused("InvalidRequest", "b (bitmap) must be a byte string in CBOR")
    if len(value) >= b.MAX_BITMAP_BYTES:
        raise Refused("BlockBitmapLimitExceeded",
                      f"b (bitmap) is {len(value)} bytes long; it must be shorter than {b.MAX_BITMAP_BYTES}")
    return value
