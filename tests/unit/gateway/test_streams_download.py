"""Whole downloads through StreamsTopics: any image, any block size, with and without bitmaps, in JSON and
CBOR, reassembled byte-exact; and the FreeRTOS OTA agent's CBOR GetStream replayed on a real stream."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from typing import Any

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.domain.blocks import encode_bitmap
from otahub.gateway.streams import StreamsTopics
from tests.unit.gateway.conftest import Gateway, memory_topics

THING = "dev1"


def download(topics: StreamsTopics, stream: str, fmt: str, size: int, block_size: int, mode: str, n: int | None,
             loss: random.Random) -> bytes:
    """A device fetching file 0 until it has every block, losing some replies; modes: ``offset`` (o and n),
    ``bitmap`` (o=0 and the missing map, as FreeRTOS does), ``window`` (o = first missing and the map)."""
    total = -(-size // block_size)
    image, missing = bytearray(size), set(range(total))
    for _ in range(40 * total + 40):
        if not missing:
            break
        request: dict[str, Any] = {"c": "rdy", "f": 0, "l": block_size, "o": 0 if mode == "bitmap" else min(missing)}
        if mode != "offset":
            bitmap = encode_bitmap(missing, request["o"])
            request["b"] = bitmap if fmt == "cbor" else "0x" + bitmap.hex()
        if n is not None:
            request["n"] = n
        raw = cbor2.dumps(request) if fmt == "cbor" else json.dumps(request).encode()
        replies = topics.handle(THING, f"$aws/things/{THING}/streams/{stream}/get/{fmt}", raw)
        assert replies and sum(len(r.payload) for r in replies) < 2 * 131072 + 200 * len(replies)
        for reply in replies:
            assert reply.topic == f"$aws/things/{THING}/streams/{stream}/data/{fmt}"
            block = cbor2.loads(reply.payload) if fmt == "cbor" else json.loads(reply.payload)
            data = block["p"] if fmt == "cbor" else base64.b64decode(block["p"], validate=True)
            index = block["i"]
            assert (block["c"], block["f"], block["l"]) == ("rdy", 0, len(data))
            assert len(data) == min(block_size, size - index * block_size)  # only the last block is short
            if loss.random() < 0.2:
                continue
            image[index * block_size:index * block_size + len(data)] = data
            missing.discard(index)
    assert not missing
    return bytes(image)


sizes = st.one_of(st.integers(1, 4096), st.integers(4096, 300_000))
block_sizes = st.one_of(st.sampled_from([256, 1024, 4096]), st.integers(256, 131072))


@settings(max_examples=100, deadline=None)
@given(sizes, block_sizes, st.sampled_from(["json", "cbor"]),
       st.sampled_from(["offset", "bitmap", "window"]), st.one_of(st.none(), st.integers(1, 40)), st.integers(0, 2**32))
def test_any_image_reassembles_byte_exact(size: int, block_size: int, fmt: str, mode: str, n: int | None,
                                          seed: int) -> None:
    streams, blocks, topics = memory_topics()
    image = random.Random(seed).randbytes(size)
    streams.add("s", image)
    assert download(topics, "s", fmt, size, block_size, mode, n, random.Random(seed)) == image
    assert all(end - start < block_size for start, end in blocks.reads)  # a block per read, never more


def freertos_bitmap(blocks: int) -> bytearray:
    """The agent's initial "still missing" map: 0xFF, out-of-range bits of the last byte cleared from bit 7 down."""
    bitmap = bytearray(b"\xff" * (-(-blocks // 8)))
    for bit in range(blocks, 8 * len(bitmap)):
        bitmap[bit // 8] &= ~(1 << (bit % 8)) & 0xFF
    return bitmap


def freertos_request(bitmap: bytes, n: int = 1) -> bytes:
    """ota_cbor.c's GetStream request: a definite map of six text keys in the order c, f, l, o, b, n."""
    assert len(bitmap) < 24 and n < 24  # so each length and number fits the initial byte, as below
    raw = (b"\xa6" + b"\x61c" + b"\x63rdy" + b"\x61f" + b"\x00" + b"\x61l" + b"\x19\x10\x00" + b"\x61o" + b"\x00"
           + b"\x61b" + bytes([0x40 + len(bitmap)]) + bitmap + b"\x61n" + bytes([n]))
    assert raw == cbor2.dumps({"c": "rdy", "f": 0, "l": 4096, "o": 0, "b": bytes(bitmap), "n": n})
    return raw


def test_the_freertos_agent_downloads_a_real_stream(gw: Gateway) -> None:
    image = random.Random(7).randbytes(4096 * 10 + 1234)  # 11 blocks of 4 KiB, the last of 1,234 bytes
    gw.image("demo.bin", image)
    gw.stream("AFR_OTA-945d320b", "demo.bin")
    topic = f"$aws/things/{THING}/streams/AFR_OTA-945d320b/get/cbor"
    bitmap = freertos_bitmap(11)
    assert bytes(bitmap) == b"\xff\x07"
    received = bytearray(len(image))
    for _ in range(11):  # otaconfigMAX_NUM_BLOCKS_REQUEST = 1: one block per request
        [reply] = gw.stream_topics.handle(THING, topic, freertos_request(bytes(bitmap)))
        assert (reply.topic, reply.qos) == (f"$aws/things/{THING}/streams/AFR_OTA-945d320b/data/cbor", 0)
        block = cbor2.loads(reply.payload)
        assert set(block) == {"c", "f", "l", "i", "p"} and block["c"] == "rdy" and block["f"] == 0
        assert all(type(block[k]) is int for k in "fli") and type(block["p"]) is bytes
        index = block["i"]
        assert bitmap[index // 8] >> (index % 8) & 1  # the lowest block still missing
        assert block["l"] == len(block["p"]) == (4096 if index < 10 else 1234)
        received[index * 4096:index * 4096 + block["l"]] = block["p"]
        bitmap[index // 8] &= ~(1 << (index % 8)) & 0xFF
    assert bytes(bitmap) == b"\x00\x00" and bytes(received) == image
    stored = gw.streams.describe_stream("AFR_OTA-945d320b").files[0]
    assert hashlib.sha256(received).hexdigest() == stored.sha256
    assert gw.reader.reads == [(i * 4096, min(i * 4096 + 4095, len(image) - 1)) for i in range(11)]


def test_a_real_stream_in_bigger_requests_and_described(gw: Gateway) -> None:
    image = random.Random(8).randbytes(300_000)
    gw.image("a.bin", image)
    gw.image("b.bin", b"second file")
    gw.stream("s2", "a.bin", "b.bin", description="two files")
    [described] = gw.stream_topics.handle(THING, f"$aws/things/{THING}/streams/s2/describe/cbor",
                                          cbor2.dumps({"c": "d"}))
    assert cbor2.loads(described.payload) == {"c": "d", "s": 1, "d": "two files",
                                              "r": [{"f": 0, "z": 300_000}, {"f": 1, "z": 11}]}
    replies = gw.stream_topics.handle(THING, f"$aws/things/{THING}/streams/s2/get/cbor",
                                      freertos_request(bytes(freertos_bitmap(74))[:8], n=20))
    assert [cbor2.loads(r.payload)["i"] for r in replies] == list(range(20))
    assert download(gw.stream_topics, "s2", "json", 300_000, 4096, "bitmap", None, random.Random(1)) == image
    assert max(end - start + 1 for start, end in gw.reader.reads) == 4096
