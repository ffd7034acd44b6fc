"""External broker mode: otahub as a privileged client of Mosquitto, EMQX or any MQTT 5 broker.

otahub subscribes to the request topics of the AWS IoT Jobs and Streams APIs with shared subscriptions
(`$share/{group}/...`), so several otahub replicas split the load, answers through the broker, and
publishes notify / notify-next there. The same handlers serve as behind the embedded endpoint. What
the embedded endpoint does itself is the broker's job here: authenticating devices and keeping each
to its own thing's topics (its ACLs), and a device must subscribe to the replies it wants (AWS
delivers accepted/rejected to the publisher unasked; a plain broker cannot).

Measured here: Mosquitto 2.0.11 (Debian 12) delivers no `$`-topic to a shared subscription
(`$share/g/$aws/things/+/jobs/get` gets nothing, `$share/g/a/+/jobs/get` works), so with it run one
replica with an empty share group (`--mqtt-share-group ""`): plain subscriptions.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from otahub.gateway.device_endpoint import Drainable, TopicHandler, topic_thing

log = logging.getLogger("otahub.mqtt.external")

# Exactly the request topics: the replies otahub publishes (.../accepted, .../data/cbor, notify) match none.
REQUEST_FILTERS = (
    "$aws/things/+/jobs/get",
    "$aws/things/+/jobs/start-next",
    "$aws/things/+/jobs/+/get",
    "$aws/things/+/jobs/+/update",
    "$aws/things/+/streams/+/get/+",
    "$aws/things/+/streams/+/describe/+",
)
NOTICE_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @staticmethod
    def parse(url: str) -> BrokerAddress:
        """mqtt://[user[:password]@]host[:port]"""
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError(f"--mqtt-broker-url must look like mqtt://[user:password@]host[:port], not {url!r}")
        return BrokerAddress(parts.hostname, parts.port or 1883, unquote(parts.username) if parts.username else None,
                             unquote(parts.password) if parts.password else None)


class ExternalBroker:
    def __init__(self, address: BrokerAddress, jobs: TopicHandler, streams: TopicHandler, *, group: str = "otahub",
                 client_id: str = "otahub") -> None:
        self.address = address
        self.handlers: dict[str, TopicHandler] = {"jobs": jobs, "streams": streams}
        self.group = group
        self.notifier: Drainable | None = None
        self.connected = threading.Event()
        self._lock = threading.Lock()  # one handler or drain at a time: the notifier keeps state
        self._stop = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if address.username is not None:
            self._client.username_pw_set(address.username, address.password)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._pusher = threading.Thread(target=self._push_loop, name="otahub-notices", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._client.connect(self.address.host, self.address.port, keepalive=60)
        self._client.loop_start()
        if not self.connected.wait(timeout):
            self.stop()
            raise ConnectionError(f"no answer from the MQTT broker at {self.address.host}:{self.address.port}")
        self._pusher.start()

    def stop(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self._client.publish(topic, payload, qos=qos)

    # --- paho callbacks (its network thread) ----------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object, reason: object,
                    _properties: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("the MQTT broker refused otahub: %s", reason)
            return
        options = SubscribeOptions(qos=1)  # no No Local: MQTT 5 forbids it on shared subscriptions
        prefix = f"$share/{self.group}/" if self.group else ""
        client.subscribe([(prefix + f, options) for f in REQUEST_FILTERS])
        self.connected.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            self.answer(message.topic, bytes(message.payload))
        except Exception:  # one bad request must not stop the bridge
            log.exception("answering %s failed", message.topic)

    def answer(self, topic: str, payload: bytes) -> None:
        found = topic_thing(topic)
        handler = self.handlers.get(found[1]) if found else None
        if found is None or handler is None:
            return
        with self._lock:
            for reply in handler.handle(found[0], topic, payload):
                self.publish(reply.topic, reply.payload, reply.qos)
            if found[1] == "jobs":
                self._drain(50)

    # --- pushes ---------------------------------------------------------------------------------------

    def _push_loop(self) -> None:
        while not self._stop.wait(NOTICE_INTERVAL):
            try:
                with self._lock:
                    while self._drain(500) >= 500:
                        pass
            except Exception:
                log.exception("pushing job notices failed")

    def _drain(self, limit: int) -> int:
        return self.notifier.drain(limit) if self.notifier is not None else 0
