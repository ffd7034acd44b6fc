"""--mqtt-broker-url: what external broker mode connects to."""

from __future__ import annotations

import pytest

from otahub.gateway.external import REQUEST_FILTERS, BrokerAddress
from otahub.gateway.mqtt.topics import topic_matches


def test_broker_urls() -> None:
    assert BrokerAddress.parse("mqtt://broker.local") == BrokerAddress("broker.local", 1883)
    assert BrokerAddress.parse("mqtt://otahub:s%40cret@10.0.0.5:11883") == BrokerAddress(
        "10.0.0.5", 11883, "otahub", "s@cret")
    for bad in ("http://broker", "mqtt://", "broker:1883"):
        with pytest.raises(ValueError, match="mqtt://"):
            BrokerAddress.parse(bad)


@pytest.mark.parametrize("reply", [
    "$aws/things/t/jobs/get/accepted", "$aws/things/t/jobs/start-next/accepted", "$aws/things/t/jobs/j/get/rejected",
    "$aws/things/t/jobs/j/update/accepted", "$aws/things/t/jobs/notify", "$aws/things/t/jobs/notify-next",
    "$aws/things/t/streams/s/data/cbor", "$aws/things/t/streams/s/description/json",
    "$aws/things/t/streams/s/rejected/cbor",
])
def test_what_otahub_publishes_never_comes_back_to_it(reply: str) -> None:
    """otahub subscribes to requests only, so its own replies and pushes cannot loop through the broker."""
    assert not any(topic_matches(f, reply) for f in REQUEST_FILTERS)


@pytest.mark.parametrize("request_topic", [
    "$aws/things/t/jobs/get", "$aws/things/t/jobs/start-next", "$aws/things/t/jobs/$next/get",
    "$aws/things/t/jobs/j/update", "$aws/things/t/streams/s/get/cbor", "$aws/things/t/streams/s/describe/json",
])
def test_every_request_topic_is_heard(request_topic: str) -> None:
    assert any(topic_matches(f, request_topic) for f in REQUEST_FILTERS)
