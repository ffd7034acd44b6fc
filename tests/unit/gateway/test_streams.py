"""StreamsTopics: GetStream and DescribeStream in JSON and CBOR, every limit and error code of
ota-update-job.md section 3 (streams in memory here; on the real store in test_streams_download.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

import cbor2
import pytest

from otahub.domain.blocks import encode_bitmap
from otahub.domain.streams import StreamFile
from otahub.gateway.messages import Outgoing
from otahub.gateway.streams import StreamsTopics
from tests.unit.gateway.conftest import MemoryBlocks, MemoryStreams, memory_topics

PREFIX = "$aws/things/dev1/streams"
IMAGE = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes: 40 blocks of 256 and a short one of 4


@pytest.fixture
def setup() -> tuple[MemoryStreams, MemoryBlocks, StreamsTopics]:
    streams, blocks, topics = memory_topics()
    streams.add("s1", IMAGE, b"x" * 5000, description="firmware")
    streams.add("bare", b"abc")
    return streams, blocks, topics


def encode(request: Any, fmt: str) -> bytes:
    if isinstance(request, bytes):
        return request
    return cbor2.dumps(request) if fmt == "cbor" else json.dumps(request).encode()


def decode(out: Outgoing, fmt: str) -> Any:
    return cbor2.loads(out.payload) if fmt == "cbor" else json.loads(out.payload)


def ask(topics: StreamsTopics, op: str, request: Any, fmt: str, stream: str = "s1") -> list[Outgoing]:
    return topics.handle("dev1", f"{PREFIX}/{stream}/{op}/{fmt}", encode(request, fmt))


def refusal(topics: StreamsTopics, op: str, request: Any, fmt: str, stream: str = "s1") -> dict[str, Any]:
    [out] = ask(topics, op, request, fmt, stream)
    assert (out.topic, out.qos) == (f"{PREFIX}/{stream}/rejected/{fmt}", 0)
    body = decode(out, fmt)
    assert isinstance(body, dict) and list(body)[:2] == ["o", "m"] and isinstance(body["m"], str)
    return body


def test_describe_in_json(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics]) -> None:
    _, _, topics = setup
    [out] = ask(topics, "describe", {"c": "d1"}, "json")
    assert (out.topic, out.qos) == (f"{PREFIX}/s1/description/json", 0)
    assert out.payload == b'{"c":"d1","s":1,"d":"firmware","r":[{"f":0,"z":10244},{"f":1,"z":5000}]}'
    [bare] = ask(topics, "describe", b"", "json", "bare")
    assert bare.payload == b'{"s":1,"r":[{"f":0,"z":3}]}'


def test_describe_in_cbor(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics]) -> None:
    streams, _, topics = setup
    streams.add("v7", b"abc", version=7)
    [out] = ask(topics, "describe", {"c": "rdy"}, "cbor", "v7")
    assert out.topic == f"{PREFIX}/v7/description/cbor"
    assert out.payload == cbor2.dumps({"c": "rdy", "s": 7, "r": [{"f": 0, "z": 3}]})


@pytest.mark.parametrize("fmt", ["json", "cbor"])
def test_get_with_a_bitmap(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics], fmt: str) -> None:
    _, blocks, topics = setup
    bitmap = encode_bitmap([20, 21, 24, 40, 43], 20)  # 43 lies beyond the file's 41 blocks
    request = {"c": "tok", "f": 0, "l": 256, "o": 20, "b": bitmap if fmt == "cbor" else "0x" + bitmap.hex()}
    replies = ask(topics, "get", request, fmt)
    assert {(out.topic, out.qos) for out in replies} == {(f"{PREFIX}/s1/data/{fmt}", 0)}
    bodies = [decode(out, fmt) for out in replies]
    assert [(b["c"], b["f"], b["i"], b["l"]) for b in bodies] == [
        ("tok", 0, 20, 256), ("tok", 0, 21, 256), ("tok", 0, 24, 256), ("tok", 0, 40, 4)]
    assert all(list(body) == ["c", "f", "l", "i", "p"] for body in bodies)
    payloads = [b["p"] if fmt == "cbor" else base64.b64decode(b["p"], validate=True) for b in bodies]
    assert all(isinstance(b["p"], bytes if fmt == "cbor" else str) for b in bodies)
    assert payloads == [IMAGE[i * 256:(i + 1) * 256] for i in (20, 21, 24, 40)]
    assert blocks.reads == [(5120, 5375), (5376, 5631), (6144, 6399), (10240, 10243)]  # one block per read


def test_get_without_a_bitmap_and_its_defaults(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics]) -> None:
    _, blocks, topics = setup
    assert [decode(o, "cbor")["i"] for o in ask(topics, "get", {"f": 0, "l": 256, "o": 38, "n": 10}, "cbor")] == \
        [38, 39, 40]  # clipped to the end of the file
    assert len(ask(topics, "get", {"f": 0, "l": 256}, "cbor")) == 41  # n defaults to 131072 / l = 512
    assert len(ask(topics, "get", {"f": 1, "l": 1024, "n": 3}, "json")) == 3
    [first] = ask(topics, "get", {"f": 1, "l": 4096, "n": 1}, "cbor")
    assert decode(first, "cbor") == {"f": 1, "l": 4096, "i": 0, "p": b"x" * 4096}  # no token, no c
    assert max(end - start + 1 for start, end in blocks.reads) <= 4096


def test_at_most_128_kib_per_request() -> None:
    streams, blocks, topics = memory_topics()
    streams.add("big", bytes(1_000_000))
    assert len(ask(topics, "get", {"f": 0, "l": 4096, "n": 1000}, "cbor", "big")) == 32
    assert len(ask(topics, "get", {"f": 0, "l": 131072, "n": 5}, "cbor", "big")) == 1
    full = encode_bitmap(range(245), 0)
    assert [decode(o, "cbor")["i"] for o in ask(topics, "get", {"f": 0, "l": 4096, "b": full, "n": 98304}, "cbor",
                                                "big")] == list(range(32))
    assert all(end - start + 1 <= 131072 for start, end in blocks.reads)


def test_nothing_asked_nothing_sent(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics]) -> None:
    _, _, topics = setup
    assert ask(topics, "get", {"f": 0, "l": 256, "n": 0}, "cbor") == []
    assert ask(topics, "get", {"f": 0, "l": 256, "b": b"\x00\x00"}, "cbor") == []
    assert ask(topics, "get", {"f": 0, "l": 256, "b": b""}, "cbor") == []


@pytest.mark.parametrize("fmt", ["json", "cbor"])
@pytest.mark.parametrize(("request_", "code"), [
    ({"f": 0, "l": 255}, "BlockSizeOutOfBounds"),
    ({"f": 0, "l": 131073}, "BlockSizeOutOfBounds"),
    ({"f": 0, "l": 0}, "BlockSizeOutOfBounds"),
    ({"f": 0, "l": 256, "o": -1}, "OffsetOutOfBounds"),
    ({"f": 0, "l": 256, "o": 98305}, "OffsetOutOfBounds"),
    ({"f": 0, "l": 256, "o": 41}, "OffsetOutOfBounds"),  # the file has blocks 0..40
    ({"f": 0, "l": 256, "o": 41, "n": 1}, "OffsetOutOfBounds"),
    ({"f": 0, "l": 256, "b": "BITS-BEYOND"}, "OffsetOutOfBounds"),
    ({"f": 0, "l": 256, "n": -1}, "BlockCountLimitExceeded"),
    ({"f": 0, "l": 256, "n": 98305}, "BlockCountLimitExceeded"),
    ({"f": 0, "l": 256, "b": "BITS-12288"}, "BlockBitmapLimitExceeded"),
    ({"f": 2, "l": 256}, "ResourceNotFound"),
    ({"f": 0, "l": 256, "s": 2}, "VersionMismatch"),
    ({"l": 256}, "InvalidRequest"),
    ({"f": 0}, "InvalidRequest"),
    ({"f": 256, "l": 256}, "InvalidRequest"),
    ({"f": -1, "l": 256}, "InvalidRequest"),
    ({"f": "0", "l": 256}, "InvalidRequest"),
    ({"f": True, "l": 256}, "InvalidRequest"),
    ({"f": 0, "l": 4096.0}, "InvalidRequest"),
    ({"f": 0, "l": 256, "o": "1"}, "InvalidRequest"),
    ({"f": 0, "l": 256, "s": "1"}, "InvalidRequest"),
    ({"f": 0, "l": 256, "b": 255}, "InvalidRequest"),
    ([0, 256], "InvalidRequest"),
    ("rdy", "InvalidRequest"),
])
def test_get_refusals(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics], fmt: str, request_: Any,
                      code: str) -> None:
    _, blocks, topics = setup
    if isinstance(request_, dict):
        bits = {"BITS-BEYOND": encode_bitmap([41, 50], 0), "BITS-12288": b"\x01" * 12288}.get(str(request_.get("b")))
        if bits is not None:
            request_ = {**request_, "b": bits if fmt == "cbor" else "0x" + bits.hex()}
        request_ = {"c": "tok", **request_}
    body = refusal(topics, "get", request_, fmt)
    assert body["o"] == code
    assert body.get("c") == ("tok" if isinstance(request_, dict) else None)
    assert blocks.reads == []


@pytest.mark.parametrize(("request_", "code"), [
    ({"c": "t", "f": 2**20000, "l": 256}, "InvalidRequest"),
    ({"c": "t", "f": 0, "l": -(2**20000)}, "BlockSizeOutOfBounds"),
    ({"c": "t", "f": 0, "l": 256, "n": 2**20000}, "BlockCountLimitExceeded"),
    ({"c": "t", "f": 0, "l": 256, "o": 2**20000}, "OffsetOutOfBounds"),
    ({"c": "t", "f": 0, "l": 256, "s": 2**20000}, "VersionMismatch"),
])
def test_cbor_bignums(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics], request_: Any, code: str) -> None:
    body = refusal(setup[2], "get", request_, "cbor")
    assert body["o"] == code and "bit number" in body["m"]


def test_the_largest_bitmap_is_accepted(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics]) -> None:
    _, _, topics = setup
    assert len(ask(topics, "get", {"f": 0, "l": 256, "b": b"\x01" * 12287}, "cbor")) == 6  # blocks 0, 8, .. 40


@pytest.mark.parametrize(("fmt", "request_"), [
    ("cbor", {"f": 0, "l": 256, "b": "0x01"}),  # CBOR bitmaps are byte strings
    ("json", {"f": 0, "l": 256, "b": "01"}),
    ("json", {"f": 0, "l": 256, "b": "0x1"}),
    ("json", {"f": 0, "l": 256, "b": "0xzz"}),
    ("json", {"f": 0, "l": 256, "b": [1]}),
])
def test_bitmap_forms(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics], fmt: str, request_: Any) -> None:
    assert refusal(setup[2], "get", request_, fmt)["o"] == "InvalidRequest"


@pytest.mark.parametrize("fmt", ["json", "cbor"])
def test_tokens(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics], fmt: str) -> None:
    _, _, topics = setup
    assert decode(ask(topics, "describe", {"c": "t" * 64}, fmt)[0], fmt)["c"] == "t" * 64
    assert decode(ask(topics, "describe", {"c": "\u00e9" * 32}, fmt)[0], fmt)["c"] == "\u00e9" * 32  # 64 bytes
    for token in ("t" * 65, "\u00e9" * 33, 7, ["rdy"]):  # "é" * 33 is 33 characters but 66 bytes
        for op, request in (("describe", {"c": token}), ("get", {"c": token, "f": 0, "l": 256})):
            body = refusal(topics, op, request, fmt)
            assert body["o"] == "InvalidRequest" and "c" not in body


@pytest.mark.parametrize(("fmt", "payload", "code"), [
    ("cbor", b"\xff", "InvalidCbor"), ("cbor", b"\xa1\x61", "InvalidCbor"),
    ("cbor", cbor2.dumps({"f": 0, "l": 256}) + b"\x00", "InvalidCbor"),  # bytes after the item
    ("json", b"{", "InvalidJson"), ("json", b"\xff", "InvalidJson"), ("json", b'{"f":NaN}', "InvalidJson"),
    ("json", cbor2.dumps({"f": 0}), "InvalidJson"), ("cbor", b'{"f":0,"l":256}', "InvalidCbor"),
    ("cbor", cbor2.dumps(5), "InvalidRequest"), ("cbor", b"\x81" * 100_000, "InvalidCbor"),  # nested too deep
    ("cbor", b"\xc0\x63abc", "InvalidCbor"), ("cbor", b"\xd8\x1e\x82\x01\x00", "InvalidCbor"),  # bad tags
    ("cbor", b"\x5b\x7f\xff\xff\xff\xff\xff\xff\xff", "InvalidCbor"),  # a byte string longer than the payload
])
def test_undecodable_payloads(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics], fmt: str, payload: bytes,
                              code: str) -> None:
    for op in ("get", "describe"):
        body = refusal(setup[2], op, payload, fmt)
        assert body["o"] == code and "c" not in body


@pytest.mark.parametrize("fmt", ["json", "cbor"])
def test_unknown_stream(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics], fmt: str) -> None:
    for op, request in (("describe", {"c": "x"}), ("get", {"c": "x", "f": 0, "l": 256})):
        body = refusal(setup[2], op, request, fmt, "nope")
        assert (body["o"], body["c"]) == ("ResourceNotFound", "x")


def test_wrong_topics(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics]) -> None:
    _, _, topics = setup
    [out] = topics.handle("dev1", f"{PREFIX}/s1/data/cbor", cbor2.dumps({"c": "x"}))
    assert out.topic == f"{PREFIX}/s1/rejected/cbor" and cbor2.loads(out.payload)["o"] == "InvalidTopic"
    [out] = topics.handle("dev1", f"{PREFIX}/s1/get/xml", b"{}")
    assert out.topic == f"{PREFIX}/s1/get/xml/rejected" and json.loads(out.payload)["o"] == "InvalidTopic"
    [out] = topics.handle("dev1", "$aws/things/dev2/streams/s1/get/cbor", cbor2.dumps({"f": 0, "l": 256}))
    assert out.topic == "$aws/things/dev2/streams/s1/rejected/cbor"
    assert cbor2.loads(out.payload)["o"] == "Unauthorized"
    for topic in ("$aws/things/dev1/jobs/get", "$aws/things/dev1/jobs/x/y/z", "$aws/things/dev1/shadow/get", "a",
                  "$aws/things/dev2/streams/s1/data/cbor", "$aws/things/a b/streams/s1/get/cbor"):
        assert topics.handle("dev1", topic, b"{}") == []


class ShortReads:
    def read(self, file: StreamFile, start: int, end: int) -> bytes:
        return b"\x00" * (end - start)


def test_a_short_read_is_an_internal_error(setup: tuple[MemoryStreams, MemoryBlocks, StreamsTopics]) -> None:
    streams, _, _ = setup
    topics = StreamsTopics(streams, ShortReads(), setup[2].clock)
    body = refusal(topics, "get", {"c": "t", "f": 0, "l": 256, "n": 2}, "cbor")
    assert (body["o"], body["c"]) == ("InternalError", "t")
