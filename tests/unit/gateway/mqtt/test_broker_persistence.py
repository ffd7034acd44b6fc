"""The broker with a session store (the SQL one, on SQLite): persistent sessions survive a new broker on the
same store, the PUBACK waits for the store, clean sessions never reach it, expired ones are dropped at start."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties
from sqlalchemy import Engine, func, select

from otahub.domain.clock import FakeClock
from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt.codec import encode
from otahub.storage.sql.mqtt_sessions import SqlMqttSessions
from otahub.storage.sql.tables import mqtt_messages
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema
from tests.unit.gateway.mqtt.broker_harness import TIMEOUT, Client, RunningBroker, raw_connect

LEVELS = pytest.mark.parametrize("v5", [False, True], ids=["mqtt311", "mqtt5"])
START = datetime.fromisoformat("2026-02-10T05:35:36+00:00")


class Recording:
    """A writer that records each call (name, client ids) before passing it on (or dropping it)."""

    def __init__(self, writer: Any, calls: list[tuple[str, Any]]) -> None:
        self._writer = writer
        self._calls = calls

    def __getattr__(self, name: str) -> Callable[..., None]:
        def call(*args: Any) -> None:
            self._calls.append((name, args))
            if self._writer is not None:
                getattr(self._writer, name)(*args)
        return call


class Store:
    """The SQL store, watched: every transaction's calls are kept; writes can be held back, fail, or (as
    when the process dies) be dropped from some point on."""

    def __init__(self, inner: SqlMqttSessions) -> None:
        self.inner = inner
        self.transactions: list[list[tuple[str, Any]]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail = False
        self.severed = False

    def load_all(self) -> Any:
        return self.inner.load_all()

    @contextmanager
    def write(self) -> Iterator[Recording]:
        self.entered.set()
        assert self.gate.wait(TIMEOUT)
        calls: list[tuple[str, Any]] = []
        if self.fail:
            raise RuntimeError("the disk is gone")
        if self.severed:
            yield Recording(None, calls)
            return
        with self.inner.write() as writer:
            yield Recording(writer, calls)
        self.transactions.append(calls)

    def touched(self, client_id: str) -> bool:
        """Whether any transaction wrote something of that client."""
        return any(client_id in repr(args) for transaction in self.transactions for _name, args in transaction)

    def sessions(self) -> dict[str, Any]:
        return {session.client_id: session for session in self.inner.load_all()}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'otahub.db'}")
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> Store:
    return Store(SqlMqttSessions(SqlUnitOfWorkFactory(engine), clock))


class Brokers:
    """Brokers on one store, one after the other (a restart); clients closed at the end."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.running: list[RunningBroker] = []
        self.clients: list[Client] = []

    def start(self, store: Store | None = None) -> RunningBroker:
        broker = RunningBroker(store=store or self.store)
        self.running.append(broker)
        return broker

    def restart(self) -> RunningBroker:
        self.running[-1].close()
        return self.start()

    def connect(self, client_id: str, **options: Any) -> Client:
        client = Client(self.running[-1].port, client_id, **options)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for broker in self.running:
            if broker.loop.is_running():
                broker.close()


@pytest.fixture
def brokers(store: Store) -> Iterator[Brokers]:
    brokers = Brokers(store)
    brokers.start()
    yield brokers
    brokers.close()


def eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def settled(running: RunningBroker) -> None:
    """Until the broker has written every change it made."""
    eventually(lambda: running.call(lambda: running.broker._journal._task is None))  # type: ignore[union-attr]


