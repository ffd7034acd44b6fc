"""The aws-chunked body encoding of S3 uploads, decoded as it streams (sans-io).

Three forms arrive, named by ``x-amz-content-sha256``:

* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: ``<hex size>;chunk-signature=<sig>\\r\\n<data>\\r\\n`` ...
  ending with a zero-size chunk; each signature chains from the previous one (the first from the
  request's own signature), so every byte is authenticated;
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: the same, then trailing headers (a checksum) and
  ``x-amz-trailer-signature``;
* ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (botocore over HTTPS): ``<hex size>\\r\\n<data>\\r\\n`` ...
  then trailing headers, unsigned.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
FORMS = (SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_LINE = 4096


class ChunkError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = 403 if code == "SignatureDoesNotMatch" else 400


@dataclass(frozen=True)
class ChunkSigner:
    """What chained chunk signatures need: the request's signature, its timestamp, scope and key."""

    seed_signature: str
    timestamp: str
    scope: str  # date/region/service/aws4_request
    signing_key: bytes

    def chunk(self, previous: str, data_sha256: str) -> str:
        text = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.timestamp, self.scope, previous, EMPTY_SHA256, data_sha256])
        return hmac.new(self.signing_key, text.encode(), hashlib.sha256).hexdigest()

    def trailer(self, previous: str, trailer_text: str) -> str:
        digest = hashlib.sha256(trailer_text.encode()).hexdigest()
        text = "\n".join(["AWS4-HMAC-SHA256-TRAILER", self.timestamp, self.scope, previous, digest])
        return hmac.new(self.signing_key, text.encode(), hashlib.sha256).hexdigest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class AwsChunkedDecoder:
    """Feed raw body bytes; get payload bytes out; ``close()`` checks the end and returns trailers."""

    def __init__(self, form: str, signer: ChunkSigner | None) -> None:
        if form not in FORMS:
            raise ChunkError("InvalidArgument", f"Unsupported x-amz-content-sha256 value {form}")
        if form != UNSIGNED_TRAILER and signer is None:
            raise ChunkError("InvalidArgument", f"{form} needs a SigV4 signed request")
        self.form = form
        self.signer = signer
        self.previous = signer.seed_signature if signer else ""
        self.buffer = bytearray()
        self.remaining = -1  # bytes of chunk data still expected; -1: a chunk header comes next
        self.expected_signature = ""
        self.chunk_hash = hashlib.sha256()
        self.trailers: dict[str, str] = {}
        self.trailer_lines: list[str] = []
        self.state = "header"  # header | data | data-end | trailer | done

    def feed(self, data: bytes, out: Callable[[bytes], None]) -> None:
        self.buffer += data
        progressed = True
        while progressed and self.state != "done":
            progressed = getattr(self, f"_{self.state.replace('-', '_')}")(out)

    def close(self) -> dict[str, str]:
        if self.state != "done" or self.buffer.strip():
            raise ChunkError("IncompleteBody", "The request body ended before its final aws-chunked frame")
        return self.trailers

    def _line(self) -> str | None:
        end = self.buffer.find(b"\r\n")
        if end < 0:
            if len(self.buffer) > MAX_LINE:
                raise ChunkError("InvalidChunkSizeError", "An aws-chunked header line is too long")
            return None
        line = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 2]
        return line

    def _header(self, out: Callable[[bytes], None]) -> bool:
        line = self._line()
        if line is None:
            return False
        size_text, _, extension = line.partition(";")
        try:
            self.remaining = int(size_text.strip(), 16)
        except ValueError as exc:
            raise ChunkError("InvalidChunkSizeError", f"Bad aws-chunked size line {line[:40]!r}") from exc
        if self.form != UNSIGNED_TRAILER:
            name, _, value = extension.partition("=")
            if name.strip() != "chunk-signature" or len(value.strip()) != 64:
                raise ChunkError("InvalidSignatureException", "Each aws-chunked chunk must carry chunk-signature")
            self.expected_signature = value.strip()
        self.chunk_hash = hashlib.sha256()
        if self.remaining:
            self.state = "data"
        else:  # the zero-size chunk ends the data; a trailer or an empty line follows
            self._check_chunk_signature()
            self.state = "final" if self.form == SIGNED else "trailer"
        return True

    def _data(self, out: Callable[[bytes], None]) -> bool:
        if not self.buffer:
            return False
        piece = bytes(self.buffer[: self.remaining])
        del self.buffer[: len(piece)]
        self.remaining -= len(piece)
        self.chunk_hash.update(piece)
        out(piece)
        if self.remaining == 0:
            self.state = "data-end"
        return True

    def _data_end(self, out: Callable[[bytes], None]) -> bool:
        if len(self.buffer) < 2:
            return False
        if bytes(self.buffer[:2]) != b"\r\n":
            raise ChunkError("IncompleteBody", "aws-chunked data is longer than its declared size")
        del self.buffer[:2]
        self._check_chunk_signature()
        self.state = "header"
        return True

    def _final(self, out: Callable[[bytes], None]) -> bool:
        line = self._line()
        if line is None:
            return False
        if line:
            raise ChunkError("IncompleteBody", "Unexpected bytes after the final aws-chunked chunk")
        self.state = "done"
        return True

    def _trailer(self, out: Callable[[bytes], None]) -> bool:
        line = self._line()
        if line is None:
            return False
        if line == "":
            self._check_trailer_signature()
            self.state = "done"
            return True
        name, _, value = line.partition(":")
        self.trailers[name.strip().lower()] = value.strip()
        if name.strip().lower() != "x-amz-trailer-signature":
            self.trailer_lines.append(f"{name.strip().lower()}:{value.strip()}\n")
        return True

    def _check_chunk_signature(self) -> None:
        if self.form == UNSIGNED_TRAILER or self.signer is None:
            return
        expected = self.signer.chunk(self.previous, self.chunk_hash.hexdigest())
        if not hmac.compare_digest(expected, self.expected_signature):
            raise ChunkError("SignatureDoesNotMatch", "An aws-chunked chunk signature does not match its data")
        self.previous = expected

    def _check_trailer_signature(self) -> None:
        if self.form != SIGNED_TRAILER or self.signer is None:
            return
        sent = self.trailers.pop("x-amz-trailer-signature", "")
        expected = self.signer.trailer(self.previous, "".join(self.trailer_lines))
        if not hmac.compare_digest(expected, sent):
            raise ChunkError("SignatureDoesNotMatch", "The trailer signature does not match the trailing headers")
