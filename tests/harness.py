"""Start a real `otahub serve` on a free loopback port and hand out clients for it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from otahub.cli.clock import clock_call

LISTENING = re.compile(r"listening on (http://\S+)")
MQTT_LISTENING = re.compile(r"mqtt \(plain.*listening on [\d.]+:(\d+)")
MQTTS_LISTENING = re.compile(r"mqtt \(TLS.*listening on [\d.]+:(\d+); devices trust (\S+)")
KEY_ID = re.compile(r"AWS_ACCESS_KEY_ID=(\S+)")
SECRET = re.compile(r"AWS_SECRET_ACCESS_KEY=(\S+)")
REGION = "us-east-1"


@dataclass
class OtahubServer:
    data_dir: Path
    extra_args: list[str] = field(default_factory=list)
    virtual_clock: bool = False  # time moves only when a test says so (else real time plus an offset)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    endpoint: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    output: list[str] = field(default_factory=list)
    mqtt_port: int = 0  # the plain-TCP MQTT endpoint, with --mqtt-plain-port
    mqtts_port: int = 0  # the TLS MQTT endpoint, with --mqtt-port
    device_ca: str = ""  # the CA file devices trust for the TLS endpoint
    _mqtt_ready: threading.Event = field(default_factory=threading.Event)
    _mqtts_ready: threading.Event = field(default_factory=threading.Event)

    def start(self, timeout: float = 30.0) -> OtahubServer:
        command = [sys.executable, "-m", "otahub", "serve", "--port", "0", "--data-dir", str(self.data_dir),
                   "--virtual-clock" if self.virtual_clock else "--clock-control", *self.extra_args]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **self.env},
        )
        self.output = []
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(ready,), daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("otahub did not start:\n" + "".join(self.output))
        for flag, event in (("--mqtt-plain-port", self._mqtt_ready), ("--mqtt-port", self._mqtts_ready)):
            if flag in self.extra_args and not event.wait(timeout):
                self.stop()
                raise RuntimeError(f"otahub's MQTT endpoint ({flag}) did not start:\n" + "".join(self.output))
        return self

    def _pump(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if m := LISTENING.search(line):
                self.endpoint = m.group(1)
            if m := MQTT_LISTENING.search(line):
                self.mqtt_port = int(m.group(1))
                self._mqtt_ready.set()
            if m := MQTTS_LISTENING.search(line):
                self.mqtts_port, self.device_ca = int(m.group(1)), m.group(2)
                self._mqtts_ready.set()
            if m := KEY_ID.search(line):
                self.access_key_id = m.group(1)
            if m := SECRET.search(line):
                self.secret_access_key = m.group(1)
                ready.set()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run, as in a crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def client(self, service: str = "iot", *, secret: str | None = None, key_id: str | None = None,
               validate: bool = True, **config: Any) -> Any:
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=key_id or self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
            config=Config(retries={"max_attempts": 1}, parameter_validation=validate, **config),
        )

    def advance_clock(self, seconds: float) -> str:
        """Move server time on (signed with the server's key pair), the engine catching up as it goes."""
        return clock_call(self.endpoint, seconds, Credentials(self.access_key_id, self.secret_access_key), REGION)

    def aws_env(self) -> dict[str, str]:
        return {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.secret_access_key, "AWS_DEFAULT_REGION": REGION,
                "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
