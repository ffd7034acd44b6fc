"""Hypothesis strategies for every MQTT packet at both protocol levels (valid packets only)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from otahub.gateway.mqtt import packets as p
from otahub.gateway.mqtt._wire import MAX_UINT16, MAX_UINT32, MAX_VARINT
from otahub.gateway.mqtt.properties import NO_PROPERTIES, SPECS, WILL, Kind, Properties

texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
blobs = st.binary(max_size=24)
packet_ids = st.integers(1, MAX_UINT16)
_HIGH = {Kind.BYTE: 0xFF, Kind.U16: MAX_UINT16, Kind.U32: MAX_UINT32, Kind.VARINT: MAX_VARINT}


def _value(kind: Kind, low: int, high: int | None) -> st.SearchStrategy[Any]:
    if kind in _HIGH:
        return st.integers(low, high if high is not None else _HIGH[kind])
    if kind is Kind.STRING:
        return texts
    if kind is Kind.BINARY:
        return blobs
    return st.tuples(texts, texts)


def properties(level: int, context: int) -> st.SearchStrategy[Properties]:
    if level != p.MQTT_5:
        return st.just(NO_PROPERTIES)
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for spec in SPECS.values():
        if context not in spec.contexts:
            continue
        value = _value(spec.kind, spec.low, spec.high)
        if spec.name == "user_properties":
            optional[spec.name] = st.lists(value, max_size=3).map(tuple)
        elif spec.name == "subscription_identifiers":
            optional[spec.name] = st.lists(value, max_size=3 if context == p.PacketType.PUBLISH else 1).map(tuple)
        else:
            optional[spec.name] = value
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: Properties(**values))


def wills(level: int) -> st.SearchStrategy[p.Will]:
    return st.builds(p.Will, texts, blobs, st.integers(0, 2), st.booleans(), properties(level, WILL))


@st.composite
def connects(draw: st.DrawFn, level: int) -> p.Connect:
    username = draw(st.none() | texts)
    password = draw(st.none() | blobs) if username is not None or level == p.MQTT_5 else None
    return p.Connect(
        draw(texts), level, draw(st.booleans()), draw(st.integers(0, MAX_UINT16)), draw(st.none() | wills(level)),
        username, password, draw(properties(level, p.PacketType.CONNECT)),
    )


@st.composite
def publishes(draw: st.DrawFn, level: int) -> p.Publish:
    qos = draw(st.integers(0, 2))
    return p.Publish(
        draw(texts), draw(blobs), qos, draw(st.booleans()), qos > 0 and draw(st.booleans()),
        draw(packet_ids) if qos else None, draw(properties(level, p.PacketType.PUBLISH)),
    )


def _codes(level: int) -> st.SearchStrategy[int]:
    return st.integers(0, 0xFF) if level == p.MQTT_5 else st.just(0)


def _acks(level: int, cls: type[p.Puback | p.Pubrec | p.Pubrel | p.Pubcomp]) -> st.SearchStrategy[p.Packet]:
    return st.builds(cls, packet_ids, _codes(level), properties(level, cls.packet_type))


def subscriptions(level: int) -> st.SearchStrategy[p.Subscription]:
    if level != p.MQTT_5:
        return st.builds(p.Subscription, texts, st.integers(0, 2))
    return st.builds(p.Subscription, texts, st.integers(0, 2), st.booleans(), st.booleans(), st.integers(0, 2))


def _tuples(element: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(element, min_size=1, max_size=4).map(tuple)


def by_type(level: int) -> dict[p.PacketType, st.SearchStrategy[p.Packet]]:
    """One strategy per packet type the level has."""
    suback_codes = st.integers(0, 0xFF) if level == p.MQTT_5 else st.sampled_from([0, 1, 2, 0x80])
    unsuback_codes = _tuples(st.integers(0, 0xFF)) if level == p.MQTT_5 else st.just(())
    choices: list[st.SearchStrategy[p.Packet]] = [
        connects(level),
        st.builds(p.Connack, st.integers(0, 0xFF) if level == p.MQTT_5 else st.integers(0, 5), st.booleans(),
                  properties(level, p.PacketType.CONNACK)),
        publishes(level),
        *(_acks(level, cls) for cls in (p.Puback, p.Pubrec, p.Pubrel, p.Pubcomp)),
        st.builds(p.Subscribe, packet_ids, _tuples(subscriptions(level)), properties(level, p.PacketType.SUBSCRIBE)),
        st.builds(p.Suback, packet_ids, _tuples(suback_codes), properties(level, p.PacketType.SUBACK)),
        st.builds(p.Unsubscribe, packet_ids, _tuples(texts), properties(level, p.PacketType.UNSUBSCRIBE)),
        st.builds(p.Unsuback, packet_ids, unsuback_codes, properties(level, p.PacketType.UNSUBACK)),
        st.just(p.Pingreq()),
        st.just(p.Pingresp()),
        st.builds(p.Disconnect, _codes(level), properties(level, p.PacketType.DISCONNECT)),
    ]
    if level == p.MQTT_5:
        choices.append(st.builds(p.Auth, _codes(level), properties(level, p.PacketType.AUTH)))
    return dict(zip(p.PacketType if level == p.MQTT_5 else list(p.PacketType)[:-1], choices, strict=True))


def packets(level: int) -> st.SearchStrategy[p.Packet]:
    return st.one_of(list(by_type(level).values()))


@st.composite
def chunked(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut at random places (empty chunks included)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    edges = [0, *cuts, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(edges)]
