"""Topic names, topic filters and matching (MQTT 5.0 section 4.7, 4.8.2; MQTT 3.1.1 section 4.7).

- A topic name is at least one character and has no wildcard [MQTT-4.7.3-1, MQTT-3.3.2-2].
- In a filter, ``#`` is a whole level and the last one [MQTT-4.7.1-2]; ``+`` is a whole level [MQTT-4.7.1-3].
- A filter starting with a wildcard does not match a topic starting with ``$`` [MQTT-4.7.2-1]: ``#`` does
  not receive ``$aws/things/...``, ``$aws/#`` does.
- ``$share/{ShareName}/{filter}`` is a shared subscription: the share name is at least one character
  without ``/``, ``+`` or ``#``, and a filter follows [MQTT-4.8.2-1/2]. Whether to read it so is the
  caller's choice (MQTT 5 defines it; AWS IoT also accepts it from 3.1.1 clients).

Strings are taken as decoded by the codec (no U+0000; at most 65,535 UTF-8 bytes there).
"""

from __future__ import annotations

from dataclasses import dataclass

SHARE_PREFIX = "$share/"


class TopicError(ValueError):
    """An invalid topic name or filter; MQTT 5 answers it with 0x90 or 0x8F."""


@dataclass(frozen=True)
class TopicFilter:
    """A subscription's filter; ``share_group`` is set for ``$share/{group}/{filter}``."""

    filter: str
    share_group: str | None = None


def validate_topic_name(name: str) -> None:
    if not name:
        raise TopicError("a topic name must not be empty")
    if "+" in name or "#" in name:
        raise TopicError(f"the topic name {name!r} contains a wildcard")
    if "\x00" in name:
        raise TopicError("a topic name must not contain U+0000")


def validate_topic_filter(topic_filter: str) -> None:
    if not topic_filter:
        raise TopicError("a topic filter must not be empty")
    if "\x00" in topic_filter:
        raise TopicError("a topic filter must not contain U+0000")
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise TopicError(f"'#' must be the whole last level in {topic_filter!r}")
        if "+" in level and level != "+":
            raise TopicError(f"'+' must be a whole level in {topic_filter!r}")


def is_valid_topic_name(name: str) -> bool:
    try:
        validate_topic_name(name)
    except TopicError:
        return False
    return True


def is_valid_topic_filter(topic_filter: str) -> bool:
    try:
        validate_topic_filter(topic_filter)
    except TopicError:
        return False
    return True


def parse_topic_filter(topic_filter: str, *, allow_shared: bool) -> TopicFilter:
    """The validated filter; with ``allow_shared`` a ``$share/`` filter is split into group and filter."""
    if allow_shared and topic_filter.startswith(SHARE_PREFIX):
        group, slash, inner = topic_filter[len(SHARE_PREFIX) :].partition("/")
        if not group or any(char in group for char in "+#"):
            raise TopicError(f"invalid share name in {topic_filter!r}")
        if not slash or not inner:
            raise TopicError(f"the shared subscription {topic_filter!r} has no topic filter")
        validate_topic_filter(inner)
        return TopicFilter(inner, group)
    validate_topic_filter(topic_filter)
    return TopicFilter(topic_filter)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Does the (valid) filter match the (valid) topic name?"""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
