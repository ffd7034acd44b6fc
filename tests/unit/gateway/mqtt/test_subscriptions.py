"""The subscription table on its own: exact and wildcard filters, $ topics, shared groups in turn."""

from __future__ import annotations

from otahub.gateway.mqtt.packets import Subscription
from otahub.gateway.mqtt.subscriptions import SubscriptionTable
from otahub.gateway.mqtt.topics import parse_topic_filter


def _add(table: SubscriptionTable, client_id: str, topic_filter: str, qos: int = 1) -> None:
    table.add(client_id, parse_topic_filter(topic_filter, allow_shared=True), Subscription(topic_filter, qos))


def test_exact_wildcard_and_dollar_topics() -> None:
    table = SubscriptionTable()
    _add(table, "a", "x/y")
    _add(table, "a", "x/+", qos=0)
    _add(table, "b", "#")
    _add(table, "c", "$aws/#")
    assert sorted(table.match("x/y", lambda _: True)) == ["a", "b"]
    assert [s.topic_filter for s in table.match("x/y", lambda _: True)["a"]] == ["x/y", "x/+"]
    assert list(table.match("$aws/things/t", lambda _: True)) == ["c"]


def test_remove() -> None:
    table = SubscriptionTable()
    _add(table, "a", "x/#")
    _add(table, "a", "$share/g/x/#")
    table.remove("a", parse_topic_filter("x/#", allow_shared=True))
    table.remove("a", parse_topic_filter("$share/g/x/#", allow_shared=True))
    table.remove("a", parse_topic_filter("never/subscribed", allow_shared=True))
    assert table.match("x/1", lambda _: True) == {}


def test_shared_group_takes_turns_and_skips_offline_members() -> None:
    table = SubscriptionTable()
    for member in ("m1", "m2", "m3"):
        _add(table, member, "$share/g/jobs/#")
    online = {"m1", "m2", "m3"}
    picks = [next(iter(table.match("jobs/1", online.__contains__))) for _ in range(4)]
    assert picks == ["m1", "m2", "m3", "m1"]
    online.discard("m2")
    picks = [next(iter(table.match("jobs/1", online.__contains__))) for _ in range(3)]
    assert picks == ["m3", "m1", "m3"]
    online.clear()  # nobody connected: still one member each (its session queues it)
    picks = [next(iter(table.match("jobs/1", online.__contains__))) for _ in range(2)]
    assert picks == ["m1", "m2"]
