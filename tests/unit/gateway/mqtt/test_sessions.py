"""Sessions on their own: the bounded queue, packet ids, forwarded properties."""

from __future__ import annotations

from otahub.gateway.mqtt.properties import Properties
from otahub.gateway.mqtt.sessions import Message, Session, forwarded_properties


def test_the_queue_is_bounded_and_counts_drops() -> None:
    session = Session("c", queue_limit=2, expiry=0)
    assert [session.enqueue(Message(f"t/{i}", b"", 1)) for i in range(3)] == [True, True, False]
    assert [m.topic for m in session.pending] == ["t/0", "t/1"]
    assert session.dropped == 1


def test_packet_ids_skip_those_in_flight_and_wrap() -> None:
    session = Session("c", queue_limit=10, expiry=0)
    session.inflight[1] = Message("t", b"", 1)
    assert session.next_packet_id() == 2
    session._last_packet_id = 0xFFFF
    assert session.next_packet_id() == 2  # wraps to 1, which is in flight
    assert session.next_packet_id() == 3


def test_forwarded_properties_leave_out_the_alias_and_expiry() -> None:
    properties = Properties(topic_alias=3, message_expiry_interval=9, content_type="application/json",
                            user_properties=(("k", "v"),), subscription_identifiers=(4,))
    expected = Properties(content_type="application/json", user_properties=(("k", "v"),))
    assert forwarded_properties(properties) == expected
