"""Ranged downloads against a tiny local HTTP server that drops the connection once mid-file."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from otahub.device.download import DownloadError, RangedDownloader, SizeMismatch

DATA = bytes(range(256)) * 40  # 10,240 bytes
RANGE = re.compile(r"bytes=(\d+)-(\d+)")


@dataclass
class Behaviour:
    data: bytes = DATA
    fail_once_at: int | None = None  # drop the connection halfway through the block starting here
    refuse: set[str] = field(default_factory=set)  # paths answered 403 (expired URLs)
    ranges: list[tuple[str, int, int]] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            match = RANGE.fullmatch(self.headers.get("Range", ""))
            assert match, "every request names a range"
            first, last = int(match.group(1)), min(int(match.group(2)), len(behaviour.data) - 1)
            behaviour.ranges.append((self.path, first, last))
            if self.path.split("?")[0] in behaviour.refuse:
                self._reply(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
                return
            body = behaviour.data[first:last + 1]
            if behaviour.fail_once_at is not None and first >= behaviour.fail_once_at:
                behaviour.fail_once_at = None
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {first}-{last}/{len(behaviour.data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._reply(206, body, {"Content-Range": f"bytes {first}-{last}/{len(behaviour.data)}"})

        def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", behaviour
    httpd.shutdown()
    httpd.server_close()


def downloader(tmp_path: Path, max_failures: int = 5) -> RangedDownloader:
    return RangedDownloader(tmp_path / "dl", block_size=1024, backoff=0, max_failures=max_failures)


def test_block_by_block_with_one_dropped_connection(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    base, behaviour = server
    behaviour.fail_once_at = 5 * 1024
    seen: list[tuple[int, int]] = []
    path = downloader(tmp_path).download("job#1", len(DATA), lambda _fresh: f"{base}/fw?X-Amz-Signature=s",
                                         lambda got, total: seen.append((got, total)))
    assert path.read_bytes() == DATA
    starts = [first for _, first, _ in behaviour.ranges]
    assert starts == [0, 1024, 2048, 3072, 4096, 5120, 5120, 6144, 7168, 8192, 9216]  # block 5 asked twice
    assert all(last - first == 1023 for _, first, last in behaviour.ranges)
    assert seen == [(n, 10) for n in range(1, 11)]
    assert behaviour.ranges[0][0] == "/fw?X-Amz-Signature=s"  # the presigned query goes out as it came


def test_resume_after_the_agent_stopped(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    base, behaviour = server
    behaviour.fail_once_at = 3 * 1024
    with pytest.raises(DownloadError, match="gave up at byte 3072"):
        downloader(tmp_path, max_failures=1).download("job#1", len(DATA), lambda _fresh: f"{base}/fw")
    progress = json.loads((tmp_path / "dl" / "progress.json").read_text())
    assert progress == {"key": "job#1", "size": len(DATA), "offset": 3072}
    with (tmp_path / "dl" / "image.part").open("ab") as part:
        part.write(b"bytes past the synced offset, written just before a crash")
    behaviour.ranges.clear()
    path = downloader(tmp_path).download("job#1", len(DATA), lambda _fresh: f"{base}/fw")  # a new agent process
    assert path.read_bytes() == DATA
    assert behaviour.ranges[0][1] == 3072  # resumed, not restarted
    behaviour.ranges.clear()
    downloader(tmp_path).download("job#2", len(DATA), lambda _fresh: f"{base}/fw")  # another job starts afresh
    assert behaviour.ranges[0][1] == 0


def test_expired_url_is_refreshed(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    base, behaviour = server
    behaviour.refuse = {"/old"}
    asked: list[bool] = []

    def urls(fresh: bool) -> str:
        asked.append(fresh)
        return f"{base}/new" if fresh else f"{base}/old"

    assert downloader(tmp_path).download("job#1", len(DATA), urls).read_bytes() == DATA
    assert asked == [False, True]


def test_size_mismatch_and_giving_up(server: tuple[str, Behaviour], tmp_path: Path) -> None:
    base, behaviour = server
    with pytest.raises(SizeMismatch, match="10240 bytes"):
        downloader(tmp_path).download("job#1", len(DATA) - 10, lambda _fresh: f"{base}/fw")
    behaviour.refuse = {"/fw"}
    with pytest.raises(DownloadError, match="403"):
        downloader(tmp_path, max_failures=3).download("job#3", len(DATA), lambda _fresh: f"{base}/fw")
    with pytest.raises(DownloadError):
        downloader(tmp_path, max_failures=2).download("job#4", 10, lambda _fresh: "http://127.0.0.1:1/closed")
