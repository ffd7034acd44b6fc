"""External broker mode against a real Mosquitto: devices talk to Mosquitto only, otahub answers their
jobs and streams topics through it (shared subscriptions) and pushes notify-next there."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.harness import OtahubServer
from tests.mosquitto_harness import Mosquitto
from tests.mqtt_inbox import Inbox

WAIT = 10.0
ARN = "arn:aws:iot:us-east-1:123456789012:{}/{}"


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def bridged(tmp_path_factory: pytest.TempPathFactory, mosquitto: Mosquitto) -> Iterator[OtahubServer]:
    server = OtahubServer(tmp_path_factory.mktemp("otahub-external"), virtual_clock=True,
                          extra_args=["--mqtt-broker-url", f"mqtt://127.0.0.1:{mosquitto.port}",
                                      "--mqtt-share-group", ""])  # Mosquitto 2.0 shares no $-topics
    server.start()
    ready = "mqtt (external broker) answering"
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not any(ready in line for line in server.output):
        time.sleep(0.05)
    assert any(ready in line for line in server.output), "".join(server.output)
    yield server
    server.stop()


class Device:
    """A paho client on Mosquitto: it subscribes to the replies it wants (a plain broker sends nothing unasked)."""

    def __init__(self, broker: Mosquitto, thing: str, replies: list[str]) -> None:
        self.thing = thing
        self.inbox = Inbox(WAIT)
        subscribed: queue.Queue[object] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=thing, protocol=mqtt.MQTTv311)
        self.client.on_message = lambda _c, _u, m: self.inbox.put(m.topic, m.payload)
        self.client.on_subscribe = lambda *_args: subscribed.put(True)
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        self.client.subscribe([(f"$aws/things/{thing}/{suffix}", 1) for suffix in replies])
        subscribed.get(timeout=WAIT)

    def publish(self, suffix: str, payload: bytes) -> None:
        self.client.publish(f"$aws/things/{self.thing}/{suffix}", payload, qos=1)

    def expect(self, suffix: str) -> bytes:
        """The next message on that topic of this thing; messages on other topics wait their turn."""
        return self.inbox.expect(f"$aws/things/{self.thing}/{suffix}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_job_runs_through_mosquitto(bridged: OtahubServer, mosquitto: Mosquitto, unique: str) -> None:
    iot = bridged.client("iot")
    thing = f"ext-{unique}"
    iot.create_thing(thingName=thing)
    device = Device(mosquitto, thing, ["jobs/notify-next", "jobs/start-next/+", "jobs/+/update/+"])
    try:
        iot.create_job(jobId=f"ext-{unique}", targets=[ARN.format("thing", thing)], document='{"fw": "2.0"}')
        pushed = json.loads(device.expect("jobs/notify-next"))
        assert pushed["execution"]["jobId"] == f"ext-{unique}"
        device.publish("jobs/start-next", b'{"clientToken": "go"}')
        started = json.loads(device.expect("jobs/start-next/accepted"))
        assert (started["clientToken"], started["execution"]["status"]) == ("go", "IN_PROGRESS")
        device.publish(f"jobs/ext-{unique}/update", b'{"status": "SUCCEEDED", "expectedVersion": 2}')
        assert "timestamp" in json.loads(device.expect(f"jobs/ext-{unique}/update/accepted"))
        assert "execution" not in json.loads(device.expect("jobs/notify-next"))
    finally:
        device.close()
    assert iot.describe_job(jobId=f"ext-{unique}")["job"]["status"] == "COMPLETED"


def test_a_stream_block_through_mosquitto(bridged: OtahubServer, mosquitto: Mosquitto, unique: str,
                                          tmp_path: Path) -> None:
    from tests.e2e.test_s3 import s3_client

    s3, iot = s3_client(bridged), bridged.client("iot")
    image = b"0123456789abcdef" * 300
    s3.create_bucket(Bucket=f"ext-{unique}")
    s3.put_object(Bucket=f"ext-{unique}", Key="fw.bin", Body=image)
    iot.create_stream(streamId=f"ext-{unique}", roleArn="arn:aws:iam::123456789012:role/ota",
                      files=[{"fileId": 0, "s3Location": {"bucket": f"ext-{unique}", "key": "fw.bin"}}])
    thing = f"exts-{unique}"
    device = Device(mosquitto, thing, [f"streams/ext-{unique}/data/cbor"])
    try:
        device.publish(f"streams/ext-{unique}/get/cbor", cbor2.dumps({"f": 0, "l": 1024, "o": 2, "n": 1}))
        block: dict[str, Any] = cbor2.loads(device.expect(f"streams/ext-{unique}/data/cbor"))
        assert (block["i"], block["l"], block["p"]) == (2, 1024, image[2048:3072])
    finally:
        device.close()
