"""The SQL store of the MQTT broker's persistent sessions: what is written reads back, deadlines by its clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select

from otahub.domain.clock import FakeClock
from otahub.gateway.mqtt.packets import Subscription
from otahub.gateway.mqtt.persistence import QueuedMessage
from otahub.storage.sql.mqtt_sessions import SqlMqttSessions, StoredMessage, StoredSubscription
from otahub.storage.sql.tables import metadata, mqtt_messages, mqtt_sessions, mqtt_subscriptions
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory, make_engine, upgrade_schema

START = datetime.fromisoformat("2026-02-10T05:35:36+00:00")


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
def store(engine: Engine, clock: FakeClock) -> SqlMqttSessions:
    return SqlMqttSessions(SqlUnitOfWorkFactory(engine), clock)


def message(client_id: str, message_id: int, topic: str = "t", payload: bytes = b"", *, retain: bool = False,
            properties: bytes = b"") -> QueuedMessage:
    return QueuedMessage(client_id, message_id, topic, payload, retain, properties)


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[return-value]
                     for table in (mqtt_sessions, mqtt_subscriptions, mqtt_messages))


def test_the_schema_made_by_the_migrations_is_the_one_in_tables_py(engine: Engine) -> None:
    ours = {"mqtt_sessions", "mqtt_subscriptions", "mqtt_messages"}
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    mine = [diff for diff in diffs if any(name in repr(diff) for name in ours)]
    assert mine == []


def test_a_connected_session_reads_back_as_written(store: SqlMqttSessions) -> None:
    subscriptions = [Subscription("b/#", 1), Subscription("a/+", 0, no_local=True, retain_as_published=True,
                                                          retain_handling=2), Subscription("$share/g/c", 1)]
    with store.write() as writer:
        writer.save_session("dev-1", 3600, subscriptions)
        writer.add_messages([message("dev-1", 7, "b/1", b"\x00\xff", retain=True, properties=b"\x03\x01\x00\x01"),
                             message("dev-1", 9, "b/2", b"second")])
        writer.add_messages([message("dev-1", 8, "b/3")])
    [session] = store.load_all()
    assert (session.client_id, session.expiry, session.expires_in) == ("dev-1", 3600, None)
    assert session.subscriptions == (
        StoredSubscription("b/#", 1, False, False, 0), StoredSubscription("a/+", 0, True, True, 2),
        StoredSubscription("$share/g/c", 1, False, False, 0))
    assert session.messages == (
        StoredMessage("dev-1", 7, "b/1", b"\x00\xff", True, b"\x03\x01\x00\x01"),
        StoredMessage("dev-1", 8, "b/3", b"", False, b""), StoredMessage("dev-1", 9, "b/2", b"second", False, b""))


def test_saving_again_replaces_the_subscriptions_and_keeps_the_messages(store: SqlMqttSessions) -> None:
    with store.write() as writer:
        writer.save_session("dev-1", 60, [Subscription("a", 1), Subscription("b", 1)])
        writer.add_messages([message("dev-1", 1, "a")])
    with store.write() as writer:
        writer.save_session("dev-1", 120, [Subscription("b", 1)])
    [session] = store.load_all()
    assert session.expiry == 120
    assert [s.topic_filter for s in session.subscriptions] == ["b"]
    assert [m.message_id for m in session.messages] == [1]


def test_removed_messages_are_gone_and_unknown_keys_are_ignored(store: SqlMqttSessions) -> None:
    with store.write() as writer:
        writer.save_session("a", 60, [])
        writer.save_session("b", 60, [])
        writer.add_messages([message("a", 1), message("a", 2), message("b", 3), message("a", 4)])
    with store.write() as writer:
        writer.remove_messages([("a", 2), ("b", 3), ("a", 99), ("nobody", 1)])
    assert {s.client_id: [m.message_id for m in s.messages] for s in store.load_all()} == {"a": [1, 4], "b": []}


def test_a_disconnected_session_ends_at_its_deadline_by_the_store_clock(
        store: SqlMqttSessions, clock: FakeClock, engine: Engine) -> None:
    with store.write() as writer:
        writer.save_session("short", 60, [Subscription("a", 1)])
        writer.add_messages([message("short", 1)])
        writer.session_disconnected("short", 60)
        writer.save_session("long", 3600, [Subscription("a", 1)])
        writer.session_disconnected("long", 3600)
        writer.save_session("online", 5, [])
    clock.advance(timedelta(seconds=59))
    assert {s.client_id: s.expires_in for s in store.load_all()} == {"short": 1.0, "long": 3541.0, "online": None}
    clock.advance(timedelta(seconds=1))
    assert {s.client_id: s.expires_in for s in store.load_all()} == {"long": 3540.0, "online": None}
    assert counts(engine) == (2, 1, 0)  # the expired session's rows are gone, not only left out


def test_a_client_back_clears_the_deadline(store: SqlMqttSessions, clock: FakeClock) -> None:
    with store.write() as writer:
        writer.save_session("dev", 60, [])
        writer.session_disconnected("dev", 60)
    with store.write() as writer:
        writer.session_connected("dev", 30)
    clock.advance(timedelta(days=1))
    [session] = store.load_all()
    assert (session.expiry, session.expires_in) == (30, None)


def test_deleting_a_session_deletes_everything_of_it(store: SqlMqttSessions, engine: Engine) -> None:
    with store.write() as writer:
        writer.save_session("gone", 60, [Subscription("a", 1)])
        writer.add_messages([message("gone", 1), message("gone", 2)])
        writer.save_session("kept", 60, [Subscription("a", 1)])
        writer.add_messages([message("kept", 3)])
    with store.write() as writer:
        writer.delete_session("gone")
    assert [s.client_id for s in store.load_all()] == ["kept"]
    assert counts(engine) == (1, 1, 1)


def test_a_failed_transaction_writes_nothing(store: SqlMqttSessions, engine: Engine) -> None:
    with pytest.raises(RuntimeError), store.write() as writer:
        writer.save_session("dev", 60, [Subscription("a", 1)])
        writer.add_messages([message("dev", 1)])
        raise RuntimeError("the broker failed half-way")
    assert counts(engine) == (0, 0, 0)
