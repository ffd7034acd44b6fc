"""Start a real `moto_server` (an S3 implementation independent of otahub) on a free loopback port."""

from __future__ import annotations

import collections
import re
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

RUNNING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
REGION = "us-east-1"
KEY_ID = SECRET = "testing"  # moto accepts any key pair


@dataclass
class MotoServer:
    process: subprocess.Popen[str] | None = None
    endpoint: str = ""
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))

    def start(self, timeout: float = 30.0) -> MotoServer:
        """`-p 0`: the kernel picks a free port; werkzeug prints the one it got ("Running on ...")."""
        command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", "0"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(ready,), daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("moto_server did not start:\n" + "".join(self.output))
        return self

    def _pump(self, ready: threading.Event) -> None:
        """Read the output to the end: moto logs every request, and a full pipe would stall it."""
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if not ready.is_set() and (m := RUNNING.search(line)):
                self.endpoint = m.group(1)
                ready.set()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self) -> Any:
        """boto3 straight at moto, to look at what otahub stored there."""
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET, config=Config(s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        name = f"blobs-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


def keys_under(client: Any, bucket: str, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
