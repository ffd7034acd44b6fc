"""aws-chunked decoding: AWS's published signed vector, botocore's own unsigned-trailer encoder,
and arbitrary splits of the stream."""

from __future__ import annotations

import io

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.aws.chunked import (
    SIGNED,
    UNSIGNED_TRAILER,
    AwsChunkedDecoder,
    ChunkError,
    ChunkSigner,
    signing_key,
)

# AWS's documented example (S3 API reference, "Transferring payload in multiple chunks").
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = [
    (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]


def aws_example_signer() -> ChunkSigner:
    key = signing_key(SECRET, "20130524", "us-east-1", "s3")
    return ChunkSigner(SEED, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", key)


def aws_example_body(corrupt: bool = False) -> bytes:
    body = b""
    for size, signature in CHUNK_SIGNATURES:
        data = bytearray(b"a" * size)
        if corrupt and size == 1024:
            data[10] = ord("b")
        body += f"{size:x};chunk-signature={signature}\r\n".encode() + bytes(data) + b"\r\n"
    return body


def decode(form: str, signer: ChunkSigner | None, body: bytes, cuts: list[int]) -> tuple[bytes, dict[str, str]]:
    decoder = AwsChunkedDecoder(form, signer)
    out = bytearray()
    start = 0
    for cut in [*sorted(set(cuts)), len(body)]:
        decoder.feed(body[start:cut], out.extend)
        start = cut
    return bytes(out), decoder.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=66_700), max_size=12))
def test_aws_published_vector_decodes_under_any_split(cuts: list[int]) -> None:
    payload, trailers = decode(SIGNED, aws_example_signer(), aws_example_body(), cuts)
    assert payload == b"a" * 66560
    assert trailers == {}


def test_a_changed_byte_breaks_the_chain() -> None:
    with pytest.raises(ChunkError) as error:
        decode(SIGNED, aws_example_signer(), aws_example_body(corrupt=True), [])
    assert error.value.code == "SignatureDoesNotMatch"


def test_truncated_body_is_incomplete() -> None:
    with pytest.raises(ChunkError) as error:
        decode(SIGNED, aws_example_signer(), aws_example_body()[:-60], [])
    assert error.value.code in {"IncompleteBody", "SignatureDoesNotMatch"}


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=700), st.lists(st.integers(0, 6000), max_size=8))
def test_botocore_unsigned_trailer_stream_round_trips(payload: bytes, chunk_size: int, cuts: list[int]) -> None:
    wrapper = AwsChunkedWrapper(io.BytesIO(payload), checksum_cls=Crc32Checksum,
                                checksum_name="x-amz-checksum-crc32", chunk_size=chunk_size)
    body = wrapper.read()
    decoded, trailers = decode(UNSIGNED_TRAILER, None, body, [c for c in cuts if c < len(body)])
    assert decoded == payload
    expected = Crc32Checksum()
    expected.update(payload)
    assert trailers == {"x-amz-checksum-crc32": expected.b64digest()}


def test_garbage_size_line() -> None:
    with pytest.raises(ChunkError) as error:
        decode(UNSIGNED_TRAILER, None, b"zz\r\nabc\r\n", [])
    assert error.value.code == "InvalidChunkSizeError"