def stored_messages(engine: Engine, client_id: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(mqtt_messages).where(mqtt_messages.c.client_id == client_id)
        return int(conn.execute(query).scalar_one())


def nothing_more(client: Client) -> bool:
    time.sleep(0.2)
    return client.messages.empty()


@LEVELS
def test_a_persistent_session_and_its_queue_survive_a_restart(brokers: Brokers, v5: bool) -> None:
    first = brokers.connect("keeper", v5=v5, clean=False, expiry=600)
    assert first.subscribe(("jobs/#", 1), ("other/+", 0)) == [1, 0]
    first.close()
    brokers.running[-1].wait_offline("keeper")
    publisher = brokers.connect("pub")
    for index in range(5):
        publisher.publish(f"jobs/{index}", f"payload {index}".encode())
    publisher.publish("jobs/zero", b"-", qos=0)  # QoS 0 is not kept for an offline session
    publisher.publish("other/x", b"granted qos 0")
    publisher.close()
    brokers.restart()
    again = brokers.connect("keeper", v5=v5, clean=False, expiry=600)
    assert again.session_present
    received = [again.get() for _ in range(5)]
    assert [(m.topic, m.payload, m.qos) for m in received] == [
        (f"jobs/{index}", f"payload {index}".encode(), 1) for index in range(5)]
    assert nothing_more(again)
    brokers.connect("pub2").publish("jobs/after", b"")  # the subscriptions came back too
    assert again.get().topic == "jobs/after"


def test_messages_in_flight_when_otahub_died_are_sent_again_in_order(
        brokers: Brokers, store: Store, clock: FakeClock) -> None:
    sock, connack, reader = raw_connect(brokers.running[-1].port, p.Connect("device", clean_start=False))
    assert connack.reason_code == 0
    sock.sendall(encode(p.Subscribe(1, (p.Subscription("fw/#", 1),)), p.MQTT_311))
    publisher = brokers.connect("pub")
    received: list[p.Packet] = []
    while not any(isinstance(packet, p.Suback) for packet in received):
        received += reader.feed(sock.recv(65536))
    for index in range(3):
        publisher.publish(f"fw/{index}", bytes([index]))
    publishes: list[p.Publish] = []
    while len(publishes) < 3:  # sent to the device, never acknowledged
        publishes += [packet for packet in reader.feed(sock.recv(65536)) if isinstance(packet, p.Publish)]
    assert [m.topic for m in publishes] == ["fw/0", "fw/1", "fw/2"]
    store.severed = True  # the process dies: nothing more reaches the disk, nothing is shut down
    clock.advance(timedelta(seconds=100))
    assert store.sessions()["device"].expires_in is None  # it was connected: no deadline yet
    survivor = brokers.start(Store(store.inner))
    eventually(lambda: store.sessions()["device"].expires_in == 3600)  # an hour from the restart
    again = Client(survivor.port, "device", clean=False)
    brokers.clients.append(again)
    assert again.session_present
    assert [(m.topic, m.payload) for m in (again.get() for _ in range(3))] == [
        ("fw/0", b"\x00"), ("fw/1", b"\x01"), ("fw/2", b"\x02")]
    assert nothing_more(again)
    sock.close()
    eventually(lambda: store.sessions()["device"].messages == ())  # acknowledged now: gone from the store


def test_the_puback_waits_until_the_message_is_in_the_store(brokers: Brokers, store: Store) -> None:
    keeper = brokers.connect("keeper", clean=False)
    keeper.subscribe(("q/#", 1))
    keeper.close()
    brokers.running[-1].wait_offline("keeper")
    publisher, bystander = brokers.connect("pub"), brokers.connect("bystander")
    settled(brokers.running[-1])
    store.gate.clear()
    store.entered.clear()
    info = publisher.paho.publish("q/1", b"held", 1)
    assert store.entered.wait(TIMEOUT)
    bystander.publish("nobody/listens", b"")  # changes no stored session: acknowledged at once
    info.wait_for_publish(0.5)
    assert not info.is_published()
    store.gate.set()
    info.wait_for_publish(TIMEOUT)
    assert info.is_published()
    assert [m.topic for m in store.sessions()["keeper"].messages] == ["q/1"]


def test_what_comes_in_while_a_transaction_commits_goes_into_the_next_one(brokers: Brokers, store: Store) -> None:
    running = brokers.running[-1]
    for index in range(3):
        keeper = brokers.connect(f"keeper-{index}", clean=False)
        keeper.subscribe(("q/#", 1))
        keeper.close()
        running.wait_offline(f"keeper-{index}")
    publishers = [brokers.connect(f"pub-{index}") for index in range(5)]
    settled(running)
    before = len(store.transactions)
    store.gate.clear()
    store.entered.clear()
    infos = [publishers[0].paho.publish("q/0", b"0", 1)]
    assert store.entered.wait(TIMEOUT)
    infos += [publisher.paho.publish(f"q/{index}", b"", 1) for index, publisher in enumerate(publishers[1:], 1)]

    def waiting() -> int:  # messages journaled, not yet handed to the store
        changes = running.broker._journal._changes  # type: ignore[union-attr]
        return sum(len(change.messages) for change in changes if hasattr(change, "messages"))

    eventually(lambda: running.call(waiting) == 12)
    store.gate.set()
    for info in infos:
        info.wait_for_publish(TIMEOUT)
        assert info.is_published()
    written = store.transactions[before:]
    assert [[(name, len(args[0])) for name, args in calls] for calls in written] == [
        [("add_messages", 3)], [("add_messages", 12)]]  # 4 publishes x 3 sessions: one statement, one commit


@LEVELS
def test_a_clean_session_never_reaches_the_store(brokers: Brokers, store: Store, v5: bool) -> None:
    clean = brokers.connect("clean", v5=v5, clean=True)
    clean.subscribe(("q/#", 1))
    publisher = brokers.connect("pub")
    for index in range(3):
        publisher.publish(f"q/{index}", b"")
    assert clean.topics(3) == ["q/0", "q/1", "q/2"]
    clean.close()
    brokers.running[-1].wait_offline("clean")
    brokers.running[-1].close()
    assert not store.touched("clean") and not store.touched("pub")
    assert store.sessions() == {}


def test_an_mqtt5_session_without_expiry_leaves_the_store(brokers: Brokers, store: Store) -> None:
    first = brokers.connect("dev", v5=True, clean=False, expiry=300)
    first.subscribe(("q/#", 1))
    first.close()
    brokers.running[-1].wait_offline("dev")
    assert "dev" in store.sessions()
    again = brokers.connect("dev", v5=True, clean=False, expiry=0)  # kept while connected, not stored
    assert again.session_present
    eventually(lambda: "dev" not in store.sessions())
    second = brokers.connect("dev2", v5=True, clean=False, expiry=300)
    second.subscribe(("q/#", 1))
    second.close()
    brokers.running[-1].wait_offline("dev2")
    brokers.connect("dev2", v5=True, clean=True, expiry=300)  # a clean start: the old session is deleted first
    calls = [call for transaction in store.transactions for call in transaction]  # CONNACK came: all written
    assert calls[-2:] == [("delete_session", ("dev2",)), ("save_session", ("dev2", 300, ()))]
    assert store.sessions()["dev2"].subscriptions == ()


def test_a_session_that_expired_while_otahub_was_down_is_gone(
        brokers: Brokers, store: Store, clock: FakeClock) -> None:
    short = brokers.connect("short", v5=True, clean=False, expiry=60)
    short.subscribe(("q/#", 1))
    short.close()
    long = brokers.connect("long", clean=False)  # 3.1.1: an hour
    long.subscribe(("q/#", 1))
    long.close()
    for client_id in ("short", "long"):
        brokers.running[-1].wait_offline(client_id)
    brokers.connect("pub").publish("q/1", b"")
    brokers.running[-1].close()
    clock.advance(timedelta(seconds=61))  # measured by the store's clock
    brokers.start()
    assert set(store.sessions()) == {"long"}
    short = brokers.connect("short", v5=True, clean=False, expiry=60)
    assert not short.session_present
    assert nothing_more(short)
    long = brokers.connect("long", clean=False)
    assert long.session_present and long.get().topic == "q/1"


def test_unsubscriptions_and_message_properties_survive(brokers: Brokers) -> None:
    first = brokers.connect("dev", v5=True, clean=False, expiry=600)
    first.subscribe(("a/#", 1), ("b/#", 1))
    unsubscribed = threading.Event()
    first.paho.on_unsubscribe = lambda *_args: unsubscribed.set()
    first.paho.unsubscribe("a/#")
    assert unsubscribed.wait(TIMEOUT)
    first.close()
    brokers.running[-1].wait_offline("dev")
    publisher = brokers.connect("pub", v5=True)
    properties = PahoProperties(PacketTypes.PUBLISH)
    properties.ContentType = "application/json"
    properties.ResponseTopic = "replies/dev"
    properties.CorrelationData = b"\x01\x02"
    properties.UserProperty = [("fw", "1.2.0")]
    publisher.publish("a/1", b"unsubscribed")
    publisher.publish("b/1", b"{}", properties=properties, retain=True)
    brokers.restart()
    again = brokers.connect("dev", v5=True, clean=False, expiry=600)
    message = again.get()
    assert (message.topic, message.payload) == ("b/1", b"{}")
    assert message.properties.ContentType == "application/json"
    assert message.properties.ResponseTopic == "replies/dev"
    assert message.properties.CorrelationData == b"\x01\x02"
    assert message.properties.UserProperty == [("fw", "1.2.0")]
    assert nothing_more(again)


def test_acknowledged_messages_leave_the_store(brokers: Brokers, engine: Engine) -> None:
    online = brokers.connect("online", clean=False)
    online.subscribe(("q/#", 1))
    publisher = brokers.connect("pub")
    for index in range(10):
        publisher.publish(f"q/{index}", b"")
    assert online.topics(10) == [f"q/{index}" for index in range(10)]
    eventually(lambda: stored_messages(engine, "online") == 0)


def test_a_store_that_fails_gets_no_puback_sent(brokers: Brokers, store: Store) -> None:
    keeper = brokers.connect("keeper", clean=False)
    keeper.subscribe(("q/#", 1))
    keeper.close()
    brokers.running[-1].wait_offline("keeper")
    publisher = brokers.connect("pub")
    settled(brokers.running[-1])
    store.fail = True
    info = publisher.paho.publish("q/1", b"", 1)
    assert publisher.disconnected.wait(TIMEOUT)  # closed without its PUBACK: the client sends it again
    assert not info.is_published()
    store.fail = False
    fresh = brokers.connect("pub-again")
    fresh.publish("q/2", b"")  # the broker lives on
    assert [m.topic for m in store.sessions()["keeper"].messages] == ["q/2"]


def test_a_burst_of_publishes_shares_a_commit_and_is_acknowledged_in_order(brokers: Brokers, store: Store) -> None:
    keeper = brokers.connect("keeper", clean=False)
    keeper.subscribe(("q/#", 1))
    keeper.close()
    running = brokers.running[-1]
    running.wait_offline("keeper")
    sock, _connack, reader = raw_connect(running.port, p.Connect("burst"))
    settled(running)
    before = len(store.transactions)
    burst = b"".join(encode(p.Publish(f"q/{index}", b"", 1, packet_id=index + 1), p.MQTT_311) for index in range(10))
    sock.sendall(burst + encode(p.Publish("nobody/listens", b"", 1, packet_id=99), p.MQTT_311))
    acks: list[p.Packet] = []
    while len(acks) < 11:
        acks += reader.feed(sock.recv(65536))
    sock.close()
    assert acks == [p.Puback(index + 1) for index in range(10)] + [p.Puback(99)]
    written = [calls for calls in store.transactions[before:] if any(name == "add_messages" for name, _ in calls)]
    assert len(written) <= 2  # one read of the socket: one commit (not ten)
    assert [m.topic for m in store.sessions()["keeper"].messages] == [f"q/{index}" for index in range(10)]
