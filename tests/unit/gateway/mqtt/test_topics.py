"""Topic names, filters, matching and shared subscriptions (topics.py; MQTT 5.0 section 4.7, 4.8.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.gateway.mqtt.topics import (
    TopicError,
    TopicFilter,
    is_valid_topic_filter,
    is_valid_topic_name,
    parse_topic_filter,
    topic_matches,
)

level_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00/+#"), max_size=5)
topic_names = st.lists(level_text, min_size=1, max_size=5).map("/".join).filter(bool)


@given(topic_names)
def test_a_topic_is_a_valid_name_and_filter_that_matches_itself(topic: str) -> None:
    assert is_valid_topic_name(topic)
    assert is_valid_topic_filter(topic)
    assert topic_matches(topic, topic)


@given(topic_names)
def test_hash_matches_everything_not_starting_with_dollar(topic: str) -> None:
    assert topic_matches("#", topic) == (not topic.startswith("$"))


@given(topic_names, st.data())
def test_plus_matches_exactly_one_level(topic: str, data: st.DataObject) -> None:
    levels = topic.split("/")
    index = data.draw(st.integers(0, len(levels) - 1))
    pattern = "/".join("+" if i == index else level for i, level in enumerate(levels))
    assert topic_matches(pattern, topic) == (index > 0 or not topic.startswith("$"))
    assert not topic_matches(pattern + "/+", topic)
    assert not topic_matches(pattern, topic + "/extra")


@given(topic_names, st.data())
def test_a_hash_suffix_matches_the_parent_and_all_descendants(topic: str, data: st.DataObject) -> None:
    levels = topic.split("/")
    keep = data.draw(st.integers(1, len(levels)))
    assert topic_matches("/".join([*levels[:keep], "#"]), topic)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        # MQTT 5.0 section 4.7.1.2
        ("sport/tennis/player1/#", "sport/tennis/player1", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
        ("sport/#", "sport", True),
        # section 4.7.1.3
        ("sport/tennis/+", "sport/tennis/player1", True),
        ("sport/tennis/+", "sport/tennis/player2", True),
        ("sport/tennis/+", "sport/tennis/player1/ranking", False),
        ("sport/+", "sport", False),
        ("sport/+", "sport/", True),
        ("+/+", "/finance", True),
        ("/+", "/finance", True),
        ("+", "/finance", False),
        # section 4.7.2
        ("#", "$SYS/broker", False),
        ("+/monitor/Clients", "$SYS/monitor/Clients", False),
        ("$SYS/#", "$SYS/monitor/Clients", True),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", True),
        # the AWS topics otahub serves
        ("#", "$aws/things/t1/jobs/notify-next", False),
        ("$aws/#", "$aws/things/t1/jobs/notify-next", True),
        ("$aws/things/+/jobs/start-next/+", "$aws/things/t1/jobs/start-next/accepted", True),
        ("$aws/things/t1/jobs/#", "$aws/things/t2/jobs/notify", False),
        # topics are case sensitive and a trailing slash is a level
        ("ACCOUNTS", "Accounts", False),
        ("a/b", "a/b/", False),
    ],
)
def test_spec_examples(topic_filter: str, topic: str, expected: bool) -> None:
    assert is_valid_topic_filter(topic_filter)
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize("name", ["", "a/+", "a/#", "+", "sport/tennis#", "a\x00b"])
def test_invalid_topic_names(name: str) -> None:
    assert not is_valid_topic_name(name)


@pytest.mark.parametrize(
    "topic_filter", ["", "sport/tennis#", "sport/tennis/#/ranking", "sport+", "a/b+/c", "##", "a\x00"]
)
def test_invalid_topic_filters(topic_filter: str) -> None:
    assert not is_valid_topic_filter(topic_filter)
    with pytest.raises(TopicError):
        parse_topic_filter(topic_filter, allow_shared=True)


@pytest.mark.parametrize("topic_filter", ["#", "+", "+/tennis/#", "sport/+/player1", "/", "$aws/things/+/jobs/#"])
def test_valid_topic_filters(topic_filter: str) -> None:
    assert parse_topic_filter(topic_filter, allow_shared=False) == TopicFilter(topic_filter)


def test_shared_subscriptions() -> None:
    assert parse_topic_filter("$share/fleet/$aws/things/+/jobs/#", allow_shared=True) == TopicFilter(
        "$aws/things/+/jobs/#", "fleet"
    )
    assert parse_topic_filter("$share/g//", allow_shared=True) == TopicFilter("/", "g")
    assert parse_topic_filter("$share/g/a", allow_shared=False) == TopicFilter("$share/g/a")


@pytest.mark.parametrize("topic_filter", ["$share/", "$share//a", "$share/g", "$share/g/", "$share/g+/a", "$share/#/a",
                                          "$share/g/a#"])
def test_invalid_shared_subscriptions(topic_filter: str) -> None:
    with pytest.raises(TopicError):
        parse_topic_filter(topic_filter, allow_shared=True)
